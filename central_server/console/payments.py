"""Console actions on online payments: the review queue, approve / reject with a note, refund.

Each decision goes through ``payments.service`` (which checks ``rules.PERMISSIONS`` for the
user's role and moves the credits with one guarded status change) in the request's
transaction, together with its audit row. What is owed back at the provider (a rejected or
refunded payment) is returned as a ``ProviderRefund`` for the caller to run after commit:
no database transaction is held open across a call to the provider.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from central_server.audit.log import Actor, record
from central_server.console import repository as repo
from central_server.errors import Conflict, NotFound
from central_server.ledger.repository import balance
from central_server.payments import service as payments
from central_server.sealing import DataKeys
from shared.entry import parse_utc_timestamp
from shared.errors import ValidationError
from shared.ledger import account
from shared.money import CREDITS, format_units

QUEUE_SHOWN = 200
RECENT_SHOWN = 50
MAX_NOTE = 500
DECIDED = {"credited": "approved (credited)", "rejected": "rejected", "refunded": "refunded"}


@dataclass(frozen=True)
class Row:
    """One payment as the Payments page shows it."""

    id: str
    short_id: str
    status: str
    provider: str
    player_id: str
    card_number: str
    location_id: str
    amount_units: int
    fiat_units: int
    currency: str
    reasons: list[str]
    review_note: str | None
    reviewed_by: str | None
    created_at: str
    updated_at: str
    age: str


@dataclass(frozen=True)
class Outcome:
    message: str
    provider_refund: payments.ProviderRefund | None = None


def short(payment_id: str) -> str:
    """The last 8 hex digits: a UUIDv7 starts with its timestamp, so payments made together share a prefix."""
    return payment_id[-8:]


def age_text(stamp: str, now: datetime) -> str:
    """How long ago, in the largest whole unit: ``45 s``, ``12 min``, ``3 h``, ``2 d``."""
    seconds = max(0, int((now - parse_utc_timestamp(stamp)).total_seconds()))
    for unit_s, label in ((86_400, "d"), (3_600, "h"), (60, "min")):
        if seconds >= unit_s:
            return f"{seconds // unit_s} {label}"
    return f"{seconds} s"


def rows(conn: Connection, location_ids: set[str] | None, *, in_review: bool) -> list[Row]:
    now = datetime.now(UTC)
    found = repo.payments_at(conn, location_ids, in_review=in_review, limit=QUEUE_SHOWN if in_review else RECENT_SHOWN)
    return [Row(r.id, short(r.id), r.status, r.provider, r.player_id, r.card_number, r.location_id, int(r.amount_units),
                int(r.fiat_units), r.currency, json.loads(r.review_reasons), r.review_note, r.reviewed_by, r.created_at,
                r.updated_at, age_text(r.created_at, now)) for r in found]


def _note(note: str, what: str) -> str:
    note = " ".join(note.split())
    if not note:
        raise ValidationError(f"A note is required to {what} a payment: say what you checked. Nothing was changed.")
    if len(note) > MAX_NOTE:
        raise ValidationError(f"The note is at most {MAX_NOTE} characters. Nothing was changed.")
    return note


def _payment(conn: Connection, payment_id: str) -> Any:
    from central_server.payments import repository as payments_repo

    row = payments_repo.by_id(conn, payment_id)
    if row is None:
        raise NotFound(f"There is no payment {payment_id}.")
    return row


def _wallet(conn: Connection, player_id: str) -> int:
    return balance(conn, account("wallet", player_id), CREDITS)


def _credits(units: int) -> str:
    return f"{format_units(units, CREDITS)} credits"


def review(conn: Connection, keys: DataKeys, actor: Actor, *, role: str, payment_id: str, decision: str, note: str) -> Outcome:
    """Approve or reject a held payment with a note; refused with a reason if it is no longer held."""
    verb = {"approve": "approve", "reject": "reject"}[decision]
    note = _note(note, verb)
    before = _payment(conn, payment_id)
    if before.status != "review":
        decided = DECIDED.get(before.status, before.status)
        by = f" by {before.reviewed_by}" if before.reviewed_by else ""
        raise Conflict(f"Payment {short(payment_id)} was already {decided}{by}; it is not waiting for review. Nothing was changed.")
    wallet_before = _wallet(conn, before.player_id)
    view, later = payments.review_in(conn, keys, payment_id=payment_id, decision=decision, reviewer=actor.name, role=role, note=note)
    wallet_after = _wallet(conn, before.player_id)
    record(conn, actor, action=f"payment_{'approved' if decision == 'approve' else 'rejected'}", target=f"payment {payment_id}",
           node_id=before.location_id,
           before={"status": before.status, "wallet_units": wallet_before, "review_reasons": json.loads(before.review_reasons)},
           after={"status": view.status, "wallet_units": wallet_after, "note": note, "amount_units": before.amount_units,
                  "player_id": before.player_id, "provider": before.provider})
    if decision == "approve":
        return Outcome(f"Approved payment {short(payment_id)}: {_credits(before.amount_units)} credited to the player's wallet "
                       f"(now {_credits(wallet_after)}).")
    return Outcome(f"Rejected payment {short(payment_id)}: nothing was credited; {_credits(before.amount_units)} went back to "
                   f"the location's float and the money is refunded through {before.provider}.", later)


def refund(conn: Connection, keys: DataKeys, actor: Actor, *, role: str, payment_id: str, note: str) -> Outcome:
    """Give a credited payment back with a note: the credits leave the wallet, the provider refunds."""
    note = _note(note, "refund")
    before = _payment(conn, payment_id)
    if before.status != "credited":
        raise Conflict(f"Payment {short(payment_id)} is {before.status}; only a credited payment can be refunded. "
                       "Nothing was changed.")
    wallet_before = _wallet(conn, before.player_id)
    view, later = payments.refund_in(conn, keys, payment_id=payment_id, actor=actor.name, role=role, note=note)
    wallet_after = _wallet(conn, before.player_id)
    record(conn, actor, action="payment_refunded", target=f"payment {payment_id}", node_id=before.location_id,
           before={"status": before.status, "wallet_units": wallet_before},
           after={"status": view.status, "wallet_units": wallet_after, "note": note, "amount_units": before.amount_units,
                  "player_id": before.player_id, "provider": before.provider})
    played = " Some of the credits were already played: see Exceptions." if wallet_before < before.amount_units else ""
    return Outcome(f"Refunded payment {short(payment_id)}: {_credits(before.amount_units)} taken out of the player's wallet "
                   f"(now {_credits(wallet_after)}); the money goes back through {before.provider}.{played}", later)
