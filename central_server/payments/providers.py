"""Provider adapters: the documented HTTP protocols of a Stripe-compatible card processor
(PaymentIntents, Checkout Sessions, Refunds) and BTCPay Server's Greenfield API (invoices, refunds).

Each adapter turns the provider's objects into ``rules.ProviderState``; the service
never looks at a provider's JSON. Creation carries our payment id as the idempotency
key, so a retried create returns the same PaymentIntent / invoice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from central_server.payments import webhooks
from central_server.payments.rules import ProviderState
from shared.errors import CafeError
from shared.money import Money, format_units

TIMEOUT_S = 10.0
CHECKOUT_TTL_S = 31 * 60  # Stripe takes 30 min to 24 h; a minute over the least, for the clocks' difference


class ProviderError(CafeError):
    code = "provider_error"
    http_status = 502


@dataclass(frozen=True)
class Created:
    ref: str  # PaymentIntent id / invoice id
    checkout_url: str | None  # where a player pays (QR at the kiosk); None for card-present at the POS


class Provider(Protocol):
    name: str

    def create(self, *, payment_id: str, fiat_units: int, currency: str, description: str, hosted: bool = False) -> Created: ...
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
    """Stripe's PaymentIntents and Checkout Sessions APIs (form-encoded requests, Bearer secret key).

    A payment is either a bare PaymentIntent (``pi_…``, confirmed by a card terminal) or a
    Checkout Session (``cs_…``: Stripe's hosted page, for a player paying on their phone). The
    id's prefix says which one a ref is, so retrieve and refund need no other record.
    """

    name = "stripe"

    def __init__(self, base_url: str, secret_key: str, webhook_secrets: Sequence[str], *, return_url: str | None = None,
                 transport: httpx.BaseTransport | None = None, clock: Callable[[], float] = time.time):
        self._client = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {secret_key}"},
                                    timeout=TIMEOUT_S, transport=transport)
        self._webhook_secrets = tuple(webhook_secrets)
        self._return_url = return_url
        self._clock = clock

    def create(self, *, payment_id: str, fiat_units: int, currency: str, description: str, hosted: bool = False) -> Created:
        if hosted:
            return self._create_session(payment_id=payment_id, fiat_units=fiat_units, currency=currency, description=description)
        doc = _call(self._client, "POST", "/v1/payment_intents", headers={"Idempotency-Key": payment_id}, data={
            "amount": str(fiat_units), "currency": currency.lower(), "description": description,
            "metadata[payment_id]": payment_id, "automatic_payment_methods[enabled]": "true",
        })
        return Created(ref=str(doc["id"]), checkout_url=None)

    def _create_session(self, *, payment_id: str, fiat_units: int, currency: str, description: str) -> Created:
        if not self._return_url:
            raise ProviderError("this Stripe account has no return_url (where the payer's phone goes after paying); "
                                "add one to its credentials to offer card top-ups by link")
        doc = _call(self._client, "POST", "/v1/checkout/sessions", headers={"Idempotency-Key": payment_id}, data={
            "mode": "payment",
            "line_items[0][price_data][currency]": currency.lower(),
            "line_items[0][price_data][unit_amount]": str(fiat_units),
            "line_items[0][price_data][product_data][name]": description,
            "line_items[0][quantity]": "1",
            "client_reference_id": payment_id,
            "metadata[payment_id]": payment_id,
            # The PaymentIntent carries our id too, so Stripe's dashboard and its charge events name it.
            "payment_intent_data[metadata][payment_id]": payment_id,
            "success_url": self._return_url, "cancel_url": self._return_url,
            "expires_at": str(int(self._clock()) + CHECKOUT_TTL_S),
        })
        url = doc.get("url")
        if not isinstance(url, str) or not url:
            raise ProviderError("Stripe made a Checkout Session without a url")
        return Created(ref=str(doc["id"]), checkout_url=url)

    def retrieve(self, ref: str) -> ProviderState:
        if ref.startswith("cs_"):
            return self._session_state(self._session(ref))
        doc = _call(self._client, "GET", f"/v1/payment_intents/{ref}", params={"expand[]": "latest_charge"})
        status = {"succeeded": "paid", "canceled": "failed"}.get(str(doc.get("status")), "pending")
        return _intent_state(doc, status, paid_fiat_units=int(doc.get("amount_received") or 0))

    def _session(self, ref: str) -> Any:
        return _call(self._client, "GET", f"/v1/checkout/sessions/{ref}", params={"expand[]": "payment_intent.latest_charge"})

    @staticmethod
    def _session_state(doc: Any) -> ProviderState:
        intent = doc.get("payment_intent") if isinstance(doc.get("payment_intent"), dict) else {}
        session_status, paid = str(doc.get("status")), str(doc.get("payment_status"))
        if paid == "paid":
            status = "paid"
        elif session_status == "expired":
            status = "expired"
        elif session_status == "complete" and str(intent.get("status")) in ("requires_payment_method", "canceled"):
            # A delayed method (a bank debit) that failed after the payer left the page: the session
            # stays complete and unpaid, and its PaymentIntent asks for another payment method.
            status = "failed"
        else:
            status = "pending"  # open, or complete with a delayed payment still on its way
        return _intent_state(intent, status, paid_fiat_units=int(doc.get("amount_total") or 0) if status == "paid" else 0)

    def refund(self, ref: str, *, payment_id: str, fiat_units: int, currency: str) -> None:
        intent: Any = ref
        if ref.startswith("cs_"):
            found = self._session(ref).get("payment_intent")
            intent = found.get("id") if isinstance(found, dict) else found
            if not isinstance(intent, str):
                raise ProviderError(f"Checkout Session {ref} has no PaymentIntent to refund")
        _call(self._client, "POST", "/v1/refunds", headers={"Idempotency-Key": f"refund-{payment_id}"},
              data={"payment_intent": intent, "amount": str(fiat_units)})

    def authenticate_webhook(self, headers: Mapping[str, str], raw_body: bytes, *, now_s: int) -> webhooks.WebhookEvent:
        webhooks.verify_stripe(headers.get("stripe-signature"), raw_body, self._webhook_secrets, now_s=now_s)
        return webhooks.parse_stripe_event(raw_body)


def _intent_state(intent: Any, status: str, *, paid_fiat_units: int) -> ProviderState:
    """What a PaymentIntent (with its latest charge expanded) says about refunds, disputes and the card."""
    charge = intent.get("latest_charge") if isinstance(intent.get("latest_charge"), dict) else {}
    card = ((charge.get("payment_method_details") or {}).get("card") or {})
    intent_id = intent.get("id")
    return ProviderState(
        status=status,  # type: ignore[arg-type]
        paid_fiat_units=paid_fiat_units,
        refunded_fiat_units=int(charge.get("amount_refunded") or 0),
        disputed=bool(charge.get("disputed")),
        card_fingerprint=card.get("fingerprint"),
        alt_ref=intent_id if isinstance(intent_id, str) else None,
    )


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

    def create(self, *, payment_id: str, fiat_units: int, currency: str, description: str, hosted: bool = False) -> Created:
        # An invoice always has its hosted checkout page: ``hosted`` asks for nothing more here.
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
