"""All SQL of the web console: users, browser sessions, login attempts, credit terms, reviews."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from central_server.db import is_postgres
from central_server.tables import (
    admin_users,
    credit_terms,
    device_heartbeats,
    devices,
    event_reviews,
    ledger_exceptions,
    ledger_transactions,
    login_attempts,
    nodes,
    payments,
    players,
    postings,
    report_settings,
    significant_events,
    staff,
    web_sessions,
)

# -- hierarchy --------------------------------------------------------------------------------


def tree_rows(conn: Connection) -> list[Any]:
    """Every node's id, parent, name and kind (the hierarchy is small: hundreds of rows)."""
    return list(conn.execute(sa.select(nodes.c.id, nodes.c.parent_id, nodes.c.name, nodes.c.kind)).all())


def node(conn: Connection, node_id: str) -> Any | None:
    return conn.execute(sa.select(nodes).where(nodes.c.id == node_id)).first()


def nodes_in(conn: Connection, ids: set[str]) -> list[Any]:
    if not ids:
        return []
    return list(conn.execute(sa.select(nodes).where(nodes.c.id.in_(sorted(ids))).order_by(nodes.c.kind, nodes.c.name)).all())


def rename_node(conn: Connection, node_id: str, name: str) -> None:
    conn.execute(sa.update(nodes).where(nodes.c.id == node_id).values(name=name))


# -- users ------------------------------------------------------------------------------------


def user_by_name(conn: Connection, username: str) -> Any | None:
    return conn.execute(sa.select(admin_users).where(admin_users.c.username == username)).first()


def user(conn: Connection, user_id: int, *, for_update: bool = False) -> Any | None:
    stmt = sa.select(admin_users).where(admin_users.c.id == user_id)
    if for_update and is_postgres(conn):
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def users_at(conn: Connection, node_ids: set[str]) -> list[Any]:
    if not node_ids:
        return []
    return list(conn.execute(sa.select(admin_users).where(admin_users.c.node_id.in_(sorted(node_ids)))
                             .order_by(admin_users.c.node_id, admin_users.c.username)).all())


def insert_user(conn: Connection, **values: Any) -> int:
    return int(conn.execute(admin_users.insert().values(**values).returning(admin_users.c.id)).scalar_one())


def update_user(conn: Connection, user_id: int, **values: Any) -> None:
    conn.execute(sa.update(admin_users).where(admin_users.c.id == user_id).values(**values))


def count_failure(conn: Connection, user_id: int) -> int:
    """Add one failed login atomically; the new count."""
    return int(conn.execute(
        sa.update(admin_users).where(admin_users.c.id == user_id)
        .values(failed_logins=admin_users.c.failed_logins + 1).returning(admin_users.c.failed_logins)
    ).scalar_one())


# -- sessions ---------------------------------------------------------------------------------


def insert_session(conn: Connection, **values: Any) -> None:
    conn.execute(web_sessions.insert().values(**values))


def session_with_user(conn: Connection, id_sha256: str) -> Any | None:
    return conn.execute(
        sa.select(web_sessions, admin_users.c.username, admin_users.c.display_name, admin_users.c.role, admin_users.c.node_id,
                  admin_users.c.active, admin_users.c.totp_enabled)
        .join(admin_users, admin_users.c.id == web_sessions.c.user_id)
        .where(web_sessions.c.id_sha256 == id_sha256)
    ).first()


def touch_session(conn: Connection, id_sha256: str, now_s: int) -> None:
    conn.execute(sa.update(web_sessions).where(web_sessions.c.id_sha256 == id_sha256).values(last_seen_s=now_s))


def revoke_session(conn: Connection, id_sha256: str, at: str) -> None:
    conn.execute(sa.update(web_sessions).where(web_sessions.c.id_sha256 == id_sha256, web_sessions.c.revoked_at.is_(None))
                 .values(revoked_at=at))


def revoke_sessions_of(conn: Connection, user_id: int, at: str) -> int:
    result = conn.execute(sa.update(web_sessions).where(web_sessions.c.user_id == user_id, web_sessions.c.revoked_at.is_(None))
                          .values(revoked_at=at))
    return int(result.rowcount or 0)


def set_flash(conn: Connection, id_sha256: str, flash: str | None) -> None:
    conn.execute(sa.update(web_sessions).where(web_sessions.c.id_sha256 == id_sha256).values(flash=flash))


# -- login attempts ---------------------------------------------------------------------------


def insert_attempt(conn: Connection, **values: Any) -> None:
    conn.execute(login_attempts.insert().values(**values))


def failures_from_ip(conn: Connection, ip: str, since_s: int) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(login_attempts)
                            .where(login_attempts.c.ip == ip, login_attempts.c.ok.is_(False), login_attempts.c.at_s >= since_s))
               .scalar_one())


def login_ips_of(conn: Connection, user_id: int, since_s: int) -> set[str]:
    rows = conn.execute(sa.select(login_attempts.c.ip).distinct()
                        .where(login_attempts.c.user_id == user_id, login_attempts.c.ok.is_(True), login_attempts.c.at_s >= since_s))
    return {r.ip for r in rows}


def recent_logins(conn: Connection, user_ids: set[int], limit: int = 50) -> list[Any]:
    if not user_ids:
        return []
    return list(conn.execute(sa.select(login_attempts).where(login_attempts.c.user_id.in_(sorted(user_ids)))
                             .order_by(login_attempts.c.id.desc()).limit(limit)).all())


def insert_event(conn: Connection, **values: Any) -> None:
    conn.execute(significant_events.insert().values(**values))


# -- credit terms and figures -----------------------------------------------------------------


def terms(conn: Connection, node_id: str, *, for_update: bool = False) -> Any | None:
    stmt = sa.select(credit_terms).where(credit_terms.c.node_id == node_id)
    if for_update and is_postgres(conn):
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def all_terms(conn: Connection, node_ids: set[str]) -> dict[str, Any]:
    if not node_ids:
        return {}
    return {r.node_id: r for r in conn.execute(sa.select(credit_terms).where(credit_terms.c.node_id.in_(sorted(node_ids))))}


def upsert_terms(conn: Connection, node_id: str, **values: Any) -> None:
    if terms(conn, node_id) is None:
        conn.execute(credit_terms.insert().values(**{"node_id": node_id, "credit_line_units": 0, **values}))
    else:
        conn.execute(sa.update(credit_terms).where(credit_terms.c.node_id == node_id).values(**values))


def wholesale_out(conn: Connection, accounts: list[str]) -> dict[str, int]:
    """Credits each float account sent down the tree (wholesale transfers only)."""
    if not accounts:
        return {}
    rows = conn.execute(
        sa.select(postings.c.account, sa.func.sum(postings.c.amount_units).label("total"))
        .join(ledger_transactions, ledger_transactions.c.id == postings.c.tx_id)
        .where(ledger_transactions.c.kind == "wholesale_transfer", postings.c.account.in_(accounts), postings.c.amount_units < 0)
        .group_by(postings.c.account)
    )
    return {r.account: -int(r.total) for r in rows}


# -- devices, events, exceptions --------------------------------------------------------------


def devices_at(conn: Connection, location_ids: set[str]) -> list[Any]:
    if not location_ids:
        return []
    return list(conn.execute(
        sa.select(devices, device_heartbeats.c.received_at.label("hb_at"), device_heartbeats.c.ip.label("hb_ip"),
                  device_heartbeats.c.app_version.label("hb_version"), device_heartbeats.c.outbox_depth,
                  device_heartbeats.c.oldest_unacked_age_s, device_heartbeats.c.last_sync_result)
        .outerjoin(device_heartbeats, device_heartbeats.c.device_id == devices.c.id)
        .where(devices.c.location_id.in_(sorted(location_ids))).order_by(devices.c.location_id, devices.c.role, devices.c.id)
    ).all())


def device_location(conn: Connection, device_id: str) -> str | None:
    return conn.execute(sa.select(devices.c.location_id).where(devices.c.id == device_id)).scalar()


def staff_location(conn: Connection, staff_id: str) -> str | None:
    return conn.execute(sa.select(staff.c.location_id).where(staff.c.id == staff_id)).scalar()


def staff_at(conn: Connection, location_id: str) -> list[Any]:
    return list(conn.execute(sa.select(staff).where(staff.c.location_id == location_id).order_by(staff.c.active.desc(), staff.c.name)))


def user_node(conn: Connection, user_id: int) -> str | None:
    return conn.execute(sa.select(admin_users.c.node_id).where(admin_users.c.id == user_id)).scalar()


def event_device(conn: Connection, source: str, ref_id: int) -> tuple[bool, str | None]:
    """Whether the event/exception exists, and the device it concerns (if any)."""
    table = significant_events if source == "event" else ledger_exceptions
    row = conn.execute(sa.select(table.c.device_id).where(table.c.id == ref_id)).first()
    return (row is not None, row.device_id if row is not None else None)


def events(conn: Connection, device_ids: set[str] | None, limit: int) -> list[Any]:
    """Significant events, newest first; ``device_ids`` None means all of them (head office)."""
    stmt = sa.select(significant_events).order_by(significant_events.c.id.desc()).limit(limit)
    if device_ids is not None:
        stmt = stmt.where(significant_events.c.device_id.in_(sorted(device_ids)))
    return list(conn.execute(stmt).all())


def exceptions(conn: Connection, device_ids: set[str] | None, limit: int) -> list[Any]:
    stmt = sa.select(ledger_exceptions).order_by(ledger_exceptions.c.id.desc()).limit(limit)
    if device_ids is not None:
        stmt = stmt.where(ledger_exceptions.c.device_id.in_(sorted(device_ids)))
    return list(conn.execute(stmt).all())


def reviews(conn: Connection, source: str, ref_ids: list[int]) -> dict[int, list[Any]]:
    if not ref_ids:
        return {}
    out: dict[int, list[Any]] = {}
    for r in conn.execute(sa.select(event_reviews).where(event_reviews.c.source == source, event_reviews.c.ref_id.in_(ref_ids))
                          .order_by(event_reviews.c.id)):
        out.setdefault(int(r.ref_id), []).append(r)
    return out


def insert_review(conn: Connection, **values: Any) -> None:
    conn.execute(event_reviews.insert().values(**values))


def balances_of(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Several balances in one query; a missing row is zero."""
    from central_server.tables import balances

    accounts = sorted({a for a, _ in keys})
    if not accounts:
        return {}
    rows = conn.execute(sa.select(balances).where(balances.c.account.in_(accounts)))
    found = {(r.account, r.unit): int(r.balance_units) for r in rows}
    return {key: found.get(key, 0) for key in keys}


def node_timezone(conn: Connection, node_id: str) -> str:
    """The time zone a location's reports cut its day in (no row: UTC, as the reports area reads it)."""
    found = conn.execute(sa.select(report_settings.c.timezone).where(report_settings.c.node_id == node_id)).scalar()
    return str(found) if found else "UTC"


def set_node_currency(conn: Connection, node_id: str, currency: str) -> None:
    conn.execute(sa.update(nodes).where(nodes.c.id == node_id).values(currency=currency))


# -- online payments --------------------------------------------------------------------------


def payment_location(conn: Connection, payment_id: str) -> str | None:
    return conn.execute(sa.select(payments.c.location_id).where(payments.c.id == payment_id)).scalar()


def payments_at(conn: Connection, location_ids: set[str] | None, *, in_review: bool, limit: int) -> list[Any]:
    """Payments of these locations (None: all) with the player's card: the review queue oldest first, else newest first."""
    query = sa.select(payments, players.c.card_number).select_from(payments.join(players, players.c.id == payments.c.player_id))
    if in_review:
        query = query.where(payments.c.status == "review").order_by(payments.c.created_at)
    else:
        query = query.where(payments.c.status != "review").order_by(payments.c.updated_at.desc())
    if location_ids is not None:
        if not location_ids:
            return []
        query = query.where(payments.c.location_id.in_(sorted(location_ids)))
    return list(conn.execute(query.limit(limit)).all())
