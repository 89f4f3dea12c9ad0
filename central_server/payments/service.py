"""Online top-ups: create, learn the provider's verdict, credit once, review, refund.

The provider's webhook is a hint, never the truth: the service re-reads the payment from
the provider and feeds that state to ``rules.decide``. Every movement of credits is one
guarded status change plus one ledger transaction with a deterministic id, in one
database transaction, so any number of deliveries, in any order, from any number of
central instances credit a wallet at most once. No database transaction is held open
across a call to the provider.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Connection, Engine

from central_server.device_config import repository as config_repo
from central_server.devices import repository as devices_repo
from central_server.errors import ApiError, Conflict, Forbidden, NotFound
from central_server.ledger import service as ledger
from central_server.payments import repository as repo
from central_server.payments import rules
from central_server.payments.providers import BTCPayProvider, Provider, ProviderError, StripeProvider
from central_server.payments.webhooks import WebhookRejected
from central_server.sealing import DataKeys
from shared.bodies import OnlinePayment
from shared.entry import parse_utc_timestamp, utc_timestamp
from shared.errors import ValidationError
from shared.ids import new_id
from shared.ledger import account, move
from shared.money import CREDITS, check_positive

log = logging.getLogger(__name__)

PROVIDERS = rules.PROVIDER_NAMES
MAX_TOPUP_UNITS = 10_000_00
MAX_TREE_DEPTH = 8

TransportFor = Callable[[str], httpx.BaseTransport | None]
"""Tests route provider calls to their simulators; production passes nothing."""


class PaymentRefused(ApiError):
    code = "payment_refused"
    http_status = 422


@dataclass(frozen=True)
class PaymentView:
    id: str
    status: str
    provider: str
    player_id: str
    location_id: str
    amount_units: int
    fiat_units: int
    currency: str
    checkout_url: str | None
    review_reasons: list[str]
    review_note: str | None
    refunded_units: int

    @classmethod
    def of(cls, row: Any) -> PaymentView:
        return cls(row.id, row.status, row.provider, row.player_id, row.location_id, row.amount_units, row.fiat_units,
                   row.currency, row.checkout_url, json.loads(row.review_reasons), row.review_note, row.refunded_units)


# -- provider accounts ------------------------------------------------------------------


def credentials_context(account_id: str) -> str:
    """What a provider account's sealed credentials are bound to (also used by the data key rotation)."""
    return f"payment_account:{account_id}"


def add_account(conn: Connection, keys: DataKeys, *, node_id: str, provider: str, base_url: str,
                credentials: Mapping[str, Any], account_id: str | None = None) -> str:
    """Store a provider account of a location or distributor; its secrets are sealed (DESIGN §7)."""
    if provider not in PROVIDERS:
        raise ValidationError(f"unknown payment provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
    needed = {"stripe": {"secret_key", "webhook_secrets"}, "btcpay": {"api_key", "store_id", "webhook_secrets"}}[provider]
    if missing := needed - set(credentials):
        raise ValidationError(f"{provider} account needs {', '.join(sorted(missing))}")
    account_id = account_id or f"pa-{new_id()}"
    sealed = keys.seal(json.dumps(dict(credentials), sort_keys=True), context=credentials_context(account_id))
    repo.insert_account(conn, id=account_id, node_id=node_id, provider=provider, base_url=base_url.rstrip("/"),
                        sealed_credentials=sealed, active=True, created_at=utc_timestamp())
    return account_id


def provider_for(conn: Connection, keys: DataKeys, account_id: str, transport_for: TransportFor | None = None) -> Provider:
    row = repo.account(conn, account_id)
    if row is None:
        raise NotFound(f"no payment account {account_id}")
    creds = json.loads(keys.open(row.sealed_credentials, context=credentials_context(row.id)))
    transport = transport_for(row.base_url) if transport_for else None
    if row.provider == "stripe":
        return StripeProvider(row.base_url, creds["secret_key"], creds["webhook_secrets"], return_url=creds.get("return_url"),
                              transport=transport)
    return BTCPayProvider(row.base_url, creds["api_key"], creds["store_id"], creds["webhook_secrets"], transport=transport)


def account_for(conn: Connection, location_id: str, provider: str) -> Any:
    """The provider account that serves a location: its own, else the nearest one up the tree."""
    node: str | None = location_id
    for _ in range(MAX_TREE_DEPTH):
        if node is None:
            break
        accounts = repo.active_accounts_of(conn, node, provider)
        if accounts:
            return accounts[0]
        node = repo.parent_of(conn, node)
    raise PaymentRefused(f"no {provider} account is configured for {location_id} or above it")


# -- who may create: channels per node -------------------------------------------------------

HOSTED_CHANNELS = frozenset({"kiosk"})
"""Channels whose payer is alone with a phone: the card provider opens a hosted checkout page."""


def _path(conn: Connection, node_id: str) -> list[str]:
    return config_repo.path_to_root(conn, node_id)  # the one walk up the tree (limits use it too)


def _check_channel(channel: str) -> str:
    if channel not in rules.CHANNELS:
        raise ValidationError(f"channel must be one of {', '.join(rules.CHANNELS)}, got {channel!r}")
    return channel


def offered_providers(conn: Connection, location_id: str, channel: str) -> frozenset[str]:
    """The providers a location allows on a channel: from the nearest node up the tree that sets it, else the default."""
    _check_channel(channel)
    path = _path(conn, location_id)
    rows = repo.channel_rows(conn, path, channel)
    for node_id in path:
        if node_id in rows:
            return frozenset(p for p in rows[node_id].split(",") if p in PROVIDERS)
    return rules.DEFAULT_CHANNEL_PROVIDERS[channel]


def channel_setting(conn: Connection, node_id: str, channel: str) -> frozenset[str] | None:
    """What this node itself sets for a channel (None: it inherits)."""
    value = repo.channel_rows(conn, [node_id], _check_channel(channel)).get(node_id)
    return None if value is None else frozenset(p for p in value.split(",") if p)


def set_channel(conn: Connection, node_id: str, channel: str, providers: frozenset[str] | None) -> None:
    """Set which providers a node (and the locations below that do not set their own) offers on a channel;
    an empty set switches the channel off, None goes back to inheriting."""
    _check_channel(channel)
    if config_repo.node(conn, node_id) is None:
        raise NotFound(f"there is no node {node_id!r}")
    if providers is None:
        repo.delete_channel(conn, node_id, channel)
        return
    if unknown := set(providers) - set(PROVIDERS):
        raise ValidationError(f"unknown payment provider {', '.join(sorted(unknown))}; expected {', '.join(PROVIDERS)}")
    repo.upsert_channel(conn, node_id=node_id, channel=channel, providers=",".join(sorted(providers)), updated_at=utc_timestamp())


def device_providers(conn: Connection, location_id: str, channel: str) -> tuple[str, ...]:
    """What a device of this channel may offer: allowed there and with an account at or above the location."""
    if channel not in rules.CHANNELS:
        return ()
    usable = repo.providers_with_accounts(conn, _path(conn, location_id))
    return tuple(p for p in PROVIDERS if p in offered_providers(conn, location_id, channel) and p in usable)


def _check_may_create(conn: Connection, *, channel: str, location_id: str, provider: str, staff_id: str | None) -> None:
    role = repo.active_staff_role(conn, staff_id, location_id) if staff_id else None
    offered = offered_providers(conn, location_id, channel) if channel in rules.CHANNELS else frozenset()
    refusal = rules.creation_refusal(channel=channel, provider=provider, offered=offered, staff_role=role)
    if refusal is not None:
        raise Forbidden(refusal.message, code=refusal.code)


# -- creating a top-up --------------------------------------------------------------------


def start_topup(engine: Engine, keys: DataKeys, *, created_by: str, location_id: str, player_id: str, amount_units: int,
                provider: str, idempotency_key: str, channel: str, staff_id: str | None = None,
                transport_for: TransportFor | None = None) -> PaymentView:
    """Create (or, for a repeated idempotency key, return) a top-up and open it at the provider.

    ``channel`` is the device's role; a POS names its signed-in ``staff_id``. Whether they may
    is checked first, every time, so a retry after the owner switched a channel off is refused too.
    """
    check_positive(amount_units, "amount_units")
    if amount_units > MAX_TOPUP_UNITS:
        raise PaymentRefused(f"a top-up is at most {MAX_TOPUP_UNITS} units")
    with engine.begin() as conn:
        _check_may_create(conn, channel=channel, location_id=location_id, provider=provider, staff_id=staff_id)
        player = repo.player(conn, player_id)
        if player is None or player.location_id != location_id:
            raise NotFound(f"no player {player_id} at {location_id}")
        if player.self_excluded:
            raise PaymentRefused("this player is self-excluded and cannot buy credits")
        acct = account_for(conn, location_id, provider)
        currency = repo.node_currency(conn, location_id) or "USD"
        now = utc_timestamp()
        repo.insert_payment(
            conn, id=new_id(), idempotency_key=idempotency_key, account_id=acct.id, provider=provider, provider_ref=None,
            player_id=player_id, location_id=location_id, amount_units=amount_units,
            fiat_units=amount_units,  # one credit is sold for one unit of the location's currency
            currency=currency, status="pending", review_reasons="[]", created_by=created_by, created_at=now,
            updated_at=now, refunded_units=0,
        )
        row = repo.by_idempotency_key(conn, idempotency_key)
        assert row is not None
        if (row.player_id, row.amount_units, row.provider) != (player_id, amount_units, provider):
            raise Conflict("this idempotency key was used for a different top-up")
        if row.provider_ref is not None:
            return PaymentView.of(row)
        prov = provider_for(conn, keys, row.account_id, transport_for)
    created = prov.create(payment_id=row.id, fiat_units=row.fiat_units, currency=row.currency,
                          description=f"cafesuite credits for player {player_id}", hosted=channel in HOSTED_CHANNELS)
    with engine.begin() as conn:
        repo.set_provider_ref(conn, row.id, created.ref, created.checkout_url, utc_timestamp())
        fresh = repo.by_id(conn, row.id)
    return PaymentView.of(fresh)


def view(conn: Connection, payment_id: str, *, location_id: str | None = None) -> PaymentView:
    row = repo.by_id(conn, payment_id)
    if row is None or (location_id is not None and row.location_id != location_id):
        raise NotFound(f"no payment {payment_id}")
    return PaymentView.of(row)


# -- the provider's verdict ----------------------------------------------------------------


def handle_webhook(engine: Engine, keys: DataKeys, *, provider: str, account_id: str, headers: Mapping[str, str],
                   raw_body: bytes, now_s: int, ip: str, transport_for: TransportFor | None = None) -> str:
    """Authenticate a delivery, re-read the payment from the provider, apply it once; the outcome in words."""
    with engine.begin() as conn:
        row = repo.account(conn, account_id)
        if row is None or row.provider != provider:
            raise NotFound(f"no {provider} payment account {account_id}")
        prov = provider_for(conn, keys, account_id, transport_for)
    try:
        event = prov.authenticate_webhook({k.lower(): v for k, v in headers.items()}, raw_body, now_s=now_s)
    except WebhookRejected as exc:
        with engine.begin() as conn:
            devices_repo.insert_event(conn, kind="webhook_rejected", device_id=None,
                                      detail=f"{provider} account {account_id} from {ip}: {exc.message}", created_at=utc_timestamp())
        raise
    with engine.begin() as conn:
        payment = repo.by_provider_ref(conn, provider, event.object_ref)
        if payment is None:
            repo.record_event(conn, provider=provider, event_id=event.event_id, payment_id=None, event_type=event.event_type,
                              outcome="no such payment", received_at=utc_timestamp())
            return "no such payment"
    # The provider's word on the payment itself (a refund event names a Checkout Session's PaymentIntent),
    # whatever the event said or its order.
    state = prov.retrieve(payment.provider_ref or event.object_ref)
    with engine.begin() as conn:
        first = repo.record_event(conn, provider=provider, event_id=event.event_id, payment_id=payment.id,
                                  event_type=event.event_type, outcome="received", received_at=utc_timestamp())
        outcome = apply_state(conn, payment.id, state)
        if not first:
            outcome = f"redelivery; {outcome}"
    return outcome


def refresh(engine: Engine, keys: DataKeys, payment_id: str, transport_for: TransportFor | None = None) -> PaymentView:
    """Ask the provider now (a device waiting on a payment, or a missed webhook) and apply what it says."""
    with engine.begin() as conn:
        payment = repo.by_id(conn, payment_id)
        if payment is None:
            raise NotFound(f"no payment {payment_id}")
        if payment.provider_ref is None or payment.status in rules.TERMINAL:
            return PaymentView.of(payment)
        prov = provider_for(conn, keys, payment.account_id, transport_for)
    state = prov.retrieve(payment.provider_ref)
    with engine.begin() as conn:
        apply_state(conn, payment_id, state)
        return PaymentView.of(repo.by_id(conn, payment_id))


def _risk(conn: Connection, payment: Any, state: rules.ProviderState) -> rules.RiskFacts:
    from central_server.device_config.service import effective_limits  # the same limits the devices get

    now = datetime.now(UTC)
    player = repo.player(conn, payment.player_id)
    assert player is not None, "a payment's player exists (foreign key)"
    hour_ago, day_ago = utc_timestamp(now - timedelta(hours=1)), utc_timestamp(now - timedelta(days=1))
    cards = repo.cards_since(conn, payment.player_id, day_ago)
    if state.card_fingerprint:
        cards.add(state.card_fingerprint)
    return rules.RiskFacts(
        amount_units=payment.amount_units,
        review_threshold_units=effective_limits(conn, payment.location_id).payment_review_units,
        player_age_s=int((now - parse_utc_timestamp(player.created_at)).total_seconds()),
        prior_credited=repo.credited_count(conn, payment.player_id),
        recent_count_1h=repo.started_since(conn, payment.player_id, hour_ago),
        distinct_cards_24h=len(cards),
    )


def _credits(payment: Any) -> OnlinePayment:
    return OnlinePayment(payment_id=payment.id, provider=payment.provider, player_id=payment.player_id,
                         location_id=payment.location_id, amount_units=payment.amount_units, fiat_units=payment.fiat_units,
                         currency=payment.currency)


def _fiat_in(payment: Any) -> tuple[Any, ...]:
    return move(payment.currency, payment.fiat_units, account("revenue", payment.location_id), account("psp", payment.provider))


def _fiat_back(payment: Any) -> tuple[Any, ...]:
    return move(payment.currency, payment.fiat_units, account("psp", payment.provider), account("revenue", payment.location_id))


def apply_state(conn: Connection, payment_id: str, state: rules.ProviderState) -> str:
    payment = repo.by_id(conn, payment_id)
    assert payment is not None
    if state.card_fingerprint and payment.card_fingerprint is None:
        repo.set_card(conn, payment.id, state.card_fingerprint)
    if state.alt_ref and state.alt_ref != payment.provider_ref and payment.provider_alt_ref is None:
        repo.set_alt_ref(conn, payment.id, state.alt_ref)
    reasons = rules.review_reasons(_risk(conn, payment, state)) if payment.status == "pending" else []
    action, reasons = rules.decide(payment.status, state, reasons)
    now = utc_timestamp()
    review_acct, float_ = account("review", payment.id), account("float", payment.location_id)
    if action == "credit":
        if not repo.move_status(conn, payment.id, "pending", "credited", updated_at=now):
            return "already settled"
        ledger.post(conn, tx_id=f"payment:{payment.id}:credit", kind="online_payment", lines=_credits(payment).postings())
        return "credited"
    if action == "hold":
        if not repo.move_status(conn, payment.id, "pending", "review", updated_at=now, review_reasons=json.dumps(reasons)):
            return "already settled"
        lines = move(CREDITS, payment.amount_units, float_, review_acct) + _fiat_in(payment)
        ledger.post(conn, tx_id=f"payment:{payment.id}:hold", kind="online_payment", lines=lines)
        return "held for review: " + "; ".join(reasons)
    if action in ("fail", "expire", "partial"):
        new = {"fail": "failed", "expire": "expired", "partial": "partial"}[action]
        if repo.move_status(conn, payment.id, "pending", new, updated_at=now):
            if action == "partial":
                ledger.flag(conn, rule="payment_partial", detail=f"payment {payment.id}: paid partially, nothing credited; refund by hand")
            return new
        return "already settled"
    if action == "reverse":
        return _reverse(conn, payment, reason="the provider reports a refund or chargeback")
    return f"nothing to do ({payment.status})"


def _reverse(conn: Connection, payment: Any, *, reason: str) -> str:
    """Compensate a payment whose money went back: refund, chargeback, or a rejected review."""
    now = utc_timestamp()
    if payment.status == "review":
        if not repo.move_status(conn, payment.id, "review", "refunded", updated_at=now, refunded_units=payment.amount_units):
            return "already settled"
        lines = move(CREDITS, payment.amount_units, account("review", payment.id), account("float", payment.location_id))
    else:
        if not repo.move_status(conn, payment.id, "credited", "refunded", updated_at=now, refunded_units=payment.amount_units):
            return "already settled"
        wallet = account("wallet", payment.player_id)
        lines = move(CREDITS, payment.amount_units, wallet, account("float", payment.location_id))
        held = _wallet_units(conn, wallet)
        if held < payment.amount_units:
            ledger.flag(conn, rule="refund_after_play", account=wallet, detail=(
                f"payment {payment.id} reversed ({reason}) but only {held} of {payment.amount_units} units were still in the wallet"))
    ledger.post(conn, tx_id=f"payment:{payment.id}:reverse", kind="online_payment", lines=lines + _fiat_back(payment))
    return "reversed"


def _wallet_units(conn: Connection, wallet: str) -> int:
    from central_server.ledger.repository import balance

    return balance(conn, wallet, CREDITS, for_update=True)


# -- people: review and refund ---------------------------------------------------------------


@dataclass(frozen=True)
class ProviderRefund:
    """Money to give back at the provider, once the decision that owes it has committed.

    A provider call never runs inside a database transaction: the caller commits the
    decision first (the ledger then already says the money is owed back) and runs this.
    """

    provider: Provider
    payment: Any

    def run(self, engine: Engine) -> None:
        _refund_at_provider(engine, self.provider, self.payment)


def review_in(conn: Connection, keys: DataKeys, *, payment_id: str, decision: str, reviewer: str, role: str, note: str,
              transport_for: TransportFor | None = None) -> tuple[PaymentView, ProviderRefund | None]:
    """``review`` in the caller's transaction (the console's request, with its audit row); the refund to run after commit."""
    if not rules.allowed(role, "review"):
        raise Forbidden(f"a {role} may not review payments")
    if decision not in ("approve", "reject"):
        raise ValidationError("decision must be approve or reject")
    if not note.strip():
        raise ValidationError("a review needs a note")
    payment = repo.by_id(conn, payment_id)
    if payment is None:
        raise NotFound(f"no payment {payment_id}")
    review_acct = account("review", payment.id)
    now = utc_timestamp()
    new = "credited" if decision == "approve" else "rejected"
    if not repo.move_status(conn, payment.id, "review", new, updated_at=now, reviewed_by=reviewer, review_note=note.strip()):
        raise Conflict(f"payment {payment_id} is {payment.status}, not waiting for review")
    if decision == "approve":
        ledger.post(conn, tx_id=f"payment:{payment.id}:release", kind="online_payment",
                    lines=move(CREDITS, payment.amount_units, review_acct, account("wallet", payment.player_id)))
    else:
        ledger.post(conn, tx_id=f"payment:{payment.id}:return", kind="online_payment",
                    lines=move(CREDITS, payment.amount_units, review_acct, account("float", payment.location_id)) + _fiat_back(payment))
    later = ProviderRefund(provider_for(conn, keys, payment.account_id, transport_for), payment) if decision == "reject" else None
    return PaymentView.of(repo.by_id(conn, payment_id)), later


def review(engine: Engine, keys: DataKeys, *, payment_id: str, decision: str, reviewer: str, role: str, note: str,
           transport_for: TransportFor | None = None) -> PaymentView:
    """Approve (credit the wallet) or reject (return the held credits, refund the player) a held payment."""
    with engine.begin() as conn:
        _, later = review_in(conn, keys, payment_id=payment_id, decision=decision, reviewer=reviewer, role=role, note=note,
                             transport_for=transport_for)
    if later is not None:
        later.run(engine)
    with engine.begin() as conn:
        return PaymentView.of(repo.by_id(conn, payment_id))


def refund_in(conn: Connection, keys: DataKeys, *, payment_id: str, actor: str, role: str, note: str = "",
              transport_for: TransportFor | None = None) -> tuple[PaymentView, ProviderRefund]:
    """``refund`` in the caller's transaction; the provider refund to run after commit."""
    if not rules.allowed(role, "refund"):
        raise Forbidden(f"a {role} may not refund payments")
    payment = repo.by_id(conn, payment_id)
    if payment is None:
        raise NotFound(f"no payment {payment_id}")
    if payment.status != "credited":
        raise Conflict(f"payment {payment_id} is {payment.status}; only a credited payment can be refunded")
    reason = f"refunded by {actor}" + (f": {note.strip()}" if note.strip() else "")
    if _reverse(conn, payment, reason=reason) != "reversed":
        raise Conflict(f"payment {payment_id} changed while refunding; look again")
    later = ProviderRefund(provider_for(conn, keys, payment.account_id, transport_for), payment)
    return PaymentView.of(repo.by_id(conn, payment_id)), later


def refund(engine: Engine, keys: DataKeys, *, payment_id: str, actor: str, role: str, note: str = "",
           transport_for: TransportFor | None = None) -> PaymentView:
    """Give a credited payment's money back: credits leave the wallet (an exception if they were played)."""
    with engine.begin() as conn:
        _, later = refund_in(conn, keys, payment_id=payment_id, actor=actor, role=role, note=note, transport_for=transport_for)
    later.run(engine)
    with engine.begin() as conn:
        return PaymentView.of(repo.by_id(conn, payment_id))


def _refund_at_provider(engine: Engine, prov: Provider, payment: Any) -> None:
    try:
        prov.refund(payment.provider_ref, payment_id=payment.id, fiat_units=payment.fiat_units, currency=payment.currency)
    except ProviderError as exc:
        # The ledger already says the money is owed back; a person must finish it at the provider.
        with engine.begin() as conn:
            ledger.flag(conn, rule="refund_failed", detail=f"payment {payment.id}: the provider did not take the refund: {exc.message}")


def review_queue(conn: Connection, location_ids: list[str] | None = None) -> list[PaymentView]:
    return [PaymentView.of(row) for row in repo.in_review(conn, location_ids)]
