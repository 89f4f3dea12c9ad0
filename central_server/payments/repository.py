"""All SQL of the payments area."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update

from central_server.ledger.repository import _dialect_insert
from central_server.tables import nodes, payment_accounts, payment_events, payments, player_profiles, players, staff, topup_channels


def insert_account(conn: Connection, **values: Any) -> None:
    conn.execute(insert(payment_accounts).values(**values))


def account(conn: Connection, account_id: str) -> Any | None:
    return conn.execute(select(payment_accounts).where(payment_accounts.c.id == account_id)).first()


def active_accounts_of(conn: Connection, node_id: str, provider: str) -> list[Any]:
    return list(conn.execute(select(payment_accounts).where(
        payment_accounts.c.node_id == node_id, payment_accounts.c.provider == provider, payment_accounts.c.active.is_(True),
    ).order_by(payment_accounts.c.created_at)).all())


def parent_of(conn: Connection, node_id: str) -> str | None:
    return conn.execute(select(nodes.c.parent_id).where(nodes.c.id == node_id)).scalar()


def node_currency(conn: Connection, node_id: str) -> str | None:
    return conn.execute(select(nodes.c.currency).where(nodes.c.id == node_id)).scalar()


def player(conn: Connection, player_id: str) -> Any | None:
    """The player with ``self_excluded`` (false when no profile was registered)."""
    excluded = func.coalesce(player_profiles.c.self_excluded, False).label("self_excluded")
    query = (select(players, excluded).select_from(players.outerjoin(player_profiles, player_profiles.c.player_id == players.c.id))
             .where(players.c.id == player_id))
    return conn.execute(query).first()


def insert_payment(conn: Connection, **values: Any) -> bool:
    """Insert unless the idempotency key is already taken; True when this call inserted it."""
    stmt = (_dialect_insert(conn)(payments).values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(payments.c.id))
    return conn.execute(stmt).first() is not None


def by_idempotency_key(conn: Connection, key: str) -> Any | None:
    return conn.execute(select(payments).where(payments.c.idempotency_key == key)).first()


def by_id(conn: Connection, payment_id: str) -> Any | None:
    return conn.execute(select(payments).where(payments.c.id == payment_id)).first()


def by_provider_ref(conn: Connection, provider: str, ref: str) -> Any | None:
    """The payment a provider object belongs to: its own ref, or (a Checkout Session's) PaymentIntent."""
    return conn.execute(select(payments).where(
        payments.c.provider == provider, or_(payments.c.provider_ref == ref, payments.c.provider_alt_ref == ref),
    ).limit(1)).first()


def set_alt_ref(conn: Connection, payment_id: str, alt_ref: str) -> None:
    conn.execute(update(payments).where(payments.c.id == payment_id, payments.c.provider_alt_ref.is_(None))
                 .values(provider_alt_ref=alt_ref))


def set_provider_ref(conn: Connection, payment_id: str, ref: str, checkout_url: str | None, now: str) -> None:
    conn.execute(update(payments).where(payments.c.id == payment_id, payments.c.provider_ref.is_(None))
                 .values(provider_ref=ref, checkout_url=checkout_url, updated_at=now))


def move_status(conn: Connection, payment_id: str, expected: str, new: str, **values: Any) -> bool:
    """The guarded state change that makes every money movement of a payment happen once."""
    result = conn.execute(update(payments).where(payments.c.id == payment_id, payments.c.status == expected)
                          .values(status=new, **values))
    return result.rowcount == 1


def record_event(conn: Connection, **values: Any) -> bool:
    """Remember a verified delivery; False when this event was already recorded (a redelivery)."""
    # RETURNING, not rowcount: with an identity key the driver reports no rowcount for this insert.
    stmt = (_dialect_insert(conn)(payment_events).values(**values)
            .on_conflict_do_nothing(index_elements=["provider", "event_id"]).returning(payment_events.c.id))
    return conn.execute(stmt).first() is not None


def events_of(conn: Connection, payment_id: str) -> list[Any]:
    return list(conn.execute(select(payment_events).where(payment_events.c.payment_id == payment_id)
                             .order_by(payment_events.c.id)).all())


def credited_count(conn: Connection, player_id: str) -> int:
    return int(conn.execute(select(func.count()).select_from(payments).where(
        payments.c.player_id == player_id, payments.c.status.in_(("credited", "refunded")))).scalar() or 0)


def started_since(conn: Connection, player_id: str, since: str) -> int:
    return int(conn.execute(select(func.count()).select_from(payments).where(
        payments.c.player_id == player_id, payments.c.created_at >= since)).scalar() or 0)


def cards_since(conn: Connection, player_id: str, since: str) -> set[str]:
    rows = conn.execute(select(payments.c.card_fingerprint).where(
        payments.c.player_id == player_id, payments.c.created_at >= since, payments.c.card_fingerprint.is_not(None))).all()
    return {r.card_fingerprint for r in rows}


def set_card(conn: Connection, payment_id: str, fingerprint: str) -> None:
    conn.execute(update(payments).where(payments.c.id == payment_id).values(card_fingerprint=fingerprint))


def in_review(conn: Connection, location_ids: list[str] | None = None, limit: int = 200) -> list[Any]:
    query = select(payments).where(payments.c.status == "review").order_by(payments.c.created_at).limit(limit)
    if location_ids is not None:
        query = query.where(payments.c.location_id.in_(location_ids))
    return list(conn.execute(query).all())


def channel_rows(conn: Connection, node_ids: list[str], channel: str) -> dict[str, str]:
    """node id → its comma-separated providers for ``channel``, for the nodes that set it."""
    if not node_ids:
        return {}
    rows = conn.execute(select(topup_channels.c.node_id, topup_channels.c.providers).where(
        topup_channels.c.node_id.in_(node_ids), topup_channels.c.channel == channel)).all()
    return {r.node_id: r.providers for r in rows}


def upsert_channel(conn: Connection, *, node_id: str, channel: str, providers: str, updated_at: str) -> None:
    stmt = (_dialect_insert(conn)(topup_channels)
            .values(node_id=node_id, channel=channel, providers=providers, updated_at=updated_at)
            .on_conflict_do_update(index_elements=["node_id", "channel"],
                                   set_={"providers": providers, "updated_at": updated_at}))
    conn.execute(stmt)


def delete_channel(conn: Connection, node_id: str, channel: str) -> bool:
    result = conn.execute(topup_channels.delete().where(topup_channels.c.node_id == node_id, topup_channels.c.channel == channel))
    return result.rowcount == 1


def active_staff_role(conn: Connection, staff_id: str, location_id: str) -> str | None:
    """The role of an active staff member of this location; None for anyone else."""
    return conn.execute(select(staff.c.role).where(staff.c.id == staff_id, staff.c.location_id == location_id,
                                                   staff.c.active.is_(True))).scalar()


def providers_with_accounts(conn: Connection, node_ids: list[str]) -> set[str]:
    if not node_ids:
        return set()
    rows = conn.execute(select(payment_accounts.c.provider).where(
        payment_accounts.c.node_id.in_(node_ids), payment_accounts.c.active.is_(True)).distinct()).all()
    return {r.provider for r in rows}
