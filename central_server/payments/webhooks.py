"""Webhook authentication for the two provider protocols, as pure functions.

Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]``; each ``v1`` is
HMAC-SHA256 over ``"<t>.<raw body>"`` with the endpoint secret. During a secret
rotation Stripe sends one ``v1`` per active secret, and we may hold more than one
secret too: any pair that matches is enough. A timestamp more than the tolerance
(300 s) away from our clock is refused, so a captured delivery cannot be replayed later.

BTCPay Server (Greenfield): ``BTCPay-Sig: sha256=<hex>``, HMAC-SHA256 over the raw body
with the webhook secret. It carries no signed timestamp; a replay is recognised by the
delivery id (and a redelivery names its ``originalDeliveryId``), which the service
stores once.

Every comparison is constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.errors import CafeError

STRIPE_TOLERANCE_S = 300
MAX_WEBHOOK_BYTES = 256 * 1024


class WebhookRejected(CafeError):
    """A delivery we cannot trust: changes nothing, is logged as a significant event."""

    code = "webhook_rejected"
    http_status = 400


@dataclass(frozen=True)
class WebhookEvent:
    provider: str
    event_id: str  # the id that makes a delivery unique: Stripe's event id, BTCPay's original delivery id
    event_type: str
    object_ref: str  # the PaymentIntent or invoice this event is about
    created_s: int
    redelivery: bool = False


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def stripe_signature_header(secret: str, raw_body: bytes, timestamp_s: int) -> str:
    """What Stripe sends (used by the provider simulator and by tests)."""
    return f"t={timestamp_s},v1={_hmac_hex(secret, str(timestamp_s).encode() + b'.' + raw_body)}"


def verify_stripe(header: str | None, raw_body: bytes, secrets: Sequence[str], *, now_s: int,
                  tolerance_s: int = STRIPE_TOLERANCE_S) -> int:
    """The signed timestamp of an authentic delivery; ``WebhookRejected`` otherwise."""
    if not header:
        raise WebhookRejected("missing Stripe-Signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookRejected("Stripe-Signature has no timestamp or no v1 signature")
    signed = str(timestamp).encode() + b"." + raw_body
    expected = [_hmac_hex(secret, signed) for secret in secrets]
    if not any(hmac.compare_digest(sig, exp) for sig in signatures for exp in expected):
        raise WebhookRejected("no Stripe v1 signature matches an endpoint secret")
    if abs(now_s - timestamp) > tolerance_s:
        raise WebhookRejected(f"Stripe delivery timestamp is {now_s - timestamp} s from our clock (tolerance {tolerance_s} s)")
    return timestamp


def btcpay_signature_header(secret: str, raw_body: bytes) -> str:
    return f"sha256={_hmac_hex(secret, raw_body)}"


def verify_btcpay(header: str | None, raw_body: bytes, secrets: Sequence[str]) -> None:
    if not header or not header.startswith("sha256="):
        raise WebhookRejected("missing or malformed BTCPay-Sig header")
    given = header.removeprefix("sha256=")
    if not any(hmac.compare_digest(given, _hmac_hex(secret, raw_body)) for secret in secrets):
        raise WebhookRejected("BTCPay-Sig does not match the webhook secret")


def _json_object(raw_body: bytes) -> Mapping[str, Any]:
    if len(raw_body) > MAX_WEBHOOK_BYTES:
        raise WebhookRejected("webhook body too large")
    try:
        doc = json.loads(raw_body)
    except ValueError as exc:
        raise WebhookRejected("webhook body is not JSON") from exc
    if not isinstance(doc, dict):
        raise WebhookRejected("webhook body is not a JSON object")
    return doc


def parse_stripe_event(raw_body: bytes) -> WebhookEvent:
    doc = _json_object(raw_body)
    obj = (doc.get("data") or {}).get("object") or {}
    event_id, event_type = doc.get("id"), doc.get("type")
    if not isinstance(event_id, str) or not isinstance(event_type, str) or not isinstance(obj, dict):
        raise WebhookRejected("Stripe event without id, type or data.object")
    # Charge and dispute events name the PaymentIntent they belong to.
    ref = obj.get("payment_intent") if obj.get("object") in ("charge", "dispute", "refund") else obj.get("id")
    if not isinstance(ref, str):
        raise WebhookRejected("Stripe event names no PaymentIntent")
    created = doc.get("created")
    return WebhookEvent("stripe", event_id, event_type, ref, created if isinstance(created, int) else 0)


def parse_btcpay_event(raw_body: bytes) -> WebhookEvent:
    doc = _json_object(raw_body)
    delivery, original = doc.get("deliveryId"), doc.get("originalDeliveryId") or doc.get("deliveryId")
    event_type, invoice = doc.get("type"), doc.get("invoiceId")
    if not all(isinstance(v, str) and v for v in (delivery, original, event_type, invoice)):
        raise WebhookRejected("BTCPay event without deliveryId, type or invoiceId")
    created = doc.get("timestamp")
    # A redelivery carries a new deliveryId and the original's id: the original id is what is unique.
    return WebhookEvent("btcpay", f"{original}:{event_type}", str(event_type), str(invoice),
                        created if isinstance(created, int) else 0, redelivery=bool(doc.get("isRedelivery")))
