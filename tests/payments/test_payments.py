"""Online top-ups end to end: POS → central → provider simulator → signed webhooks → the wallet.

Every case checks what a cashier or a player would notice (the wallet, the payment's
status) and that the ledger still verifies.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central_server.audit.service import verify
from central_server.payments import service
from shared.protocol import PAYMENTS_PATH
from tests.payments.conftest import Payments


def assert_ledger_ok(p: Payments) -> None:
    with p.central.engine.connect() as conn:
        report = verify(conn)
    assert report.ok, report.summary()


def exceptions(p: Payments, rule: str) -> list:
    return p.central.rows("SELECT detail FROM ledger_exceptions WHERE rule = :r", r=rule)


def test_card_topup_is_credited_once_when_the_provider_confirms(payments: Payments) -> None:
    player = payments.player()
    started = payments.topup(player, 50_00)
    assert started["status"] == "pending" and payments.wallet(player) == 0
    pi = payments.stripe.intents[next(iter(payments.stripe.intents))]
    assert pi["amount"] == 50_00 and pi["metadata"]["payment_id"] == started["id"]
    delivery = payments.stripe.deliver(payments.stripe.succeed(pi["id"]))
    assert delivery.status_code == 200 and delivery.answer["outcome"] == "credited"
    shown = payments.status(started["id"])
    assert shown["status"] == "credited" and shown["wallet_units"] == 50_00
    assert_ledger_ok(payments)


def test_same_request_id_returns_the_same_payment_and_opens_one_intent(payments: Payments) -> None:
    player = payments.player()
    first = payments.topup(player, 20_00, request_id="req-1")
    again = payments.topup(player, 20_00, request_id="req-1")
    assert first["id"] == again["id"] and len(payments.stripe.intents) == 1
    other = payments.ask(player, 30_00, request_id="req-1")
    assert other.status_code == 409


def test_duplicate_and_out_of_order_deliveries_credit_once(payments: Payments) -> None:
    player = payments.player()
    started = payments.topup(player, 40_00)
    created = payments.stripe.events[0]
    pi_id = created["data"]["object"]["id"]
    succeeded = payments.stripe.succeed(pi_id)
    outcomes = [payments.stripe.deliver(e).answer["outcome"] for e in (succeeded, created, succeeded, succeeded, created)]
    assert outcomes[0] == "credited"
    assert all(o != "credited" for o in outcomes[1:]), outcomes
    assert payments.wallet(player) == 40_00 and payments.status(started["id"])["status"] == "credited"
    assert_ledger_ok(payments)


def test_forged_stale_and_unsigned_webhooks_change_nothing_and_are_logged(payments: Payments) -> None:
    player = payments.player()
    payments.topup(player, 30_00)
    pi_id = payments.stripe.events[0]["data"]["object"]["id"]
    succeeded = payments.stripe.succeed(pi_id)
    forged = payments.stripe.deliver(succeeded, secret="whsec_attacker")
    stale = payments.stripe.deliver(succeeded, timestamp=int(time.time()) - 301)
    assert forged.status_code == 400 and "signature" in forged.answer["message"]
    assert stale.status_code == 400 and "tolerance" in stale.answer["message"]
    assert payments.wallet(player) == 0
    logged = payments.central.rows("SELECT detail FROM significant_events WHERE kind = 'webhook_rejected'")
    assert len(logged) == 2
    # the genuine delivery still works afterwards
    assert payments.stripe.deliver(succeeded).answer["outcome"] == "credited"
    assert payments.wallet(player) == 30_00


def test_secret_rotation_accepts_any_current_v1_signature(payments: Payments) -> None:
    player = payments.player()
    payments.topup(player, 10_00)
    pi_id = payments.stripe.events[0]["data"]["object"]["id"]
    event = payments.stripe.succeed(pi_id)
    raw = json.dumps(event).encode()
    from central_server.payments.webhooks import stripe_signature_header

    now = int(time.time())
    old = stripe_signature_header("whsec_old_rotated_out", raw, now)
    new = stripe_signature_header(payments.stripe.webhook_secret, raw, now).split(",")[1]
    response = payments.central.client.post(payments.stripe.webhook_url, content=raw,
                                            headers={"Stripe-Signature": f"{old},{new}", "content-type": "application/json"})
    assert response.status_code == 200 and response.json()["outcome"] == "credited"


def test_crypto_credit_waits_for_settlement_and_redelivery_is_recognised(payments: Payments) -> None:
    player = payments.player()
    started = payments.topup(player, 25_00, provider="btcpay")
    assert started["checkout_url"].startswith(payments.btcpay.base_url)
    inv_id = next(iter(payments.btcpay.invoices))
    assert payments.btcpay.invoices[inv_id]["amount"] == "25.00"
    seen = payments.btcpay.pay(inv_id)
    assert payments.btcpay.deliver(seen).answer["outcome"].startswith("nothing to do")
    assert payments.wallet(player) == 0  # in the mempool is not settled
    settled = payments.btcpay.settle(inv_id)
    assert payments.btcpay.deliver(settled).answer["outcome"] == "credited"
    again = payments.btcpay.deliver(payments.btcpay.redelivery(settled)).answer["outcome"]
    assert again.startswith("redelivery")
    assert payments.wallet(player) == 25_00
    assert_ledger_ok(payments)


@pytest.mark.parametrize(("additional", "expired", "status"), [
    ("PaidLate", True, "review"),
    ("PaidPartial", True, "partial"),
    ("PaidOver", False, "review"),
])
def test_crypto_paid_late_partially_or_over_is_not_credited_automatically(
    payments: Payments, additional: str, expired: bool, status: str,
) -> None:
    player = payments.player()
    started = payments.topup(player, 15_00, provider="btcpay")
    inv_id = next(iter(payments.btcpay.invoices))
    event = payments.btcpay.expire(inv_id, additional) if expired else payments.btcpay.settle(inv_id, additional)
    payments.btcpay.deliver(event)
    assert payments.status(started["id"])["status"] == status
    assert payments.wallet(player) == 0
    if status == "partial":
        assert exceptions(payments, "payment_partial")
    else:
        assert payments.central.balance(f"review:{started['id']}") == 15_00
    assert_ledger_ok(payments)


def test_new_player_and_large_payments_wait_for_review_then_approve_credits(payments: Payments) -> None:
    newcomer = payments.player(age_days=0)
    started = payments.topup(newcomer, 20_00)
    pi_id = payments.stripe.events[0]["data"]["object"]["id"]
    outcome = payments.stripe.deliver(payments.stripe.succeed(pi_id)).answer["outcome"]
    assert outcome.startswith("held for review") and "new player" in outcome
    assert payments.wallet(newcomer) == 0
    with payments.central.engine.connect() as conn:
        queue = service.review_queue(conn)
    assert [q.id for q in queue] == [started["id"]]
    with pytest.raises(service.Forbidden):
        service.review(payments.central.engine, payments.keys, payment_id=started["id"], decision="approve",
                       reviewer="c1", role="cashier", note="ok")
    approved = service.review(payments.central.engine, payments.keys, payment_id=started["id"], decision="approve",
                              reviewer="owner-1", role="location_owner", note="ID checked at the counter")
    assert approved.status == "credited" and payments.wallet(newcomer) == 20_00
    with pytest.raises(service.Conflict):  # a second approval finds nothing to approve
        service.review(payments.central.engine, payments.keys, payment_id=started["id"], decision="approve",
                       reviewer="owner-1", role="location_owner", note="again")
    assert payments.wallet(newcomer) == 20_00
    assert_ledger_ok(payments)


def test_velocity_and_many_cards_are_counted_from_the_players_payments(payments: Payments) -> None:
    """The rules count what the database holds: payments started in the last hour, cards used in a day."""
    from central_server.payments.rules import MAX_CARDS_PER_DAY, VELOCITY_PER_HOUR

    def pay(player: str, card: str) -> str:
        started = payments.topup(player, 10_00)
        pi_id = payments.stripe.events[-1]["data"]["object"]["id"]
        assert pi_id == next(i for i, pi in payments.stripe.intents.items() if pi["metadata"]["payment_id"] == started["id"])
        return str(payments.stripe.deliver(payments.stripe.succeed(pi_id, card_fingerprint=card)).answer["outcome"])

    regular = payments.player()
    outcomes = [pay(regular, "fp_same") for _ in range(VELOCITY_PER_HOUR)]
    assert outcomes == ["credited"] * VELOCITY_PER_HOUR and payments.wallet(regular) == VELOCITY_PER_HOUR * 10_00
    held = pay(regular, "fp_same")
    assert held.startswith("held for review") and f"velocity: {VELOCITY_PER_HOUR + 1} payments in an hour" in held
    assert payments.wallet(regular) == VELOCITY_PER_HOUR * 10_00

    card_hopper = payments.player()
    outcomes = [pay(card_hopper, f"fp_{n}") for n in range(MAX_CARDS_PER_DAY)]
    assert outcomes == ["credited"] * MAX_CARDS_PER_DAY
    held = pay(card_hopper, "fp_one_too_many")
    assert held.startswith("held for review") and f"{MAX_CARDS_PER_DAY + 1} different cards in a day" in held
    assert "velocity" not in held and payments.wallet(card_hopper) == MAX_CARDS_PER_DAY * 10_00
    assert_ledger_ok(payments)


def test_rejected_review_returns_the_credits_and_refunds_at_the_provider(payments: Payments) -> None:
    player = payments.player()
    started = payments.topup(player, 400_00)  # above the default review threshold
    pi_id = payments.stripe.events[0]["data"]["object"]["id"]
    payments.stripe.deliver(payments.stripe.succeed(pi_id))
    assert payments.status(started["id"])["status"] == "review"
    rejected = service.review(payments.central.engine, payments.keys, payment_id=started["id"], decision="reject",
                              reviewer="owner-1", role="location_owner", note="card reported stolen")
    assert rejected.status == "rejected" and payments.wallet(player) == 0
    assert payments.stripe.intents[pi_id]["latest_charge"]["amount_refunded"] == 400_00
    assert payments.central.balance(f"review:{started['id']}") == 0
    assert_ledger_ok(payments)


def test_refund_after_play_is_compensated_and_raises_an_exception(payments: Payments) -> None:
    player = payments.player()
    started = payments.topup(player, 60_00)
    pi_id = payments.stripe.events[0]["data"]["object"]["id"]
    payments.stripe.deliver(payments.stripe.succeed(pi_id))
    assert payments.wallet(player) == 60_00
    kiosk = payments.central.enroll("kiosk")
    played = kiosk.request("POST", "/api/v1/sessions/checkout", {"request_id": "co-1", "session_id": "sess-1",
                                                                "player_id": player, "amount_units": 45_00})
    assert played.status_code == 200, played.text
    refunded = service.refund(payments.central.engine, payments.keys, payment_id=started["id"], actor="ho-admin",
                              role="head_office_admin")
    assert refunded.status == "refunded"
    assert payments.wallet(player) == 15_00 - 60_00
    assert exceptions(payments, "refund_after_play")
    assert payments.stripe.intents[pi_id]["latest_charge"]["refunded"] is True
    # the provider's own charge.refunded event afterwards changes nothing more
    assert payments.stripe.deliver(payments.stripe.events[-1]).status_code == 200
    assert payments.wallet(player) == 15_00 - 60_00 and payments.status(started["id"])["status"] == "refunded"
    assert_ledger_ok(payments)  # a negative wallet that is recorded as an exception is a known fact, not corruption


def test_chargeback_reverses_a_credited_payment(payments: Payments) -> None:
    player = payments.player()
    started = payments.topup(player, 35_00)
    pi_id = payments.stripe.events[0]["data"]["object"]["id"]
    payments.stripe.deliver(payments.stripe.succeed(pi_id))
    assert payments.stripe.deliver(payments.stripe.dispute(pi_id)).answer["outcome"] == "reversed"
    assert payments.status(started["id"])["status"] == "refunded" and payments.wallet(player) == 0
    assert_ledger_ok(payments)


def test_device_long_poll_returns_as_soon_as_the_payment_is_credited(payments: Payments) -> None:
    player = payments.player()
    started = payments.topup(player, 12_00)
    pi_id = payments.stripe.events[0]["data"]["object"]["id"]
    threading.Timer(0.5, lambda: payments.stripe.deliver(payments.stripe.succeed(pi_id))).start()
    begun = time.monotonic()
    response = payments.pos.request("GET", f"{PAYMENTS_PATH}/{started['id']}?wait_s=10&known=pending")
    waited = time.monotonic() - begun
    assert response.status_code == 200 and response.json()["status"] == "credited"
    assert response.json()["wallet_units"] == 12_00
    assert waited < 5, "the long poll answers when the status changes, not at its deadline"


def test_bad_requests_are_clear_4xx(payments: Payments) -> None:
    player = payments.player()
    assert payments.pos.request("POST", PAYMENTS_PATH, {"request_id": "x", "player_id": player, "amount_units": -5,
                                                        "provider": "stripe"}).status_code == 422
    unknown = payments.ask("nobody", 5_00, request_id="y")
    assert unknown.status_code == 404
    garbage = payments.central.client.post(payments.stripe.webhook_url, content=b"not json",
                                           headers={"Stripe-Signature": "t=1,v1=00"})
    assert garbage.status_code == 400
    assert payments.central.client.post(f"{payments.stripe.webhook_url}-nope", content=b"{}").status_code == 404




@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.sampled_from(["created", "succeeded", "redeliver", "confirm"]), max_size=8))
def test_any_delivery_sequence_credits_at_most_once_and_exactly_once_when_confirmed(payments: Payments, steps: list[str]) -> None:
    """The payer confirms at any point (or never); deliveries of any events come before and after, repeated."""
    player = payments.player()
    started = payments.topup(player, 5_00)
    pi_id = payments.stripe.idempotent[started["id"]]
    created = next(e for e in payments.stripe.events if e["data"]["object"].get("id") == pi_id)
    succeeded: dict | None = None
    delivered_after_confirmation = False
    last: dict | None = None
    for step in steps:
        if step == "confirm" and succeeded is None:
            succeeded = payments.stripe.succeed(pi_id)
            continue
        event = {"created": created, "succeeded": succeeded, "redeliver": last}.get(step)
        if event is None:
            continue
        payments.stripe.deliver(event)
        last = event
        delivered_after_confirmation = delivered_after_confirmation or succeeded is not None
        assert payments.wallet(player) in (0, 5_00)
    assert payments.wallet(player) == (5_00 if delivered_after_confirmation else 0)
    service.refresh(payments.central.engine, payments.keys, started["id"])  # a device asking, or a missed webhook
    assert payments.wallet(player) == (5_00 if succeeded is not None else 0)
    assert payments.status(started["id"])["status"] == ("credited" if succeeded is not None else "pending")
