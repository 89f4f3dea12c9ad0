"""A device's online top-ups at central (issue 8): start one, then follow its status.

Both calls are signed like every other device call (``CentralClient.request``) and fail
the same two ways, ``Offline`` or ``CentralRefused``. Starting is idempotent by the
device's ``request_id``: asking again after a lost answer returns the same payment, never
a second one. Following is a long poll: central holds the answer until the status
differs from the one the device already knows, or ``wait_s`` passes, so a device learns
the verdict at once without polling fast. That request's read timeout is therefore
longer than its wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode

from shared.errors import ValidationError
from shared.money import check_positive
from shared.protocol import PAYMENTS_PATH
from sync.central_client import CentralClient

Provider = Literal["stripe", "btcpay"]
PROVIDERS: tuple[Provider, ...] = ("stripe", "btcpay")
MAX_WAIT_S = 25  # central's bound on a long poll (central_server/payments/endpoints.py)
LONG_POLL_MARGIN_S = 10.0  # beyond the wait: central's last look, the answer's trip, a slow line
REFUSED_CODES = frozenset({"topup_channel_off", "topup_provider_off", "topup_staff_required", "topup_role_refused",
                           "topup_channel_refused"})
"""Central's 403 codes for a top-up this device, channel or staff member may not start."""
SETTLED = frozenset({"credited", "rejected", "refunded", "failed", "expired", "partial"})
"""Statuses that do not change without a person or a refund; ``review`` waits for a manager."""


@dataclass(frozen=True, slots=True)
class Payment:
    """One top-up as central reports it, with the player's wallet balance at that moment."""

    id: str
    status: str
    provider: str
    player_id: str
    amount_units: int
    fiat_units: int
    currency: str
    checkout_url: str | None
    review_reasons: tuple[str, ...]
    wallet_units: int

    @classmethod
    def from_json(cls, data: Any) -> Payment:
        if not isinstance(data, dict):
            raise ValidationError("central sent a payment that is not a JSON object")
        try:
            return cls(
                id=str(data["id"]), status=str(data["status"]), provider=str(data["provider"]),
                player_id=str(data["player_id"]), amount_units=int(data["amount_units"]),
                fiat_units=int(data["fiat_units"]), currency=str(data["currency"]),
                checkout_url=None if data.get("checkout_url") is None else str(data["checkout_url"]),
                review_reasons=tuple(str(r) for r in data.get("review_reasons") or ()),
                wallet_units=int(data["wallet_units"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"central sent a payment without a readable {exc}") from exc


def start_topup(client: CentralClient, request_id: str, player_id: str, amount_units: int, provider: Provider,
                staff_id: str | None = None) -> Payment:
    """Open (or, for a repeated ``request_id``, find again) a top-up of ``amount_units`` credits.

    A POS names its signed-in ``staff_id``: central refuses (403) a top-up whose channel or
    provider the location does not offer, or a POS whose staff member's role may not start one.
    """
    check_positive(amount_units, "amount_units")
    if provider not in PROVIDERS:
        raise ValidationError(f"unknown payment provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
    body: dict[str, Any] = {"request_id": request_id, "player_id": player_id, "amount_units": amount_units, "provider": provider}
    if staff_id is not None:
        body["staff_id"] = staff_id
    payment = Payment.from_json(client.request("POST", PAYMENTS_PATH, body))
    if (payment.player_id, payment.amount_units) != (player_id, amount_units):
        raise ValidationError(f"central answered top-up {request_id} with another payment ({payment.id})")
    return payment


def payment_status(client: CentralClient, payment_id: str, known: str | None = None, wait_s: int = 0) -> Payment:
    """The payment now, or (with ``known`` and ``wait_s``) as soon as its status is no longer ``known``."""
    if not 0 <= wait_s <= MAX_WAIT_S:
        raise ValidationError(f"wait_s is 0 to {MAX_WAIT_S}, not {wait_s}")
    query = {"wait_s": str(wait_s), **({"known": known} if known else {})}
    path = f"{PAYMENTS_PATH}/{quote(payment_id, safe='')}?{urlencode(query)}"
    payment = Payment.from_json(client.request("GET", path, timeout_s=wait_s + LONG_POLL_MARGIN_S))
    if payment.id != payment_id:
        raise ValidationError(f"central answered payment {payment_id} with payment {payment.id}")
    return payment
