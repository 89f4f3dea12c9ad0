"""Credits down the tree, the credit line, CSRF, lockout, and the audit log's guarantees (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from central_server.audit.service import verify
from tests.console.conftest import (
    ADMIN_PASSWORD,
    PASSWORD,
    Central,
    add_nodes,
    add_user,
    browser_for,
    flash,
    set_line,
)


def _admin(central: Central):
    browser = browser_for(central)
    browser.login("admin", ADMIN_PASSWORD)
    return browser


def _state(central: Central) -> tuple:
    return (central.balance("float:head-office"), central.balance("float:md-1"), central.balance("receivable:md-1", "USD"),
            central.scalar("SELECT count(*) FROM ledger_transactions"), central.scalar("SELECT count(*) FROM audit_log"))


def test_mint_and_sell_down_the_tree_and_a_credit_line_that_would_be_exceeded(central: Central) -> None:
    add_nodes(central, ("md-1", "master_distributor", "head-office"))
    admin = _admin(central)
    admin.post("/console/nodes/head-office/issuance-limit", {"limit": "10000"})
    refused = admin.get(admin.post("/console/nodes/head-office/mint", {"amount": "10000.01", "reason": "too much"}).headers["location"])
    assert flash(refused.text)[0] == "error" and "issuance limit" in flash(refused.text)[1]
    admin.post("/console/nodes/head-office/mint", {"amount": "10000", "reason": "first issue"})
    set_line(central, "md-1", 100_000)  # 1,000.00 USD
    page = admin.get(admin.post("/console/nodes/head-office/sell",
                                {"to_node_id": "md-1", "amount": "1000", "price_per_credit": "0.90"}).headers["location"])
    assert flash(page.text) == ("ok", "Sold 1000.00 credits to md-1 at 0.90 USD per credit.")
    before = _state(central)
    assert before[:3] == (9_000_00, 1_000_00, 900_00)

    # 200 credits at 0.90 = 180.00 USD; 900.00 owed + 180.00 > 1,000.00 line
    page = admin.get(admin.post("/console/nodes/head-office/sell",
                                {"to_node_id": "md-1", "amount": "200", "price_per_credit": "0.90"}).headers["location"])
    kind, message = flash(page.text)
    assert kind == "error"
    assert "credit line is 1000.00 USD (100.00 USD available)" in message and "Nothing was changed" in message
    assert _state(central) == before  # balances, transactions and the audit log untouched

    with central.engine.begin() as conn:
        report = verify(conn)
    assert report.ok, report.summary()
    # the facts went through the ledger as the shared bodies' postings
    kinds = [r.kind for r in central.rows("SELECT kind FROM ledger_transactions ORDER BY created_at")]
    assert kinds == ["mint", "wholesale_transfer"]


def test_a_form_without_its_csrf_token_is_refused(central: Central) -> None:
    admin = _admin(central)
    before = central.scalar("SELECT count(*) FROM nodes")
    missing = admin.post("/console/nodes/head-office/children", {"kind": "location", "name": "X", "child_id": "x"}, csrf=False)
    wrong = admin.client.post("/console/nodes/head-office/children", data={"csrf_token": "forged", "kind": "location", "name": "X",
                                                                          "child_id": "x"})
    assert missing.status_code == 403 and wrong.status_code == 403
    assert "security token" in missing.text
    assert central.scalar("SELECT count(*) FROM nodes") == before
    anonymous = browser_for(central)
    assert anonymous.client.post("/console/login", data={"username": "admin", "password": ADMIN_PASSWORD}).status_code == 403


def test_repeated_failures_lock_the_account_and_raise_an_event(central: Central) -> None:
    add_user(central, "owner", "location_owner", "loc-1")
    browser = browser_for(central)
    browser.get("/console/login")
    for _ in range(5):
        answer = browser.post("/console/login", {"username": "owner", "password": "wrong password!"})
        assert answer.status_code == 401
    assert "locked" in answer.text
    locked = browser.post("/console/login", {"username": "owner", "password": PASSWORD})
    assert locked.status_code == 401 and "locked" in locked.text  # even the right password, until it expires
    assert central.scalar("SELECT count(*) FROM significant_events WHERE kind = 'login_lockout'") == 1
    assert central.scalar("SELECT count(*) FROM login_attempts WHERE username = 'owner' AND ip = '127.0.0.1'") == 6


def test_sign_out_everywhere_ends_every_session(central: Central) -> None:
    add_user(central, "owner", "location_owner", "loc-1")
    first, second = browser_for(central), browser_for(central)
    first.login("owner", PASSWORD)
    second.login("owner", PASSWORD)
    assert second.get("/console/").status_code == 200
    assert first.post("/console/logout-everywhere").status_code == 303
    assert second.get("/console/").status_code == 303  # back to sign-in
    cookie = first.client.cookies.jar
    assert all(c.secure and c.has_nonstandard_attr("HttpOnly") for c in cookie if c.name == "cafe_console")


def test_audit_log_is_append_only_and_verify_catches_tampering(central: Central) -> None:
    admin = _admin(central)
    admin.post("/console/nodes/loc-1/limits", {"name": "shift_limit_units", "value": "1500.00"})
    row = central.rows("SELECT action, before, after, ip, actor FROM audit_log WHERE action = 'limit_set'")[0]
    assert row.after == '{"shift_limit_units":150000}' and row.before == '{"shift_limit_units":20000000}'
    assert (row.ip, row.actor) == ("127.0.0.1", "admin")
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), central.engine.begin() as conn:
            conn.execute(text(statement))
    csv_text = admin.get("/console/audit.csv").text
    assert csv_text.splitlines()[0].startswith("seq,at,actor") and "limit_set" in csv_text

    # Someone with DDL rights drops the trigger and rewrites a row: verify notices.
    with central.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("UPDATE audit_log SET after = :after WHERE action = 'limit_set'"), {"after": '{"shift_limit_units":1}'})
    with central.engine.begin() as conn:
        report = verify(conn)
    assert not report.ok and any("audit log" in p and "hash does not match" in p for p in report.problems)


def test_a_payment_received_frees_the_credit_line_and_never_exceeds_what_is_owed(central: Central) -> None:
    add_nodes(central, ("md-1", "master_distributor", "head-office"))
    admin = _admin(central)
    admin.post("/console/nodes/head-office/issuance-limit", {"limit": "10000"})
    admin.post("/console/nodes/head-office/mint", {"amount": "10000", "reason": "first issue"})
    set_line(central, "md-1", 100_000)  # 1,000.00 USD
    admin.post("/console/nodes/head-office/sell", {"to_node_id": "md-1", "amount": "1000", "price_per_credit": "0.90"})
    sell_more = {"to_node_id": "md-1", "amount": "200", "price_per_credit": "0.90"}  # 180.00 USD: over the line while 900 is owed
    assert flash(admin.get(admin.post("/console/nodes/head-office/sell", sell_more).headers["location"]).text)[0] == "error"
    page = admin.get("/console/nodes/md-1")
    assert "Owes 900.00 USD; 100.00 USD of the line is free." in " ".join(page.text.split())

    too_much = admin.get(admin.post("/console/nodes/md-1/payment-received",
                                    {"amount": "900.01", "reference": "wire 1"}).headers["location"])
    assert flash(too_much.text)[0] == "error" and "owes 900.00 USD, less than the 900.01 USD recorded" in flash(too_much.text)[1]
    no_reference = admin.get(admin.post("/console/nodes/md-1/payment-received", {"amount": "10", "reference": " "}).headers["location"])
    assert flash(no_reference.text)[0] == "error" and "reference" in flash(no_reference.text)[1]
    assert central.balance("receivable:md-1", "USD") == 900_00

    paid = admin.get(admin.post("/console/nodes/md-1/payment-received",
                                {"amount": "500.00", "reference": "Bank transfer 2026-12-01"}).headers["location"])
    assert flash(paid.text) == ("ok", "Recorded 500.00 USD received from Md 1; its credit line is free by as much again.")
    assert (central.balance("receivable:md-1", "USD"), central.balance("bank:head-office", "USD")) == (400_00, 500_00)
    assert flash(admin.get(admin.post("/console/nodes/head-office/sell", sell_more).headers["location"]).text)[0] == "ok"
    assert central.balance("receivable:md-1", "USD") == 580_00

    audit = central.rows("SELECT action, node_id FROM audit_log WHERE action = 'wholesale_payment'")
    assert audit == [("wholesale_payment", "md-1")]
    kinds = [r.kind for r in central.rows("SELECT kind FROM ledger_transactions ORDER BY created_at")]
    assert kinds == ["mint", "wholesale_transfer", "wholesale_payment", "wholesale_transfer"]
    with central.engine.begin() as conn:
        report = verify(conn)
    assert report.ok, report.summary()
