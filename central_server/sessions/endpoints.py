"""HTTP for session checkout and ticket in (signed, kiosk only)."""

from __future__ import annotations

from fastapi import APIRouter

from central_server.db import Tx
from central_server.devices.dependencies import Device
from central_server.devices.schemas import ErrorBody
from central_server.sessions import service
from central_server.sessions.schemas import (
    CheckoutRequestBody,
    CheckoutResponseBody,
    TicketInRequestBody,
    TicketInResponseBody,
)
from shared.protocol import CHECKOUT_PATH, TICKET_IN_PATH

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


@router.post(
    TICKET_IN_PATH,
    response_model=TicketInResponseBody,
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody, "description": "not a kiosk"},
               404: {"model": ErrorBody, "description": "unknown voucher, or one of another location"},
               409: {"model": ErrorBody, "description": "voucher already paid, not covered, session id taken, or request id "
                                                        "reused for another session"}},
)
def ticket_in(
    request: TicketInRequestBody,
    device: Device,
    conn: Tx,
) -> TicketInResponseBody:
    """Pay a cash-out voucher, whole, into the escrow of a new kiosk session ("ticket in"), once."""
    return service.ticket_in(conn, device, request)
