"""The console in a real headless Chromium against a real HTTPS central: what a head-office admin does.

Sign in with TOTP enrolment (QR page), create a master distributor and a location under it,
mint, sell down two levels, see a refused sale, see a device and revoke it. Screenshots at
1366×768 and 1920×1080 go to tests/artifacts/console/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pyotp

from tests.console.conftest import ADMIN_PASSWORD, Central, enroll_device, heartbeat

SIZES = ((1366, 768), (1920, 1080))


def _shoot(page: Any, out: Path, name: str) -> None:
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(out / f"{name}-{width}x{height}.png"), full_page=False)


def _submit(page: Any, form: str, fields: dict[str, str]) -> None:
    for name, value in fields.items():
        field = page.locator(f"{form} [name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    _click_and_wait(page, page.locator(f"{form} button[type=submit]").first)


def _click_and_wait(page: Any, button: Any) -> None:
    """Every form answers with a redirect to a page with a new flash message; wait for that page."""
    page.evaluate("() => document.querySelectorAll('.flash').forEach(f => f.dataset.old = '1')")
    button.click()
    page.wait_for_selector(".flash:not([data-old])")


def _flash(page: Any) -> str:
    return page.locator(".flash").inner_text()


def test_head_office_runs_the_tree_in_a_browser(sqlite_central: Central, chromium: Any, artifacts: Path) -> None:
    central = sqlite_central
    out = artifacts / "console"
    out.mkdir(parents=True, exist_ok=True)
    device_id, key = enroll_device(central, "loc-1", "kiosk")
    assert heartbeat(central, device_id, key).status_code in (200, 204)

    context = chromium.new_context(ignore_https_errors=True, viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(f"{central.base_url}/console/")
    assert page.url.endswith("/console/login")
    _shoot(page, out, "01-login")
    page.fill("[name=username]", "admin")
    page.fill("[name=password]", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/console/login/totp$"))
    assert page.locator(".qr svg").count() == 1  # the QR code to scan
    _shoot(page, out, "02-totp-enrol")
    secret = page.locator("#totp-secret").inner_text()
    page.fill("[name=code]", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.click("button[type=submit]")
    assert "Wrong code" in _flash(page)
    page.fill("[name=code]", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/console/$"))
    assert "Head office" in page.locator("h1").inner_text()

    # issuance limit, mint, a master distributor with a credit line, a location under it
    page.locator("#mint summary").click()
    _submit(page, "#mint form[action$=issuance-limit]", {"limit": "100000"})
    _submit(page, "#mint form[action$=mint]", {"amount": "50000", "reason": "Opening issue"})
    assert _flash(page) == "Minted 50000.00 credits."
    _submit(page, "#add-node form", {"kind": "master_distributor", "name": "North Distribution", "child_id": "md-north"})
    assert "Created master distributor North Distribution" in _flash(page)
    page.click("#children a:has-text('North Distribution')")
    page.wait_for_url(re.compile(r"/console/nodes/md-north$"))
    _submit(page, "#credit-line form", {"line": "9000.00"})
    _submit(page, "#add-node form", {"kind": "location", "name": "Harbour Cafe", "child_id": "loc-harbour"})
    page.click("#children a:has-text('Harbour Cafe')")
    page.wait_for_url(re.compile(r"/console/nodes/loc-harbour$"))
    _submit(page, "#credit-line form", {"line": "2000.00"})
    page.click(".crumbs a:has-text('Head office')")
    page.wait_for_url(re.compile(r"/console/nodes/head-office$"))
    _submit(page, "#sell form", {"to_node_id": "md-north", "amount": "10000", "price_per_credit": "0.85"})
    assert "Sold 10000.00 credits to md-north at 0.85 USD" in _flash(page)
    _shoot(page, out, "03-head-office")

    page.click("#children a:has-text('North Distribution')")
    page.wait_for_url(re.compile(r"/console/nodes/md-north$"))
    _submit(page, "#sell form", {"to_node_id": "loc-harbour", "amount": "2000", "price_per_credit": "0.95"})
    assert "Sold 2000.00 credits to loc-harbour" in _flash(page)
    _submit(page, "#sell form", {"to_node_id": "loc-harbour", "amount": "200", "price_per_credit": "0.95"})
    refused = _flash(page)
    assert "Refused" in refused and "credit line is 2000.00 USD (100.00 USD available)" in refused
    row = page.locator("#children tr:has-text('Harbour Cafe')").inner_text()
    assert "2,000.00" in row and "1,900.00" in row  # float and outstanding unchanged by the refusal
    _shoot(page, out, "04-distributor-refused")
    assert central.balance("float:loc-harbour") == 2000_00 and central.balance("receivable:loc-harbour", "USD") == 1900_00

    # the fleet: the kiosk with its heartbeat, revoked from the page
    page.click(".nav a:has-text('Devices')")
    page.wait_for_url(re.compile(r"/console/devices$"))
    device_row = page.locator(f"#device-{device_id}")
    assert "9.9.9" in device_row.inner_text() and "127.0.0.1" in device_row.inner_text()
    _shoot(page, out, "05-devices")
    page.once("dialog", lambda dialog: dialog.accept())
    _click_and_wait(page, device_row.locator("button:has-text('Revoke')"))
    assert f"Device {device_id} revoked" in _flash(page)
    assert "revoked" in page.locator(f"#device-{device_id}").inner_text()
    assert heartbeat(central, device_id, key).status_code == 403  # refused at once

    page.click(".nav a:has-text('Exceptions')")
    page.wait_for_url(re.compile(r"/console/events$"))
    _shoot(page, out, "06-events")
    page.click(".nav a:has-text('Audit log')")
    page.wait_for_url(re.compile(r"/console/audit$"))
    actions = page.locator("table.audit").inner_text()
    for action in ("mint", "wholesale transfer", "credit line set", "node created", "device revoked", "totp enrolled"):
        assert action in actions
    _shoot(page, out, "07-audit")
    context.close()
    time.sleep(0)  # nothing pending: the server thread stops in the fixture
