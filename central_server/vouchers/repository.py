"""All SQL about online voucher redemption."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from central_server.tables import journal_entries, vouchers
from shared.canonical import parse_json


def by_id(conn: Connection, voucher_id: str) -> Any | None:
    return conn.execute(sa.select(vouchers).where(vouchers.c.id == voucher_id)).first()


def issued_at(conn: Connection, voucher: Any) -> str | None:
    """When the kiosk printed the voucher: the ``created_at`` of its issue entry (what the ticket says), not when central
    learned of it, which may be days later for a kiosk that printed offline."""
    data = conn.execute(sa.select(journal_entries.c.data).where(journal_entries.c.id == voucher.issue_entry_id)).scalar_one_or_none()
    return None if data is None else str(parse_json(data)["created_at"])


def claim(conn: Connection, voucher_id: str, *, request_id: str, device_id: str, at: str) -> bool:
    """issued → redeemed, once: the guarded UPDATE lets exactly one claimant through."""
    result = conn.execute(
        sa.update(vouchers).where(vouchers.c.id == voucher_id, vouchers.c.status == "issued")
        .values(status="redeemed", redeem_request_id=request_id, redeemed_by_device=device_id, redeemed_at=at)
    )
    return result.rowcount == 1
