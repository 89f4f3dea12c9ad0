"""All SQL about online voucher redemption."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from central_server.tables import vouchers


def by_id(conn: Connection, voucher_id: str) -> Any | None:
    return conn.execute(sa.select(vouchers).where(vouchers.c.id == voucher_id)).first()


def claim(conn: Connection, voucher_id: str, *, request_id: str, device_id: str, at: str) -> bool:
    """issued → redeemed, once: the guarded UPDATE lets exactly one claimant through."""
    result = conn.execute(
        sa.update(vouchers).where(vouchers.c.id == voucher_id, vouchers.c.status == "issued")
        .values(status="redeemed", redeem_request_id=request_id, redeemed_by_device=device_id, redeemed_at=at)
    )
    return result.rowcount == 1
