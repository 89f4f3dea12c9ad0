"""All SQL about devices: enrollment codes, the device registry, request nonces."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from central_server.db import insert_ignoring_conflict, is_postgres
from central_server.tables import device_heartbeats, devices, enroll_codes, nodes, request_nonces, significant_events


def location_exists(conn: Connection, location_id: str) -> bool:
    row = conn.execute(sa.select(nodes.c.kind).where(nodes.c.id == location_id)).first()
    return row is not None and row.kind == "location"


def insert_enroll_code(conn: Connection, *, code_sha256: str, location_id: str, role: str, expires_at_s: int, created_at: str) -> None:
    conn.execute(enroll_codes.insert().values(
        code_sha256=code_sha256, location_id=location_id, role=role, expires_at_s=expires_at_s, created_at=created_at,
    ))


def claim_enroll_code(conn: Connection, *, code_sha256: str, now_s: int, device_id: str, used_at: str) -> Any | None:
    """Mark an unused, unexpired code used (a guarded UPDATE: only one claimant can win)."""
    stmt = (
        sa.update(enroll_codes)
        .where(enroll_codes.c.code_sha256 == code_sha256, enroll_codes.c.used_at.is_(None), enroll_codes.c.expires_at_s > now_s)
        .values(used_at=used_at, device_id=device_id)
        .returning(enroll_codes.c.location_id, enroll_codes.c.role)
    )
    return conn.execute(stmt).first()


def enroll_code(conn: Connection, code_sha256: str) -> Any | None:
    return conn.execute(sa.select(enroll_codes).where(enroll_codes.c.code_sha256 == code_sha256)).first()


def insert_device(conn: Connection, **values: Any) -> None:
    conn.execute(devices.insert().values(**values))


def get_device(conn: Connection, device_id: str, *, for_update: bool = False) -> Any | None:
    stmt = sa.select(devices).where(devices.c.id == device_id)
    if for_update and is_postgres(conn):
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def remember_nonce(conn: Connection, device_id: str, nonce: str, now_s: int) -> bool:
    """True the first time a device uses ``nonce``; the primary key makes every instance agree."""
    return insert_ignoring_conflict(
        conn, request_nonces, {"device_id": device_id, "nonce": nonce, "seen_at_s": now_s}, "device_id", "nonce",
    )


def forget_nonces_before(conn: Connection, device_id: str, before_s: int) -> None:
    conn.execute(sa.delete(request_nonces).where(request_nonces.c.device_id == device_id, request_nonces.c.seen_at_s < before_s))


def prune_nonces(conn: Connection, before_s: int, limit: int) -> int:
    """Delete at most ``limit`` nonces of any device seen before ``before_s``; how many went.

    Bounded so one call never holds a long lock; devices that fell silent leave nonces
    that their own per-device sweep will never reach, and this collects them.
    """
    oldest = sa.select(request_nonces.c.device_id, request_nonces.c.nonce).where(request_nonces.c.seen_at_s < before_s).limit(limit)
    result = conn.execute(sa.delete(request_nonces).where(sa.tuple_(request_nonces.c.device_id, request_nonces.c.nonce).in_(oldest)))
    return max(result.rowcount, 0)


def set_status(conn: Connection, device_id: str, status: str, *, only_from: tuple[str, ...]) -> bool:
    result = conn.execute(
        sa.update(devices).where(devices.c.id == device_id, devices.c.status.in_(only_from)).values(status=status)
    )
    return result.rowcount == 1


def touch(conn: Connection, device_id: str, seen_at: str) -> None:
    conn.execute(sa.update(devices).where(devices.c.id == device_id).values(last_seen_at=seen_at))


def advance_head(conn: Connection, device_id: str, *, from_seq: int, to_seq: int, to_hash: str) -> bool:
    """Move the device's head only from where this transaction saw it (guards a lost race)."""
    result = conn.execute(
        sa.update(devices).where(devices.c.id == device_id, devices.c.last_seq == from_seq)
        .values(last_seq=to_seq, last_hash=to_hash)
    )
    return result.rowcount == 1


def insert_event(conn: Connection, *, kind: str, device_id: str | None, detail: str, created_at: str) -> None:
    conn.execute(significant_events.insert().values(kind=kind, device_id=device_id, detail=detail, created_at=created_at))


_UPSERT_HEARTBEAT = sa.text(
    "INSERT INTO device_heartbeats (device_id, received_at, ip, app_version, outbox_depth, oldest_unacked_age_s, last_sync_result) "
    "VALUES (:device_id, :received_at, :ip, :app_version, :outbox_depth, :oldest_unacked_age_s, :last_sync_result) "
    "ON CONFLICT (device_id) DO UPDATE SET received_at = excluded.received_at, ip = excluded.ip, "
    "app_version = excluded.app_version, outbox_depth = excluded.outbox_depth, "
    "oldest_unacked_age_s = excluded.oldest_unacked_age_s, last_sync_result = excluded.last_sync_result"
)


def last_heartbeat(conn: Connection, device_id: str) -> Any | None:
    return conn.execute(sa.select(device_heartbeats).where(device_heartbeats.c.device_id == device_id)).first()


def save_heartbeat(conn: Connection, **values: Any) -> None:
    conn.execute(_UPSERT_HEARTBEAT, values)
