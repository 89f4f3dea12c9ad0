"""Every console route × every role × inside/outside the user's subtree gets exactly the allowed answer.

The routes come from the app's route table (anything declared with ``console_access``),
so a new page is covered the moment it exists. What each role may do is written out here
by hand, as the specification the code is checked against (not read from the code).

    head-office ─┬─ md-a ── dist-a ── loc-a      (the users below sit in this branch)
                 └─ md-b ── loc-b                 (outside, for everyone but head office)
"""

from __future__ import annotations

import time
from typing import Any

import pyotp
from sqlalchemy import text

from central_server.console.web import iter_routes, route_access
from tests.console.conftest import (
    PASSWORD,
    Central,
    add_nodes,
    add_staff,
    add_user,
    browser_for,
    enroll_device,
)

# What each role may do anywhere in its subtree: the specification.
SPEC: dict[str, set[str]] = {
    "head_office_admin": {"view", "nodes.manage", "users.manage", "credits.mint", "credits.sell", "credits.terms", "limits.edit",
                          "staff.manage", "devices.view", "devices.manage", "events.view", "events.ack", "audit.view", "reports.view",
                          "payments.view", "payments.review", "payments.refund", "payments.configure"},
    "distributor_admin": {"view", "nodes.manage", "users.manage", "credits.sell", "credits.terms", "limits.edit", "staff.manage",
                          "devices.view", "devices.manage", "events.view", "events.ack", "audit.view", "reports.view",
                          "payments.view", "payments.review", "payments.refund", "payments.configure"},
    "location_owner": {"view", "users.manage", "staff.manage", "devices.view", "devices.manage", "events.view", "events.ack",
                       "reports.view", "payments.view", "payments.review"},
    "technician": {"view", "devices.view", "devices.manage", "events.view"},
    "cashier": {"view"},
    "auditor": {"view", "devices.view", "events.view", "audit.view", "reports.view", "payments.view"},
}

# A parent sets these for a child: never on your own node (head office has no parent).
PARENT_ONLY = {"nodes.manage", "credits.terms", "limits.edit"}
USERS = {  # username: (role, node)
    "ho": ("head_office_admin", "head-office"),
    "da": ("distributor_admin", "md-a"),
    "lo": ("location_owner", "loc-a"),
    "cash": ("cashier", "loc-a"),
    "tech": ("technician", "loc-a"),
    "aud": ("auditor", "md-a"),
}
SESSION_ROUTES = ("/console/logout", "/console/logout-everywhere")  # end the session: run last


def _console_routes(app: Any) -> list[tuple[str, str, Any]]:
    found = []
    for route in iter_routes(app.routes):
        spec = route_access(route)
        if spec is None or spec.action is None:
            continue
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, route.path_format, spec))
    return found


def _expected(role: str, node: str, spec: Any, target: str | None, method: str) -> set[int]:
    ok = spec.action in SPEC[role]
    if target is not None:
        inside = target in SUBTREES[node]
        ok = ok and inside and not (spec.action in PARENT_ONLY and target == node and node != "head-office")
    if not ok:
        return {403}
    return {200, 303}  # a page, or a redirect after a form (or to a page's default view)


SUBTREES = {
    "head-office": {"head-office", "md-a", "dist-a", "loc-a", "md-b", "loc-b"},
    "md-a": {"md-a", "dist-a", "loc-a"},
    "loc-a": {"loc-a"},
}


def _world(central: Central) -> dict[str, dict[str, str]]:
    """Two branches with a device, a staff member, a cashier user and an event in each location."""
    add_nodes(central, ("md-a", "master_distributor", "head-office"), ("dist-a", "distributor", "md-a"),
              ("loc-a", "location", "dist-a"), ("md-b", "master_distributor", "head-office"), ("loc-b", "location", "md-b"))
    objects: dict[str, dict[str, str]] = {}
    for loc in ("loc-a", "loc-b"):
        device_id, _ = enroll_device(central, loc)
        user_id = add_user(central, f"target-{loc}", "cashier", loc)
        with central.engine.begin() as conn:
            event_id = conn.execute(text("INSERT INTO significant_events (kind, device_id, detail, created_at) "
                                         "VALUES ('test', :d, 'x', '2026-01-01T00:00:00Z') RETURNING id"), {"d": device_id}).scalar_one()
        objects[loc] = {"node_id": loc, "device_id": device_id, "staff_id": add_staff(central, loc, f"Staff {loc}"),
                        "user_id": str(user_id), "ref_id": str(event_id), "source": "event",
                        "payment_id": _held_payment(central, loc)}
    for username, (role, node) in USERS.items():
        add_user(central, username, role, node)
    return objects


def _held_payment(central: Central, location_id: str) -> str:
    """A payment row waiting for review (the matrix posts no note, so no decision ever goes through)."""
    from central_server.payments import repository as payments_repo
    from central_server.payments import service as payments
    from shared.ids import new_id

    player_id, payment_id, now = new_id(), new_id(), "2026-01-01T00:00:00.000000Z"
    with central.engine.begin() as conn:
        account_id = payments.add_account(conn, _keys(central).data_keys, node_id=location_id, provider="stripe",
                                          base_url="https://127.0.0.1:9", credentials={"secret_key": "sk", "webhook_secrets": ["w"]})
        conn.execute(text("INSERT INTO players (id, location_id, card_number, display_name, created_at) VALUES (:i, :l, :c, 'P', :t)"),
                     {"i": player_id, "l": location_id, "c": f"card-{location_id}", "t": now})
        payments_repo.insert_payment(conn, id=payment_id, idempotency_key=f"matrix-{location_id}", account_id=account_id,
                                     provider="stripe", provider_ref=None, player_id=player_id, location_id=location_id,
                                     amount_units=10_00, fiat_units=10_00, currency="USD", status="review",
                                     review_reasons='["test"]', created_by="test", created_at=now, updated_at=now, refunded_units=0)
    return payment_id


def _keys(central: Central) -> Any:
    from central_server.keys import load_keys

    return load_keys(central.data_dir)


def _routes(central: Central) -> list[tuple[str, str, Any]]:
    from central_server.app import create_app  # the same route table the server runs

    return _console_routes(create_app(central.engine, _keys(central)))


def test_every_route_every_role_inside_and_outside(central: Central) -> None:
    objects = _world(central)
    routes = _routes(central)
    assert len(routes) >= 30, routes
    mismatches: list[str] = []
    checked = 0
    for username, (role, node) in USERS.items():
        browser = browser_for(central)
        secret = browser.login(username, PASSWORD)
        placements = ["loc-a"] + ([] if node == "head-office" else ["loc-b"])
        for method, path, spec in routes:
            if path in SESSION_ROUTES:
                continue
            for placement in placements if spec.target else [None]:
                url = path.format(**objects[placement or "loc-a"])
                response = browser.get(url) if method == "GET" else browser.post(url, {})
                checked += 1
                want = _expected(role, node, spec, placement, method)
                if response.status_code == 303 and response.headers["location"].endswith("/console/login"):
                    mismatches.append(f"{username} ({role}) {method} {url}: sent to sign-in")
                elif response.status_code not in want:
                    mismatches.append(f"{username} ({role}) {method} {url}: {response.status_code}, expected {sorted(want)}")
        # The two routes that end sessions, last: each needs a session of its own.
        assert browser.post("/console/logout").status_code == 303
        assert browser.get("/console/").status_code == 303, "signed out: back to the sign-in page"
        again = browser_for(central)
        again.login(username, PASSWORD, totp_secret=secret, at_s=int(time.time()) + 30 if secret else None)
        assert again.post("/console/logout-everywhere").status_code == 303
        checked += 2
    assert not mismatches, "\n".join(mismatches)
    assert checked > 300


def test_anonymous_requests_are_sent_to_sign_in(central: Central) -> None:
    objects = {"node_id": "head-office", "device_id": "x", "staff_id": "x", "user_id": "1", "ref_id": "1", "source": "event",
               "payment_id": "x"}
    browser = browser_for(central)
    for method, path, _spec in _routes(central):
        url = path.format(**objects)
        response = browser.client.get(url) if method == "GET" else browser.client.post(url, data={})
        if method == "GET":
            assert response.status_code == 303 and response.headers["location"] == "/console/login", url
        else:
            assert response.status_code == 401, url


def test_totp_code_is_single_use(central: Central) -> None:
    add_nodes(central, ("md-x", "master_distributor", "head-office"))
    add_user(central, "da1", "distributor_admin", "md-x")
    t0 = int(time.time())
    first = browser_for(central)
    secret = first.login("da1", PASSWORD, at_s=t0)
    assert secret is not None
    second = browser_for(central)
    second.get("/console/login")
    assert second.post("/console/login", {"username": "da1", "password": PASSWORD}).status_code == 303
    second.get("/console/login/totp")
    reused = second.post("/console/login/totp", {"code": pyotp.TOTP(secret).at(t0)})
    assert reused.status_code == 401 and "Wrong code" in reused.text
