"""Provider adapters: the documented HTTP protocols of a Stripe-compatible card processor
(PaymentIntents, Refunds) and BTCPay Server's Greenfield API (invoices, refunds).

Each adapter turns the provider's objects into ``rules.ProviderState``; the service
never looks at a provider's JSON. Creation carries our payment id as the idempotency
key, so a retried create returns the same PaymentIntent / invoice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from central_server.payments import webhooks
from central_server.payments.rules import ProviderState
from shared.errors import CafeError
from shared.money import Money, format_units

TIMEOUT_S = 10.0


class ProviderError(CafeError):
    code = "provider_error"
    http_status = 502


@dataclass(frozen=True)
class Created:
    ref: str  # PaymentIntent id / invoice id
    checkout_url: str | None  # where a player pays (QR at the kiosk); None for card-present at the POS


class Provider(Protocol):
    name: str

    def create(self, *, payment_id: str, fiat_units: int, currency: str, description: str) -> Created: ...
    def retrieve(self, ref: str) -> ProviderState: ...
    def refund(self, ref: str, *, payment_id: str, fiat_units: int, currency: str) -> None: ...
    def authenticate_webhook(self, headers: Mapping[str, str], raw_body: bytes, *, now_s: int) -> webhooks.WebhookEvent: ...


def _call(client: httpx.Client, method: str, url: str, **kwargs: Any) -> Any:
    try:
        response = client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise ProviderError(f"payment provider unreachable: {exc}") from exc
    if response.status_code >= 400:
        raise ProviderError(f"payment provider refused {method} {url}: {response.status_code} {response.text[:200]}")
    try:
        return response.json()
    except ValueError as exc:
        raise ProviderError(f"payment provider answered {method} {url} with something that is not JSON") from exc


class StripeProvider:
    """Stripe's PaymentIntents API (form-encoded requests, Bearer secret key)."""

    name = "stripe"

    def __init__(self, base_url: str, secret_key: str, webhook_secrets: Sequence[str], *, transport: httpx.BaseTransport | None = None):
        self._client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {secret_key}"},
                                    timeout=TIMEOUT_S, transport=transport)
        self._webhook_secrets = tuple(webhook_secrets)

    def create(self, *, payment_id: str, fiat_units: int, currency: str, description: str) -> Created:
        doc = _call(self._client, "POST", "/v1/payment_intents", headers={"Idempotency-Key": payment_id}, data={
            "amount": str(fiat_units), "currency": currency.lower(), "description": description,
            "metadata[payment_id]": payment_id, "automatic_payment_methods[enabled]": "true",
        })
        return Created(ref=str(doc["id"]), checkout_url=None)

    def retrieve(self, ref: str) -> ProviderState:
        doc = _call(self._client, "GET", f"/v1/payment_intents/{ref}", params={"expand[]": "latest_charge"})
        charge = doc.get("latest_charge") if isinstance(doc.get("latest_charge"), dict) else {}
        card = ((charge.get("payment_method_details") or {}).get("card") or {})
        status = {"succeeded": "paid", "canceled": "failed"}.get(str(doc.get("status")), "pending")
        return ProviderState(
            status=status,  # type: ignore[arg-type]
            paid_fiat_units=int(doc.get("amount_received") or 0),
            refunded_fiat_units=int(charge.get("amount_refunded") or 0),
            disputed=bool(charge.get("disputed")),
            card_fingerprint=card.get("fingerprint"),
        )

    def refund(self, ref: str, *, payment_id: str, fiat_units: int, currency: str) -> None:
        _call(self._client, "POST", "/v1/refunds", headers={"Idempotency-Key": f"refund-{payment_id}"},
              data={"payment_intent": ref, "amount": str(fiat_units)})

    def authenticate_webhook(self, headers: Mapping[str, str], raw_body: bytes, *, now_s: int) -> webhooks.WebhookEvent:
        webhooks.verify_stripe(headers.get("stripe-signature"), raw_body, self._webhook_secrets, now_s=now_s)
        return webhooks.parse_stripe_event(raw_body)


# Greenfield invoice (status, additionalStatus) → what it means for crediting.
_BTCPAY_STATES: dict[tuple[str, str], str] = {
    ("Settled", "None"): "paid",
    ("Settled", "Marked"): "paid",
    ("Settled", "PaidOver"): "overpaid",
    ("Settled", "PaidLate"): "late",
    ("Expired", "PaidLate"): "late",
    ("Expired", "PaidPartial"): "partial",
    ("Expired", "None"): "expired",
    ("Invalid", "None"): "failed",
    ("Invalid", "Invalid"): "failed",
    ("Invalid", "Marked"): "failed",
}


class BTCPayProvider:
    """BTCPay Server Greenfield API (JSON, ``Authorization: token <api key>``), one store.

    BTCPay marks an invoice Settled once its payments have the confirmations the store's
    speed policy asks for; the store is configured with the confirmations we require, so
    Settled is the moment to credit, and Processing (seen, not yet confirmed) is not.
    """

    name = "btcpay"

    def __init__(self, base_url: str, api_key: str, store_id: str, webhook_secrets: Sequence[str], *,
                 transport: httpx.BaseTransport | None = None):
        self._client = httpx.Client(base_url=base_url, headers={"Authorization": f"token {api_key}"},
                                    timeout=TIMEOUT_S, transport=transport)
        self._store = store_id
        self._webhook_secrets = tuple(webhook_secrets)

    def create(self, *, payment_id: str, fiat_units: int, currency: str, description: str) -> Created:
        doc = _call(self._client, "POST", f"/api/v1/stores/{self._store}/invoices", json={
            "amount": format_units(fiat_units, currency), "currency": currency,
            "metadata": {"orderId": payment_id, "itemDesc": description},
            "checkout": {"expirationMinutes": 30},
        })
        return Created(ref=str(doc["id"]), checkout_url=doc.get("checkoutLink"))

    def retrieve(self, ref: str) -> ProviderState:
        doc = _call(self._client, "GET", f"/api/v1/stores/{self._store}/invoices/{ref}")
        key = (str(doc.get("status")), str(doc.get("additionalStatus") or "None"))
        status = _BTCPAY_STATES.get(key, "pending")
        # The invoice names the amount ordered; what was paid in fiat terms is only known for a
        # plain settlement. Late, partial and overpaid invoices go to a person, who sees BTCPay.
        ordered = Money.parse(str(doc.get("amount", "0")), str(doc.get("currency") or "USD")).units
        return ProviderState(status=status, paid_fiat_units=ordered)  # type: ignore[arg-type]

    def refund(self, ref: str, *, payment_id: str, fiat_units: int, currency: str) -> None:
        _call(self._client, "POST", f"/api/v1/stores/{self._store}/invoices/{ref}/refund",
              json={"refundVariant": "Custom", "customAmount": format_units(fiat_units, currency), "customCurrency": currency})

    def authenticate_webhook(self, headers: Mapping[str, str], raw_body: bytes, *, now_s: int) -> webhooks.WebhookEvent:
        webhooks.verify_btcpay(headers.get("btcpay-sig"), raw_body, self._webhook_secrets)
        return webhooks.parse_btcpay_event(raw_body)
