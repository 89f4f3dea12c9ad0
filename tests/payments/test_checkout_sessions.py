"""Card top-ups through Stripe Checkout Sessions (the hosted page a kiosk shows as a QR), end to end:
kiosk → central → the Stripe simulator's Checkout Sessions → signed webhooks → the wallet.

The same exactly-once machinery as PaymentIntents: an event only says "look again", central
re-reads the session (with its PaymentIntent) and moves credits by one guarded status change.
"""

from __future__ import annotations

import time

import httpx
import pytest

from central_server.audit.service import verify
from central_server.payments import service
from central_server.payments.providers import CHECKOUT_TTL_S
from tests.central.conftest import LOCATION, Device
from tests.payments.conftest import Payments


@pytest.fixture
def kiosk(payments: Payments) -> Device:
    """A kiosk of a location whose owner allows card and crypto self top-ups."""
    with payments.central.engine.begin() as conn:
        service.set_channel(conn, LOCATION, "kiosk", frozenset({"stripe", "btcpay"}))
    return payments.central.enroll("kiosk")


def assert_ledger_ok(p: Payments) -> None:
    with p.central.engine.connect() as conn:
        report = verify(conn)
    assert report.ok, report.summary()


def session_of(p: Payments, payment: dict) -> dict:
    return next(s for s in p.stripe.sessions.values() if s["client_reference_id"] == payment["id"])


def credit_transactions(p: Payments, payment_id: str) -> int:
    return int(p.central.scalar("SELECT count(*) FROM ledger_transactions WHERE id = :i", i=f"payment:{payment_id}:credit"))


def test_kiosk_card_topup_opens_a_checkout_session_and_is_credited_when_paid(payments: Payments, kiosk: Device) -> None:
    player = payments.player()
    started = payments.topup(player, 30_00, device=kiosk)
    session = session_of(payments, started)
    assert started["status"] == "pending" and started["checkout_url"] == session["url"]
    assert session["url"].startswith(payments.stripe.base_url + "/c/pay/cs_")
    form = payments.stripe.session_forms[session["id"]]
    assert form["mode"] == "payment" and form["line_items[0][price_data][unit_amount]"] == "3000"
    assert form["line_items[0][price_data][currency]"] == "usd" and form["line_items[0][quantity]"] == "1"
    assert form["metadata[payment_id]"] == started["id"] == form["payment_intent_data[metadata][payment_id]"]
    assert form["success_url"] == "https://luckystar.example/thanks"
    assert CHECKOUT_TTL_S - 60 <= int(form["expires_at"]) - time.time() <= CHECKOUT_TTL_S
    assert not payments.stripe.intents, "no PaymentIntent until the payer pays on the hosted page"

    # The phone opens the QR's link and pays there.
    page = httpx.get(started["checkout_url"])
    assert page.status_code == 200 and "30.00 USD" in page.text
    assert httpx.post(started["checkout_url"]).status_code == 200
    completed = payments.stripe.events[-1]
    assert completed["type"] == "checkout.session.completed"
    assert payments.stripe.deliver(completed).answer["outcome"] == "credited"
    shown = payments.status(started["id"])
    assert shown["status"] == "credited" and shown["wallet_units"] == 30_00
    assert_ledger_ok(payments)


def test_a_repeated_request_id_opens_one_session(payments: Payments, kiosk: Device) -> None:
    player = payments.player()
    first = payments.topup(player, 10_00, device=kiosk, request_id="k-1")
    again = payments.topup(player, 10_00, device=kiosk, request_id="k-1")
    assert first["id"] == again["id"] and first["checkout_url"] == again["checkout_url"]
    assert len(payments.stripe.sessions) == 1


def test_duplicate_and_out_of_order_session_events_credit_once(payments: Payments, kiosk: Device) -> None:
    player = payments.player()
    started = payments.topup(player, 40_00, device=kiosk)
    cs_id = session_of(payments, started)["id"]
    completed = payments.stripe.complete_session(cs_id)
    succeeded = payments.stripe.events[-2]  # payment_intent.succeeded, naming the session's PaymentIntent
    assert succeeded["type"] == "payment_intent.succeeded"
    expired_late = {**completed, "id": "evt_forged_order", "type": "checkout.session.expired"}  # an old-looking event
    outcomes = [payments.stripe.deliver(e).answer["outcome"] for e in (succeeded, completed, completed, expired_late, completed)]
    assert outcomes.count("credited") == 1, outcomes
    assert payments.wallet(player) == 40_00 and credit_transactions(payments, started["id"]) == 1
    assert payments.status(started["id"])["status"] == "credited"
    assert_ledger_ok(payments)


def test_completed_but_unpaid_waits_then_the_async_payment_credits_once(payments: Payments, kiosk: Device) -> None:
    player = payments.player()
    started = payments.topup(player, 25_00, device=kiosk)
    cs_id = session_of(payments, started)["id"]
    completed = payments.stripe.complete_session_async(cs_id)
    assert payments.stripe.deliver(completed).answer["outcome"].startswith("nothing to do")
    assert payments.wallet(player) == 0 and payments.status(started["id"])["status"] == "pending"
    succeeded = payments.stripe.async_succeed(cs_id)
    assert payments.stripe.deliver(succeeded).answer["outcome"] == "credited"
    assert payments.stripe.deliver(completed).answer["outcome"] != "credited"  # the older event, redelivered
    assert payments.wallet(player) == 25_00
    assert_ledger_ok(payments)


def test_async_payment_failure_credits_nothing(payments: Payments, kiosk: Device) -> None:
    player = payments.player()
    started = payments.topup(player, 25_00, device=kiosk)
    cs_id = session_of(payments, started)["id"]
    completed = payments.stripe.complete_session_async(cs_id)
    failed = payments.stripe.async_fail(cs_id)
    assert payments.stripe.deliver(failed).answer["outcome"] == "failed"
    assert payments.stripe.deliver(completed).answer["outcome"] != "credited"
    assert payments.status(started["id"])["status"] == "failed" and payments.wallet(player) == 0
    assert_ledger_ok(payments)


def test_an_expired_session_credits_nothing_and_cannot_be_paid_afterwards(payments: Payments, kiosk: Device) -> None:
    player = payments.player()
    started = payments.topup(player, 15_00, device=kiosk)
    cs_id = session_of(payments, started)["id"]
    expired = payments.stripe.expire_session(cs_id)
    assert payments.stripe.deliver(expired).answer["outcome"] == "expired"
    assert httpx.post(started["checkout_url"]).status_code == 410
    assert payments.stripe.deliver(expired).answer["outcome"].startswith("redelivery")
    assert payments.status(started["id"])["status"] == "expired" and payments.wallet(player) == 0
    assert_ledger_ok(payments)


def test_forged_and_stale_session_events_change_nothing_and_are_logged(payments: Payments, kiosk: Device) -> None:
    player = payments.player()
    started = payments.topup(player, 20_00, device=kiosk)
    completed = payments.stripe.complete_session(session_of(payments, started)["id"])
    forged = payments.stripe.deliver(completed, secret="whsec_attacker")
    stale = payments.stripe.deliver(completed, timestamp=int(time.time()) - 301)
    assert forged.status_code == 400 and "signature" in forged.answer["message"]
    assert stale.status_code == 400 and "tolerance" in stale.answer["message"]
    assert payments.wallet(player) == 0
    logged = payments.central.rows("SELECT detail FROM significant_events WHERE kind = 'webhook_rejected'")
    assert len(logged) == 2
    assert payments.stripe.deliver(completed).answer["outcome"] == "credited"


def test_a_refund_of_a_session_payment_reaches_its_payment_intent_and_its_event_is_recognised(
    payments: Payments, kiosk: Device,
) -> None:
    player = payments.player()
    started = payments.topup(player, 50_00, device=kiosk)
    cs_id = session_of(payments, started)["id"]
    payments.stripe.deliver(payments.stripe.complete_session(cs_id))
    pi_id = payments.stripe.sessions[cs_id]["payment_intent"]
    refunded = service.refund(payments.central.engine, payments.keys, payment_id=started["id"], actor="ho-admin",
                              role="head_office_admin")
    assert refunded.status == "refunded" and payments.wallet(player) == 0
    assert payments.stripe.intents[pi_id]["latest_charge"]["amount_refunded"] == 50_00
    charge_refunded = payments.stripe.events[-1]
    assert charge_refunded["type"] == "charge.refunded"
    assert payments.stripe.deliver(charge_refunded).answer["outcome"] == "nothing to do (refunded)"
    assert_ledger_ok(payments)


def test_a_chargeback_on_a_session_payment_is_found_by_its_payment_intent(payments: Payments, kiosk: Device) -> None:
    player = payments.player()
    started = payments.topup(player, 35_00, device=kiosk)
    cs_id = session_of(payments, started)["id"]
    payments.stripe.deliver(payments.stripe.complete_session(cs_id))
    dispute = payments.stripe.dispute(payments.stripe.sessions[cs_id]["payment_intent"])
    assert payments.stripe.deliver(dispute).answer["outcome"] == "reversed"
    assert payments.status(started["id"])["status"] == "refunded" and payments.wallet(player) == 0
    assert_ledger_ok(payments)


def test_a_stripe_account_without_a_return_url_cannot_open_a_session(payments: Payments, kiosk: Device) -> None:
    with payments.central.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE payment_accounts SET active = false")
        service.add_account(conn, payments.keys, node_id=LOCATION, provider="stripe", base_url=payments.stripe.base_url,
                            credentials={"secret_key": payments.stripe.secret_key, "webhook_secrets": ["whsec_x"]})
    refused = payments.ask(payments.player(), 10_00, device=kiosk)
    assert refused.status_code == 502 and "return_url" in refused.json()["message"]
    assert not payments.stripe.sessions
