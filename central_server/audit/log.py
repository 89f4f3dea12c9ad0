"""The audit log: every admin action (who, what, when, from where, before → after), append-only
and hash-chained.

Each row's ``hash`` is the SHA-256 of the canonical JSON of its fields and the previous
row's hash, so changing, removing or reordering any row breaks every hash after it;
``verify_chain`` recomputes them. Rows are written in the caller's transaction (an
action and its audit row commit together or not at all). Writers are serialised so the
chain never forks: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by
the ``BEGIN IMMEDIATE`` every transaction already takes. UPDATE and DELETE are refused by
database triggers (migration 0005).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from central_server.db import is_postgres
from central_server.tables import audit_log
from shared.canonical import canonical_json, sha256_hex
from shared.entry import GENESIS_HASH, utc_timestamp

AUDIT_LOCK_KEY = 0x0CAFE_A0D1  # one advisory lock id for the audit chain
READ_BATCH = 1000
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it and from where (a CLI command is an actor without a user id)."""

    name: str
    ip: str
    user_id: int | None = None


def _jsonable(value: Any) -> Any:
    """Values for the canonical JSON of before/after: ints, text, bools, lists and maps only."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def row_hash(fields: dict[str, Any]) -> str:
    """The hash of one row: every field but ``hash`` itself, canonical JSON, SHA-256."""
    return sha256_hex(canonical_json({k: v for k, v in fields.items() if k != "hash"}))


def record(conn: Connection, actor: Actor, *, action: str, target: str, node_id: str | None,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> int:
    """Append one row to the chain in the caller's transaction; its seq."""
    if is_postgres(conn):
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
    last = conn.execute(sa.select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)).first()
    seq, prev_hash = (int(last.seq) + 1, last.hash) if last is not None else (1, GENESIS_HASH)
    fields: dict[str, Any] = {
        "seq": seq, "at": utc_timestamp(), "actor_user_id": actor.user_id, "actor": actor.name[:128], "ip": actor.ip[:64],
        "action": action[:64], "target": target[:MAX_TEXT], "node_id": node_id,
        "before": canonical_json(_jsonable(before or {})).decode(), "after": canonical_json(_jsonable(after or {})).decode(),
        "prev_hash": prev_hash,
    }
    fields["hash"] = row_hash(fields)
    conn.execute(audit_log.insert().values(**fields))
    return seq


def rows(conn: Connection) -> Iterator[Any]:
    """Every row in seq order, read in bounded batches."""
    after = 0
    while True:
        batch = conn.execute(sa.select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(READ_BATCH)).all()
        yield from batch
        if len(batch) < READ_BATCH:
            return
        after = int(batch[-1].seq)


def verify_chain(conn: Connection) -> tuple[int, list[str]]:
    """How many rows were checked, and what is wrong with the chain (empty when it holds)."""
    problems: list[str] = []
    expected_seq, expected_prev, count = 1, GENESIS_HASH, 0
    for row in rows(conn):
        count += 1
        fields = dict(row._mapping)
        if int(row.seq) != expected_seq:
            problems.append(f"audit log seq {row.seq}: expected seq {expected_seq} (a row is missing)")
        if row.prev_hash != expected_prev:
            problems.append(f"audit log seq {row.seq}: prev_hash does not link to the row before")
        if row_hash(fields) != row.hash:
            problems.append(f"audit log seq {row.seq}: hash does not match the stored row")
        expected_seq, expected_prev = int(row.seq) + 1, row.hash
    return count, problems


def page(conn: Connection, node_ids: set[str] | None, *, limit: int, before_seq: int | None = None) -> list[Any]:
    """Newest rows first; ``node_ids`` None means every row (head office)."""
    stmt = sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if node_ids is not None:
        stmt = stmt.where(audit_log.c.node_id.in_(sorted(node_ids)))
    if before_seq is not None:
        stmt = stmt.where(audit_log.c.seq < before_seq)
    return list(conn.execute(stmt).all())


CSV_COLUMNS = ("seq", "at", "actor", "actor_user_id", "ip", "action", "target", "node_id", "before", "after", "prev_hash", "hash")


def to_csv(selected: Iterable[Any]) -> str:
    """The rows as CSV with the hashes, so an auditor can recompute the chain outside central."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in selected:
        writer.writerow([_csv_safe(getattr(row, c)) for c in CSV_COLUMNS])
    return out.getvalue()


def _csv_safe(value: Any) -> Any:
    # A cell starting with = + - @ is a formula in spreadsheet programs; quote it as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value
