"""All SQL of journal ingest: stored entries, and the rows entries create or match."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from central_server.db import insert_ignoring_conflict, insert_many
from central_server.tables import checkouts, journal_entries, voids, vouchers


def stored_hashes(conn: Connection, device_id: str, first_seq: int, last_seq: int) -> dict[int, str]:
    """The hashes central holds for a device's seqs ``first_seq..last_seq``, in one query."""
    rows = conn.execute(
        sa.select(journal_entries.c.seq, journal_entries.c.hash)
        .where(journal_entries.c.device_id == device_id, journal_entries.c.seq.between(first_seq, last_seq))
    )
    return {int(row.seq): str(row.hash) for row in rows}


def insert_entries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Many entries in one statement (a COPY on PostgreSQL, an executemany on SQLite)."""
    insert_many(conn, journal_entries, rows)


def insert_entry(conn: Connection, **values: Any) -> None:
    conn.execute(journal_entries.insert().values(**values))


def entry_by_id(conn: Connection, entry_id: str) -> Any | None:
    return conn.execute(sa.select(journal_entries).where(journal_entries.c.id == entry_id)).first()


def checkout_for_session(conn: Connection, session_id: str) -> Any | None:
    return conn.execute(sa.select(checkouts).where(checkouts.c.session_id == session_id)).first()


def match_checkout(conn: Connection, session_id: str, entry_id: str) -> bool:
    """Link a kiosk's checkout entry to central's checkout, once (guarded UPDATE)."""
    result = conn.execute(
        sa.update(checkouts).where(checkouts.c.session_id == session_id, checkouts.c.entry_id.is_(None)).values(entry_id=entry_id)
    )
    return result.rowcount == 1


def insert_voucher(conn: Connection, **values: Any) -> bool:
    return insert_ignoring_conflict(conn, vouchers, values, "id")


def voucher(conn: Connection, voucher_id: str) -> Any | None:
    return conn.execute(sa.select(vouchers).where(vouchers.c.id == voucher_id)).first()


def record_voucher_redemption_entry(conn: Connection, voucher_id: str, entry_id: str, at: str) -> bool:
    """The first redemption entry for a voucher marks it redeemed; a second one matches nothing."""
    result = conn.execute(
        sa.update(vouchers).where(vouchers.c.id == voucher_id, vouchers.c.redeem_entry_id.is_(None))
        .values(redeem_entry_id=entry_id, status="redeemed", redeemed_at=sa.func.coalesce(vouchers.c.redeemed_at, at))
    )
    return result.rowcount == 1


def record_void(conn: Connection, reversed_entry_id: str, void_entry_id: str) -> bool:
    values = {"reversed_entry_id": reversed_entry_id, "void_entry_id": void_entry_id}
    return insert_ignoring_conflict(conn, voids, values, "reversed_entry_id")
