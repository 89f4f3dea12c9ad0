"""HTTP for online voucher redemption (signed)."""

from __future__ import annotations

from fastapi import APIRouter

from central_server.db import Tx
from central_server.devices.dependencies import Device
from central_server.devices.schemas import ErrorBody
from central_server.vouchers import service
from central_server.vouchers.schemas import RedeemRequestBody, RedeemResponseBody
from shared.protocol import VOUCHER_REDEEM_PATH

router = APIRouter(tags=["vouchers"])


@router.post(
    VOUCHER_REDEEM_PATH,
    response_model=RedeemResponseBody,
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody, "description": "not a POS (wrong_role), or the device is stopped"},
               404: {"model": ErrorBody}, 409: {"model": ErrorBody, "description": "already redeemed, or expired (voucher_expired)"}},
)
def redeem_voucher(
    request: RedeemRequestBody,
    device: Device,
    conn: Tx,
) -> RedeemResponseBody:
    """Mark an issued voucher redeemed, once: a POS about to pay it out at the counter."""
    return service.redeem(conn, device, request)
