"""The payment rules alone: when a confirmed payment waits for a person, and what each state allows."""

from __future__ import annotations

import pytest

from central_server.payments import rules
from central_server.payments.webhooks import (
    WebhookRejected,
    btcpay_signature_header,
    parse_btcpay_event,
    stripe_signature_header,
    verify_btcpay,
    verify_stripe,
)

SAFE = rules.RiskFacts(amount_units=20_00, review_threshold_units=200_00, player_age_s=90 * 86400, prior_credited=3,
                       recent_count_1h=1, distinct_cards_24h=1)


@pytest.mark.parametrize(("change", "reason"), [
    ({"amount_units": 200_01}, "threshold"),
    ({"prior_credited": 0, "player_age_s": 3600}, "new player"),
    ({"recent_count_1h": 6}, "velocity"),
    ({"distinct_cards_24h": 4}, "different cards"),
])
def test_each_risk_rule_holds_a_payment_for_review(change: dict, reason: str) -> None:
    assert rules.review_reasons(SAFE) == []
    facts = rules.RiskFacts(**{**SAFE.__dict__, **change})
    reasons = rules.review_reasons(facts)
    assert len(reasons) == 1 and reason in reasons[0]
    assert rules.decide("pending", rules.ProviderState("paid"), reasons)[0] == "hold"


def test_only_a_pending_payment_can_be_credited_and_only_credited_or_held_reversed() -> None:
    paid = rules.ProviderState("paid")
    assert rules.decide("pending", paid, []) == ("credit", [])
    for status in ("credited", "review", "rejected", "refunded", "failed", "expired", "partial"):
        assert rules.decide(status, paid, [])[0] == "none"
    refunded = rules.ProviderState("paid", refunded_fiat_units=5)
    assert rules.decide("credited", refunded, [])[0] == "reverse"
    assert rules.decide("review", rules.ProviderState("paid", disputed=True), [])[0] == "reverse"
    assert rules.decide("refunded", refunded, [])[0] == "none"


def test_permissions_deny_by_default() -> None:
    assert rules.allowed("location_owner", "review") and not rules.allowed("cashier", "review")
    assert rules.allowed("head_office_admin", "refund") and not rules.allowed("location_owner", "refund")
    assert not rules.allowed("auditor", "create") and not rules.allowed("anyone", "unknown-action")


def test_stripe_signature_tolerance_is_both_ways() -> None:
    body = b'{"id": "evt_1"}'
    assert verify_stripe(stripe_signature_header("s", body, 1000), body, ["s"], now_s=1300) == 1000
    for now in (1301, 699):
        with pytest.raises(WebhookRejected, match="tolerance"):
            verify_stripe(stripe_signature_header("s", body, 1000), body, ["s"], now_s=now)
    with pytest.raises(WebhookRejected, match="no timestamp"):
        verify_stripe("v1=abc", body, ["s"], now_s=1000)


def test_btcpay_signature_and_redelivery_identity() -> None:
    body = b'{"deliveryId": "d2", "originalDeliveryId": "d1", "isRedelivery": true, "type": "InvoiceSettled", "invoiceId": "i"}'
    verify_btcpay(btcpay_signature_header("s", body), body, ["old", "s"])
    with pytest.raises(WebhookRejected):
        verify_btcpay(btcpay_signature_header("s", body), body + b" ", ["s"])
    event = parse_btcpay_event(body)
    assert event.redelivery and event.event_id.startswith("d1:")
