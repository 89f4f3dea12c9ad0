"""The payment state machine and the review rules, as pure functions.

A payment is created (``pending``) before the player pays. The provider's word is
always re-read from the provider (a webhook only says "look again"), and mapped to a
``ProviderState``. From there:

    pending ──paid, no risk──────────────► credited ──refund/chargeback──► refunded
       │    ──paid, risky / late / over──► review ──approve──► credited
       │                                      └────reject────► rejected (credits returned)
       ├──failed / expired / partial─────► failed | expired | partial (nothing credited)

Credits move exactly once: each arrow out of a state is taken by one guarded
``UPDATE … WHERE status = :from`` in the service, so a second delivery, in any order,
finds the state already changed and does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.money import CREDITS, format_units

STATUSES = ("pending", "review", "credited", "rejected", "refunded", "failed", "expired", "partial")
TERMINAL = frozenset({"rejected", "refunded", "failed", "expired", "partial"})

ProviderStatus = Literal["pending", "paid", "failed", "expired", "partial", "late", "overpaid"]

Action = Literal["none", "credit", "hold", "fail", "expire", "partial", "reverse"]


@dataclass(frozen=True)
class ProviderState:
    status: ProviderStatus
    paid_fiat_units: int = 0
    refunded_fiat_units: int = 0
    disputed: bool = False
    card_fingerprint: str | None = None
    alt_ref: str | None = None  # the PaymentIntent of a Checkout Session (its refund and dispute events name that)


@dataclass(frozen=True)
class RiskFacts:
    amount_units: int
    review_threshold_units: int
    player_age_s: int
    prior_credited: int  # payments of this player already credited
    recent_count_1h: int  # payments this player started in the last hour (this one included)
    distinct_cards_24h: int  # card fingerprints this player used in 24 h (this one included)


NEW_PLAYER_S = 24 * 3600
VELOCITY_PER_HOUR = 5
MAX_CARDS_PER_DAY = 3


def review_reasons(facts: RiskFacts) -> list[str]:
    """Why a confirmed payment must wait for a person; empty when it may be credited at once."""
    reasons = []
    if facts.amount_units > facts.review_threshold_units:
        reasons.append(f"amount above the review threshold ({format_units(facts.review_threshold_units, CREDITS)} credits)")
    if facts.prior_credited == 0 and facts.player_age_s < NEW_PLAYER_S:
        reasons.append("new player (first payment, registered less than a day ago)")
    if facts.recent_count_1h > VELOCITY_PER_HOUR:
        reasons.append(f"velocity: {facts.recent_count_1h} payments in an hour")
    if facts.distinct_cards_24h > MAX_CARDS_PER_DAY:
        reasons.append(f"{facts.distinct_cards_24h} different cards in a day")
    return reasons


def decide(current: str, state: ProviderState, reasons: list[str]) -> tuple[Action, list[str]]:
    """What to do with a payment in ``current`` now that the provider reports ``state``.

    Returns the action and the review reasons that apply (late and overpaid payments
    always wait for a person: the amount received is not the amount ordered).
    """
    assert current in STATUSES, current
    if current in ("credited", "review") and (state.refunded_fiat_units > 0 or state.disputed):
        return "reverse", []
    if current != "pending":
        return "none", []
    if state.status == "paid":
        return ("hold", reasons) if reasons else ("credit", [])
    if state.status == "late":
        return "hold", [*reasons, "paid after the invoice expired"]
    if state.status == "overpaid":
        return "hold", [*reasons, "overpaid: more was received than ordered"]
    if state.status == "failed":
        return "fail", []
    if state.status == "expired":
        return "expire", []
    if state.status == "partial":
        return "partial", []
    return "none", []


ReviewDecision = Literal["approve", "reject"]

# -- who may start a top-up ------------------------------------------------------------------

Channel = Literal["pos", "kiosk"]
CHANNELS: tuple[Channel, ...] = ("pos", "kiosk")
PROVIDER_NAMES = ("stripe", "btcpay")
DEFAULT_CHANNEL_PROVIDERS: dict[str, frozenset[str]] = {
    # Until a node up the tree says otherwise: the counter offers every provider the location has an
    # account for, and a kiosk offers none, because a player paying alone needs the owner's consent.
    "pos": frozenset(PROVIDER_NAMES),
    "kiosk": frozenset(),
}
STAFF_MAY_CREATE = frozenset({"cashier", "manager", "owner"})
"""Staff roles (``shared.device_config.STAFF_ROLES``) whose sign-in at a POS may start an online top-up."""


@dataclass(frozen=True)
class CreateRefusal:
    code: str
    message: str


def creation_refusal(*, channel: str, provider: str, offered: frozenset[str], staff_role: str | None) -> CreateRefusal | None:
    """Why this device may not start this top-up (pure: the caller looked up the facts), or None.

    ``offered`` is what the location allows on this channel; ``staff_role`` is the role of the
    staff member the POS says is signed in (None: nobody, or not an active member of the location).
    """
    if channel not in CHANNELS:
        return CreateRefusal("topup_channel_refused", f"a {channel} device cannot start online top-ups")
    if channel == "pos":
        if staff_role is None:
            return CreateRefusal("topup_staff_required",
                                 "an online top-up at the counter needs a signed-in cashier who is active staff of this location")
        if staff_role not in STAFF_MAY_CREATE:
            return CreateRefusal("topup_role_refused", f"a {staff_role} may not start online top-ups")
    if not offered:
        what = "player top-ups at kiosks are" if channel == "kiosk" else "online top-ups at the counter are"
        return CreateRefusal("topup_channel_off", f"{what} switched off for this location")
    if provider not in offered:
        return CreateRefusal("topup_provider_off", f"{provider} top-ups are not offered on the {channel} at this location "
                                                   f"(offered: {', '.join(sorted(offered))})")
    return None

PERMISSIONS: dict[str, frozenset[str]] = {
    # who may do what with a payment (console roles). Creation is by devices: see creation_refusal.
    "create": frozenset({"head_office_admin", "distributor_admin", "location_owner", "cashier"}),
    "review": frozenset({"head_office_admin", "distributor_admin", "location_owner"}),
    "refund": frozenset({"head_office_admin", "distributor_admin"}),
    "configure": frozenset({"head_office_admin", "distributor_admin"}),
}


def allowed(role: str, action: str) -> bool:
    return role in PERMISSIONS.get(action, frozenset())
