"""What the user-management forms and the review notes do, seen through the console (SQLite and PostgreSQL).

The access matrix checks who may post each form; these check what the post changes (and,
when refused, that it changes nothing), from the admin's page down to the next sign-in.
"""

from __future__ import annotations

import html
import re

from sqlalchemy import text

from tests.console.conftest import (
    ADMIN_PASSWORD,
    PASSWORD,
    Browser,
    Central,
    add_user,
    browser_for,
    enroll_device,
    flash,
)

NEW_PASSWORD_RE = re.compile(r'id="new-password-value">([^<]+)<')


def _signed_in(central: Central, username: str, password: str = PASSWORD) -> Browser:
    browser = browser_for(central)
    browser.login(username, password)
    return browser


def _sign_in_answer(central: Central, username: str, password: str) -> int:
    """The status of a password sign-in: 303 into the console, 401 refused."""
    browser = browser_for(central)
    browser.get("/console/login")
    return browser.post("/console/login", {"username": username, "password": password}).status_code


def _user(central: Central, username: str) -> object:
    return central.rows("SELECT * FROM admin_users WHERE username = :u", u=username)[0]


def _audit(central: Central, action: str) -> list:
    return central.rows("SELECT actor, target, node_id, before, after FROM audit_log WHERE action = :a ORDER BY seq", a=action)


def _flash_after(browser: Browser, response) -> tuple[str, str] | None:
    assert response.status_code == 303, response.text
    shown = flash(browser.get(response.headers["location"]).text)
    return (shown[0], html.unescape(shown[1])) if shown else None


def _lock(central: Central, username: str) -> None:
    browser = browser_for(central)
    browser.get("/console/login")
    for _ in range(5):
        browser.post("/console/login", {"username": username, "password": "not the password!"})
    assert _sign_in_answer(central, username, PASSWORD) == 401


def test_a_user_created_through_the_form_can_sign_in(central: Central) -> None:
    add_user(central, "owner", "location_owner", "loc-1")
    owner = _signed_in(central, "owner")
    page = owner.get("/console/nodes/loc-1")
    assert 'action="/console/nodes/loc-1/users"' in page.text
    answer = owner.post("/console/nodes/loc-1/users", {"username": "newcash", "display_name": "New  Cashier", "role": "cashier",
                                                       "password": "a fresh password 42"})
    assert _flash_after(owner, answer) == ("ok", "User newcash created.")
    row = _user(central, "newcash")
    assert (row.role, row.node_id, row.display_name, row.active) == ("cashier", "loc-1", "New Cashier", True)
    assert _audit(central, "user_created")[-1].actor == "owner"
    newcash = _signed_in(central, "newcash", "a fresh password 42")
    assert newcash.get("/console/").status_code == 200

    # A role the owner may not grant: refused with the rule, nobody created.
    answer = owner.post("/console/nodes/loc-1/users", {"username": "boss", "display_name": "", "role": "location_owner",
                                                       "password": "a fresh password 42"})
    kind, message = _flash_after(owner, answer)
    assert kind == "error" and "you cannot give the role 'location_owner' at a location" in message
    assert central.scalar("SELECT count(*) FROM admin_users WHERE username = 'boss'") == 0


def test_edit_name_and_role_and_an_escalation_that_is_refused(central: Central) -> None:
    add_user(central, "owner", "location_owner", "loc-1")
    staff_id = add_user(central, "staff1", "cashier", "loc-1")
    owner = _signed_in(central, "owner")
    staff = _signed_in(central, "staff1")

    answer = owner.post(f"/console/users/{staff_id}/name", {"display_name": "  Sam   Staff "})
    assert _flash_after(owner, answer) == ("ok", "Display name changed.")
    assert _user(central, "staff1").display_name == "Sam Staff"
    assert "Sam Staff" in owner.get("/console/nodes/loc-1").text
    renamed = _audit(central, "user_renamed")[-1]
    assert (renamed.before, renamed.after) == ('{"display_name":"Staff1"}', '{"display_name":"Sam Staff"}')

    answer = owner.post(f"/console/users/{staff_id}/role", {"role": "technician"})
    kind, message = _flash_after(owner, answer)
    assert kind == "ok" and message.startswith("Role changed to Technician")
    assert _user(central, "staff1").role == "technician"
    changed = _audit(central, "user_role_changed")[-1]
    assert changed.before == '{"role":"cashier"}' and '"role":"technician"' in changed.after
    assert staff.get("/console/").status_code == 303, "a changed role ends the user's sessions"

    before = (_user(central, "staff1").role, central.scalar("SELECT count(*) FROM audit_log"))
    for role in ("location_owner", "head_office_admin", "distributor_admin", "no_such_role"):
        kind, message = _flash_after(owner, owner.post(f"/console/users/{staff_id}/role", {"role": role}))
        assert kind == "error" and f"you cannot give the role {role!r} at a location" in message, message
        assert "you may give: Cashier, Technician, Auditor (read-only)" in message and "nothing was changed" in message
    assert (_user(central, "staff1").role, central.scalar("SELECT count(*) FROM audit_log")) == before


def test_nobody_changes_their_own_role_or_a_role_above_their_grants(central: Central) -> None:
    owner_id = add_user(central, "owner", "location_owner", "loc-1")
    peer_id = add_user(central, "peer", "location_owner", "loc-1")
    owner = _signed_in(central, "owner")
    count = central.scalar("SELECT count(*) FROM audit_log")
    for user_id in (owner_id, peer_id):  # a location owner is above what an owner may grant
        refused = owner.post(f"/console/users/{user_id}/role", {"role": "cashier"})
        assert refused.status_code == 403 and "above what you may grant" in refused.text
        assert owner.post(f"/console/users/{user_id}/reset-password").status_code == 403
    assert {_user(central, u).role for u in ("owner", "peer")} == {"location_owner"}

    admin = _signed_in(central, "admin", ADMIN_PASSWORD)
    admin_id = int(_user(central, "admin").id)
    kind, message = _flash_after(admin, admin.post(f"/console/users/{admin_id}/role", {"role": "auditor"}))
    assert kind == "error" and "you cannot change your own role" in message
    kind, message = _flash_after(admin, admin.post(f"/console/users/{peer_id}/role", {"role": "head_office_admin"}))
    assert kind == "error" and "you cannot give the role 'head_office_admin' at a location" in message
    assert _user(central, "admin").role == "head_office_admin" and _user(central, "peer").role == "location_owner"
    assert central.scalar("SELECT count(*) FROM audit_log WHERE action = 'user_role_changed'") == 0
    assert count <= central.scalar("SELECT count(*) FROM audit_log")  # only sign-ins were added


def test_reset_password_shows_a_new_one_once_ends_sessions_and_clears_a_lockout(central: Central) -> None:
    add_user(central, "owner", "location_owner", "loc-1")
    staff_id = add_user(central, "staff1", "cashier", "loc-1")
    staff = _signed_in(central, "staff1")
    _lock(central, "staff1")
    owner = _signed_in(central, "owner")

    page = owner.post(f"/console/users/{staff_id}/reset-password")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    found = NEW_PASSWORD_RE.search(page.text)
    assert found, page.text
    new = found.group(1)
    assert len(new) >= 12
    assert NEW_PASSWORD_RE.search(owner.get("/console/nodes/loc-1").text) is None, "shown only once"

    assert staff.get("/console/").status_code == 303, "the old session is gone"
    assert _sign_in_answer(central, "staff1", PASSWORD) == 401
    assert _signed_in(central, "staff1", new).get("/console/").status_code == 200  # and the lockout is cleared
    row = _audit(central, "password_reset")[-1]
    assert (row.actor, row.target, row.node_id) == ("owner", "user staff1", "loc-1")
    assert '"locked_until_s":null' in row.after and '"sessions_ended":1' in row.after
    every_row = " ".join(f"{r.before} {r.after} {r.target}" for r in central.rows("SELECT before, after, target FROM audit_log"))
    assert new not in every_row, "the password itself is never logged"

    admin = _signed_in(central, "admin", ADMIN_PASSWORD)
    kind, message = _flash_after(admin, admin.post(f"/console/users/{int(_user(central, 'admin').id)}/reset-password"))
    assert kind == "error" and "Your account" in message
    assert owner.get("/console/").status_code == 200, "nothing happened to anyone else"


def test_disable_refuses_sign_in_and_enable_restores_it(central: Central) -> None:
    add_user(central, "owner", "location_owner", "loc-1")
    staff_id = add_user(central, "staff1", "cashier", "loc-1")
    staff = _signed_in(central, "staff1")
    owner = _signed_in(central, "owner")
    assert _flash_after(owner, owner.post(f"/console/users/{staff_id}/disable")) == ("ok", "User disabled.")
    assert staff.get("/console/").status_code == 303
    browser = browser_for(central)
    browser.get("/console/login")
    refused = browser.post("/console/login", {"username": "staff1", "password": PASSWORD})
    assert refused.status_code == 401 and "This account is disabled" in refused.text
    row = _audit(central, "user_disabled")[-1]
    assert (row.before, row.after) == ('{"active":true}', '{"active":false}')
    assert _flash_after(owner, owner.post(f"/console/users/{staff_id}/enable")) == ("ok", "User enabled.")
    assert _sign_in_answer(central, "staff1", PASSWORD) == 303


def test_unlock_after_a_lockout_lets_the_user_sign_in(central: Central) -> None:
    add_user(central, "owner", "location_owner", "loc-1")
    staff_id = add_user(central, "staff1", "cashier", "loc-1")
    _lock(central, "staff1")
    owner = _signed_in(central, "owner")
    assert f'action="/console/users/{staff_id}/unlock"' in owner.get("/console/nodes/loc-1").text
    assert _flash_after(owner, owner.post(f"/console/users/{staff_id}/unlock")) == ("ok", "User unlocked.")
    assert _user(central, "staff1").locked_until_s is None
    assert _signed_in(central, "staff1").get("/console/").status_code == 200
    assert _audit(central, "user_unlocked")[-1].after == '{"locked_until_s":null}'


def test_an_acknowledgement_note_shows_on_the_events_page_and_in_the_audit_log(central: Central) -> None:
    add_user(central, "owner", "location_owner", "loc-1")
    add_user(central, "aud", "auditor", "loc-1")
    device_id, _ = enroll_device(central, "loc-1")
    with central.engine.begin() as conn:
        event_id = conn.execute(text("INSERT INTO significant_events (kind, device_id, detail, created_at) "
                                     "VALUES ('device_new_ip', :d, 'new address', '2026-01-01T00:00:00Z') RETURNING id"),
                                {"d": device_id}).scalar_one()
    owner = _signed_in(central, "owner")
    kind, message = _flash_after(owner, owner.post(f"/console/events/event/{event_id}/ack", {"note": "  "}))
    assert kind == "error" and "note" in message
    assert central.scalar("SELECT count(*) FROM event_reviews") == 0

    note = "Checked with the cafe: new router installed"
    assert _flash_after(owner, owner.post(f"/console/events/event/{event_id}/ack", {"note": note})) == ("ok", "Note recorded.")
    page = owner.get("/console/events").text
    assert "<strong>owner</strong>" in page and note in page
    review = central.rows("SELECT username, note FROM event_reviews")[0]
    assert (review.username, review.note) == ("owner", note)

    row = _audit(central, "event_acknowledged")[-1]
    assert (row.actor, row.target, row.node_id) == ("owner", f"event {event_id}", "loc-1")
    assert note in row.after
    auditor = _signed_in(central, "aud")
    audit_page = auditor.get("/console/audit").text  # the location's own auditor reads it
    assert "event acknowledged" in audit_page and note in audit_page and f"event {event_id}" in audit_page


def test_a_parent_sets_a_locations_time_zone(central: Central) -> None:
    add_user(central, "owner", "location_owner", "loc-1")
    admin = _signed_in(central, "admin", ADMIN_PASSWORD)
    assert 'action="/console/nodes/loc-1/timezone"' in admin.get("/console/nodes/loc-1").text
    kind, message = _flash_after(admin, admin.post("/console/nodes/loc-1/timezone", {"timezone": "Mars/Olympus_Mons"}))
    assert kind == "error" and "unknown time zone 'Mars/Olympus_Mons'" in message
    assert central.scalar("SELECT count(*) FROM report_settings") == 0
    kind, message = _flash_after(admin, admin.post("/console/nodes/head-office/timezone", {"timezone": "Europe/Paris"}))
    assert kind == "error" and "only a location" in message

    kind, _ = _flash_after(admin, admin.post("/console/nodes/loc-1/timezone", {"timezone": "America/Chicago"}))
    assert kind == "ok"
    assert central.scalar("SELECT timezone FROM report_settings WHERE node_id = 'loc-1'") == "America/Chicago"
    row = _audit(central, "node_timezone_set")[-1]
    assert (row.before, row.after) == ('{"timezone":"UTC"}', '{"timezone":"America/Chicago"}')

    owner = _signed_in(central, "owner")  # the location's own owner does not move its day
    assert owner.post("/console/nodes/loc-1/timezone", {"timezone": "UTC"}).status_code == 403
    assert central.scalar("SELECT timezone FROM report_settings WHERE node_id = 'loc-1'") == "America/Chicago"
