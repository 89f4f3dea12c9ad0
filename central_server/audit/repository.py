"""All SQL that ``cafe central verify`` reads (streamed, never all at once)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from central_server.tables import devices, journal_entries, ledger_transactions, postings

READ_BATCH = 1000


def devices_all(conn: Connection) -> list[Any]:
    return list(conn.execute(sa.select(devices).order_by(devices.c.id)).all())


def count_entries(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(journal_entries)).scalar_one())


def entry_batches(conn: Connection, device_id: str) -> Iterator[Sequence[Any]]:
    """A device's stored entries in seq order, in batches of at most READ_BATCH."""
    after = 0
    while True:
        rows = conn.execute(
            sa.select(journal_entries).where(journal_entries.c.device_id == device_id, journal_entries.c.seq > after)
            .order_by(journal_entries.c.seq).limit(READ_BATCH)
        ).all()
        if rows:
            yield rows
        if len(rows) < READ_BATCH:
            return
        after = rows[-1].seq


def ledger_lines_of_entries(conn: Connection, device_id: str, first_seq: int, last_seq: int) -> dict[str, list[tuple[str, str, int]]]:
    """For the device's entries ``first_seq..last_seq`` that have a ledger transaction: entry id → its postings.

    One query for a whole batch (it was two per entry: a million entries took two million round trips).
    A transaction without postings maps to an empty list; an entry without a transaction is absent.
    """
    rows = conn.execute(
        sa.select(ledger_transactions.c.entry_id, postings.c.account, postings.c.unit, postings.c.amount_units)
        .select_from(journal_entries.join(ledger_transactions, ledger_transactions.c.entry_id == journal_entries.c.id)
                     .outerjoin(postings, postings.c.tx_id == ledger_transactions.c.id))
        .where(journal_entries.c.device_id == device_id, journal_entries.c.seq.between(first_seq, last_seq))
    ).all()
    lines: dict[str, list[tuple[str, str, int]]] = {}
    for row in rows:
        found = lines.setdefault(row.entry_id, [])
        if row.account is not None:
            found.append((row.account, row.unit, int(row.amount_units)))
    return lines
