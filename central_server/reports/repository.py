"""All SQL of the reports area: nodes and time zones, a location's journal entries, stored reports."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from central_server.db import insert_ignoring_conflict
from central_server.tables import daily_reports, devices, journal_entries, nodes, report_settings, staff

ENTRY_BATCH = 2_000
"""Rows fetched per round trip while streaming a location's entries."""
MAX_IDS_PER_QUERY = 500


def all_nodes(conn: Connection) -> list[Any]:
    """Every node (id, kind, name, parent_id, currency): the hierarchy is small."""
    query = sa.select(nodes.c.id, nodes.c.kind, nodes.c.name, nodes.c.parent_id, nodes.c.currency).order_by(nodes.c.id)
    return list(conn.execute(query).all())


def timezones(conn: Connection) -> dict[str, str]:
    return {row.node_id: row.timezone for row in conn.execute(sa.select(report_settings.c.node_id, report_settings.c.timezone))}


def set_timezone(conn: Connection, node_id: str, timezone: str, now: str) -> None:
    if not insert_ignoring_conflict(conn, report_settings, {"node_id": node_id, "timezone": timezone, "updated_at": now}):
        conn.execute(report_settings.update().where(report_settings.c.node_id == node_id)
                     .values(timezone=timezone, updated_at=now))


def _decode(row: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(row.data)
    return data


def location_entries(conn: Connection, location_id: str, *, received_since: str, created_from: str,
                     created_before: str) -> Iterator[dict[str, Any]]:
    """Entries of the location's devices received since ``received_since`` and made in [from, before).

    ``received_since`` bounds the scan with the index (an entry reaches central after it
    was made); ``created_*`` are compared as text, which the fixed-width UTC format allows.
    """
    query = (
        sa.select(journal_entries.c.data)
        .select_from(journal_entries.join(devices, devices.c.id == journal_entries.c.device_id))
        .where(devices.c.location_id == location_id, journal_entries.c.received_at >= received_since)
        .execution_options(yield_per=ENTRY_BATCH)
    )
    for row in conn.execute(query):
        entry = _decode(row)
        if created_from <= entry["created_at"] < created_before:
            yield entry


def entries_by_id(conn: Connection, ids: Iterable[str]) -> list[dict[str, Any]]:
    """The entries with these ids (the targets of voids recorded on another day)."""
    wanted = sorted(set(ids))
    found: list[dict[str, Any]] = []
    for start in range(0, len(wanted), MAX_IDS_PER_QUERY):
        chunk = wanted[start:start + MAX_IDS_PER_QUERY]
        found.extend(_decode(row) for row in conn.execute(sa.select(journal_entries.c.data)
                                                           .where(journal_entries.c.id.in_(chunk))))
    return found


def stored_report(conn: Connection, node_id: str, day: str) -> Any | None:
    return conn.execute(sa.select(daily_reports).where(daily_reports.c.node_id == node_id, daily_reports.c.day == day)).first()


def stored_reports(conn: Connection, node_ids: Iterable[str], first_day: str, last_day: str) -> list[Any]:
    query = (sa.select(daily_reports)
             .where(daily_reports.c.node_id.in_(sorted(set(node_ids))), daily_reports.c.day >= first_day,
                    daily_reports.c.day <= last_day)
             .order_by(daily_reports.c.day, daily_reports.c.node_id))
    return list(conn.execute(query).all())


def store_report(conn: Connection, *, node_id: str, day: str, kind: str, currency: str, timezone: str, data: str,
                 report_hash: str, now: str) -> str:
    """Insert the day's report, or replace it only if it changed; 'inserted', 'updated' or 'unchanged'.

    The unique (node_id, day) decides between two instances generating at once; the
    update is guarded on the hash, so an unchanged report is never rewritten.
    """
    values = {"node_id": node_id, "day": day, "kind": kind, "currency": currency, "timezone": timezone, "data": data,
              "report_hash": report_hash, "revision": 1, "generated_at": now, "updated_at": now}
    if insert_ignoring_conflict(conn, daily_reports, values, "node_id", "day"):
        return "inserted"
    updated = conn.execute(
        daily_reports.update()
        .where(daily_reports.c.node_id == node_id, daily_reports.c.day == day, daily_reports.c.report_hash != report_hash)
        .values(kind=kind, currency=currency, timezone=timezone, data=data, report_hash=report_hash,
                revision=daily_reports.c.revision + 1, updated_at=now)
        .returning(daily_reports.c.id)
    ).first()
    return "updated" if updated is not None else "unchanged"


def device_labels(conn: Connection, location_ids: Iterable[str]) -> dict[str, str]:
    """Device id → "POS · hostname" (what a person recognises on a report)."""
    query = sa.select(devices.c.id, devices.c.role, devices.c.hostname).where(devices.c.location_id.in_(sorted(set(location_ids))))
    # Without a hostname, the id's tail: ids are UUIDv7, whose leading digits are a shared timestamp.
    return {row.id: f"{row.role.upper()} · {row.hostname or row.id[-12:]}" for row in conn.execute(query)}


def staff_names(conn: Connection, location_ids: Iterable[str]) -> dict[str, str]:
    """Staff id → name, for the per-cashier rows (a POS records the cashier's staff id as the actor)."""
    query = sa.select(staff.c.id, staff.c.name).where(staff.c.location_id.in_(sorted(set(location_ids))))
    return {row.id: row.name for row in conn.execute(query)}
