"""The console's Payments page: the review queue in the user's subtree, approve / reject with a note, refund.

Payments are made as a POS makes them (signed device API → the Stripe simulator → its signed
webhook), so a held payment has its real ledger postings; the decisions are made through
the page's forms over real HTTPS, and every check is on the ledger and the audit log.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from central_server.audit.service import verify
from central_server.console import access
from central_server.console.payments import short
from central_server.payments import rules
from tests.console.conftest import PASSWORD, Browser, Central, add_nodes, add_user, browser_for, flash
from tests.payments.conftest import Payments, payments  # noqa: F401 - fixture

PROVIDER_WAIT_S = 10


def _held(p: Payments, amount_units: int = 20_00) -> tuple[str, str]:
    """A new player's first top-up, paid and held for review: (payment id, player id)."""
    player = p.player(age_days=0)
    started = p.topup(player, amount_units)
    pi_id = next(pi for pi, intent in p.stripe.intents.items() if intent["metadata"]["payment_id"] == started["id"])
    outcome = p.stripe.deliver(p.stripe.succeed(pi_id)).answer["outcome"]
    assert outcome.startswith("held for review"), outcome
    return started["id"], player


def _credited(p: Payments, amount_units: int = 30_00) -> tuple[str, str]:
    player = p.player(age_days=30)
    started = p.topup(player, amount_units)
    pi_id = next(pi for pi, intent in p.stripe.intents.items() if intent["metadata"]["payment_id"] == started["id"])
    assert p.stripe.deliver(p.stripe.succeed(pi_id)).answer["outcome"] == "credited"
    return started["id"], player


def _owner(central: Central, username: str = "owner1", node: str = "loc-1") -> Browser:
    add_user(central, username, "location_owner", node)
    browser = browser_for(central)
    browser.login(username, PASSWORD)
    return browser


def _submit(browser: Browser, path: str, data: dict[str, str]) -> tuple[str, str] | None:
    response = browser.post(path, data)
    assert response.status_code == 303, response.text
    return flash(browser.get(response.headers["location"]).text)


def _status(central: Central, payment_id: str) -> str:
    return str(central.scalar("SELECT status FROM payments WHERE id = :i", i=payment_id))


def _audit(central: Central, action: str) -> list:
    return central.rows("SELECT actor, node_id, target, before, after FROM audit_log WHERE action = :a ORDER BY seq", a=action)


def _ledger_ok(central: Central) -> None:
    with central.engine.connect() as conn:
        report = verify(conn)
    assert report.ok, report.summary()


def test_the_queue_shows_a_held_payment_to_its_locations_owner_only(payments: Payments) -> None:  # noqa: F811
    central = payments.central
    add_nodes(central, ("loc-2", "location", "head-office"))
    payment_id, _ = _held(payments)
    card = central.scalar("SELECT card_number FROM players p JOIN payments y ON y.player_id = p.id WHERE y.id = :i", i=payment_id)
    owner = _owner(central)
    page = owner.get("/console/payments")
    assert page.status_code == 200
    queue = page.text.split('id="recent-payments"')[0]
    assert short(payment_id) in queue and card in queue and "20.00" in queue and "new player" in queue and "stripe" in queue
    assert f'action="/console/payments/{payment_id}/approve"' in queue
    assert 'href="/console/payments"' in page.text  # the nav entry

    other = _owner(central, "owner2", "loc-2")
    elsewhere = other.get("/console/payments")
    assert elsewhere.status_code == 200 and short(payment_id) not in elsewhere.text and "No payments are waiting" in elsewhere.text
    refused = other.post(f"/console/payments/{payment_id}/approve", {"note": "not mine"})
    assert refused.status_code == 403
    assert _status(central, payment_id) == "review" and payments.wallet(_held_player(central, payment_id)) == 0


def _held_player(central: Central, payment_id: str) -> str:
    return str(central.scalar("SELECT player_id FROM payments WHERE id = :i", i=payment_id))


def test_approve_needs_a_note_credits_the_wallet_once_and_is_audited(payments: Payments) -> None:  # noqa: F811
    central = payments.central
    payment_id, player = _held(payments, 20_00)
    owner = _owner(central)
    audit_rows = central.scalar("SELECT count(*) FROM audit_log")

    kind, message = _submit(owner, f"/console/payments/{payment_id}/approve", {"note": "   "}) or ("", "")
    assert kind == "error" and "note is required" in message and "Nothing was changed" in message
    assert _status(central, payment_id) == "review" and payments.wallet(player) == 0
    assert central.scalar("SELECT count(*) FROM audit_log") == audit_rows

    kind, message = _submit(owner, f"/console/payments/{payment_id}/approve", {"note": "ID checked at the counter"}) or ("", "")
    assert kind == "ok" and message.startswith(f"Approved payment {short(payment_id)}: 20.00 credits credited"), message
    assert payments.wallet(player) == 20_00 and central.balance(f"review:{payment_id}") == 0
    assert _status(central, payment_id) == "credited"
    row = central.rows("SELECT reviewed_by, review_note FROM payments WHERE id = :i", i=payment_id)[0]
    assert (row.reviewed_by, row.review_note) == ("owner1", "ID checked at the counter")
    [audit] = _audit(central, "payment_approved")
    assert (audit.actor, audit.node_id, audit.target) == ("owner1", "loc-1", f"payment {payment_id}")
    assert json.loads(audit.before)["status"] == "review" and json.loads(audit.before)["wallet_units"] == 0
    after = json.loads(audit.after)
    assert (after["status"], after["wallet_units"], after["note"]) == ("credited", 20_00, "ID checked at the counter")

    # A second approval (say, from a stale tab) is refused with a reason and changes nothing.
    kind, message = _submit(owner, f"/console/payments/{payment_id}/approve", {"note": "again"}) or ("", "")
    assert kind == "error" and "already approved (credited) by owner1" in message and "Nothing was changed" in message
    rejected_late = _submit(owner, f"/console/payments/{payment_id}/reject", {"note": "too late"})
    assert rejected_late is not None and rejected_late[0] == "error"
    assert payments.wallet(player) == 20_00
    assert len(_audit(central, "payment_approved")) == 1 and not _audit(central, "payment_rejected")
    releases = central.scalar("SELECT count(*) FROM ledger_transactions WHERE id = :t", t=f"payment:{payment_id}:release")
    assert releases == 1
    page = owner.get("/console/payments").text
    assert "No payments are waiting" in page and short(payment_id) in page.split('id="recent-payments"')[1]
    _ledger_ok(central)


def test_reject_returns_nothing_to_the_wallet_and_refunds_at_the_provider(payments: Payments) -> None:  # noqa: F811
    central = payments.central
    payment_id, player = _held(payments, 25_00)
    float_before = central.balance("float:loc-1")
    owner = _owner(central)
    kind, message = _submit(owner, f"/console/payments/{payment_id}/reject", {"note": "card reported stolen"}) or ("", "")
    assert kind == "ok" and message.startswith(f"Rejected payment {short(payment_id)}: nothing was credited"), message
    assert payments.wallet(player) == 0 and central.balance(f"review:{payment_id}") == 0
    assert central.balance("float:loc-1") == float_before + 25_00
    assert _status(central, payment_id) == "rejected"
    [audit] = _audit(central, "payment_rejected")
    assert audit.actor == "owner1" and json.loads(audit.after)["note"] == "card reported stolen"
    # The provider refund runs after the decision has committed, outside the request's transaction.
    pi_id = next(pi for pi, intent in payments.stripe.intents.items() if intent["metadata"]["payment_id"] == payment_id)
    deadline = time.monotonic() + PROVIDER_WAIT_S
    while payments.stripe.intents[pi_id]["latest_charge"]["amount_refunded"] != 25_00 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert payments.stripe.intents[pi_id]["latest_charge"]["amount_refunded"] == 25_00
    _ledger_ok(central)


def test_a_decision_without_its_csrf_token_is_refused(payments: Payments) -> None:  # noqa: F811
    central = payments.central
    payment_id, player = _held(payments)
    owner = _owner(central)
    missing = owner.post(f"/console/payments/{payment_id}/approve", {"note": "looks fine"}, csrf=False)
    forged = owner.client.post(f"/console/payments/{payment_id}/approve", data={"note": "looks fine", "csrf_token": "forged"})
    assert missing.status_code == 403 and forged.status_code == 403 and "security token" in missing.text
    assert _status(central, payment_id) == "review" and payments.wallet(player) == 0
    assert not _audit(central, "payment_approved")


def test_only_admins_refund_a_credited_payment_and_it_needs_a_note(payments: Payments) -> None:  # noqa: F811
    central = payments.central
    payment_id, player = _credited(payments, 30_00)
    owner = _owner(central)
    assert f"/console/payments/{payment_id}/refund" not in owner.get("/console/payments").text
    assert owner.post(f"/console/payments/{payment_id}/refund", {"note": "asked"}).status_code == 403
    assert payments.wallet(player) == 30_00

    admin = browser_for(central)
    admin.login("admin", "correct horse battery staple")
    assert f'action="/console/payments/{payment_id}/refund"' in admin.get("/console/payments").text
    kind, message = _submit(admin, f"/console/payments/{payment_id}/refund", {"note": ""}) or ("", "")
    assert kind == "error" and "note is required" in message and payments.wallet(player) == 30_00
    kind, message = _submit(admin, f"/console/payments/{payment_id}/refund", {"note": "player asked at the counter"}) or ("", "")
    assert kind == "ok" and message.startswith(f"Refunded payment {short(payment_id)}: 30.00 credits"), message
    assert payments.wallet(player) == 0 and _status(central, payment_id) == "refunded"
    [audit] = _audit(central, "payment_refunded")
    assert audit.actor == "admin" and json.loads(audit.before)["wallet_units"] == 30_00
    assert json.loads(audit.after)["wallet_units"] == 0
    again = _submit(admin, f"/console/payments/{payment_id}/refund", {"note": "twice"})
    assert again is not None and again[0] == "error" and "only a credited payment" in again[1]
    assert payments.wallet(player) == 0
    _ledger_ok(central)


def test_console_actions_agree_with_the_payment_rules() -> None:
    for role in access.ROLES:
        assert access.may(role, access.PAYMENTS_REVIEW) == rules.allowed(role, "review"), role
        assert access.may(role, access.PAYMENTS_REFUND) == rules.allowed(role, "refund"), role
        if access.may(role, access.PAYMENTS_REVIEW):
            assert access.may(role, access.PAYMENTS_VIEW), role


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # one database is enough for the browser
def test_an_owner_reviews_in_a_browser(payments: Payments, chromium: Any, artifacts: Path) -> None:  # noqa: F811
    central = payments.central
    out = artifacts / "console"
    out.mkdir(parents=True, exist_ok=True)
    first, _ = _held(payments, 20_00)
    second, second_player = _held(payments, 450_00)
    _credited(payments, 30_00)
    add_user(central, "owner1", "location_owner", "loc-1")
    context = chromium.new_context(ignore_https_errors=True, viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(f"{central.base_url}/console/login")
    page.fill("[name=username]", "owner1")
    page.fill("[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/console/$"))
    page.click(".nav a:has-text('Payments')")
    page.wait_for_url(re.compile(r"/console/payments$"))
    assert page.locator("#review-queue tbody tr").count() == 2
    page.screenshot(path=str(out / "08-payments-1366x768.png"))

    row = page.locator(f"#payment-{second}")
    row.locator("[name=note]").fill("Called the player; ID matches the card")
    page.evaluate("() => document.querySelectorAll('.flash').forEach(f => f.dataset.old = '1')")
    row.locator("button:has-text('Approve')").click()
    page.wait_for_selector(".flash:not([data-old])")
    assert page.locator(".flash").inner_text().startswith(f"Approved payment {short(second)}: 450.00 credits credited")
    assert payments.wallet(second_player) == 450_00
    assert page.locator("#review-queue tbody tr").count() == 1 and page.locator(f"#payment-{first}").count() == 1
    page.screenshot(path=str(out / "09-payments-approved-1366x768.png"))

    # Reject is the same form's second button (formaction), behind a confirmation.
    row = page.locator(f"#review-queue #payment-{first}")
    row.locator("[name=note]").fill("Player says it was not them")
    page.once("dialog", lambda dialog: dialog.accept())
    page.evaluate("() => document.querySelectorAll('.flash').forEach(f => f.dataset.old = '1')")
    row.locator("button:has-text('Reject')").click()
    page.wait_for_selector(".flash:not([data-old])")
    assert page.locator(".flash").inner_text().startswith(f"Rejected payment {short(first)}: nothing was credited")
    assert _status(central, first) == "rejected" and "No payments are waiting" in page.locator("#review-queue").inner_text()
    context.close()
