"""Online voucher redemption: the POS asks central before paying a ticket.

This is a guarded state change (issued → redeemed) that succeeds once; it moves no
credits. The POS then records a ``voucher_redemption`` entry in its journal, and that
entry carries the postings when it is ingested (decision 0003).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from central_server.device_config.service import effective_limits
from central_server.devices.service import AuthedDevice
from central_server.errors import Conflict, Forbidden, NotFound
from central_server.vouchers import repository as repo
from central_server.vouchers.schemas import RedeemRequestBody, RedeemResponseBody
from shared.entry import utc_timestamp


def refuse_if_expired(conn: Connection, voucher: Any) -> None:
    """An unpaid ticket past the location's ``voucher_expiry_days`` is not paid, at the counter or into a kiosk session:
    409 ``voucher_expired``. Counted from when it was printed, as the POS and the kiosk count offline."""
    if voucher.status != "issued":
        return  # a paid one is answered as paid (or as this request's own earlier answer)
    issued = repo.issued_at(conn, voucher)
    limits = effective_limits(conn, voucher.location_id)
    if issued is not None and limits.voucher_expired(issued, datetime.now(UTC)):
        raise Conflict(f"voucher {voucher.id} expired on {limits.voucher_expires_at(issued):%Y-%m-%d} "
                       f"({limits.voucher_expiry_days} days after it was printed)", code="voucher_expired")


def redeem(conn: Connection, device: AuthedDevice, request: RedeemRequestBody) -> RedeemResponseBody:
    if device.role != "pos":
        raise Forbidden("only a counter pays a ticket out (a kiosk takes one in: POST /api/v1/sessions/ticket-in)", code="wrong_role")
    voucher = repo.by_id(conn, request.voucher_id)
    if voucher is None or voucher.location_id != device.location_id:
        raise NotFound("no such voucher at this location", code="unknown_voucher")
    refuse_if_expired(conn, voucher)
    if not repo.claim(conn, request.voucher_id, request_id=request.request_id, device_id=device.id, at=utc_timestamp()):
        voucher = repo.by_id(conn, request.voucher_id)
        assert voucher is not None
        if voucher.redeem_request_id != request.request_id or voucher.redeemed_by_device != device.id:
            raise Conflict(f"voucher {request.voucher_id} was already redeemed at {voucher.redeemed_at}", code="voucher_redeemed")
    voucher = repo.by_id(conn, request.voucher_id)
    assert voucher is not None and voucher.status == "redeemed"
    return RedeemResponseBody(
        request_id=request.request_id, voucher_id=voucher.id, amount_units=int(voucher.amount_units),
        location_id=voucher.location_id, status=voucher.status, redeemed_at=voucher.redeemed_at,
    )
