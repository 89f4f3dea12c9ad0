"""All SQL that ``cafe central verify`` reads (streamed, never all at once)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from central_server.tables import devices, journal_entries, ledger_transactions

READ_BATCH = 1000


def devices_all(conn: Connection) -> list[Any]:
    return list(conn.execute(sa.select(devices).order_by(devices.c.id)).all())


def entries_of(conn: Connection, device_id: str) -> Iterator[Any]:
    """A device's stored entries in seq order, read in bounded batches."""
    after = 0
    while True:
        rows = conn.execute(
            sa.select(journal_entries).where(journal_entries.c.device_id == device_id, journal_entries.c.seq > after)
            .order_by(journal_entries.c.seq).limit(READ_BATCH)
        ).all()
        yield from rows
        if len(rows) < READ_BATCH:
            return
        after = rows[-1].seq


def transaction_for_entry(conn: Connection, entry_id: str) -> Any | None:
    return conn.execute(sa.select(ledger_transactions).where(ledger_transactions.c.entry_id == entry_id)).first()
