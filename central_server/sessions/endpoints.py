"""HTTP for session checkout (signed, kiosk only)."""

from __future__ import annotations

from fastapi import APIRouter

from central_server.db import Tx
from central_server.devices.dependencies import Device
from central_server.devices.schemas import ErrorBody
from central_server.sessions import service
from central_server.sessions.schemas import CheckoutRequestBody, CheckoutResponseBody
from shared.protocol import CHECKOUT_PATH

router = APIRouter(tags=["sessions"])


@router.post(
    CHECKOUT_PATH,
    response_model=CheckoutResponseBody,
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody, "description": "unknown player"},
               409: {"model": ErrorBody, "description": "insufficient credits, or request id reused for another checkout"}},
)
def checkout(
    request: CheckoutRequestBody,
    device: Device,
    conn: Tx,
) -> CheckoutResponseBody:
    """Move a player's credits (all, or ``amount_units``) into the escrow of a kiosk session."""
    return service.checkout(conn, device, request)
