"""The location page's Online top-ups panel: an admin chooses which providers the counter and the
kiosks offer (audited; devices see it in their config, central enforces it at creation); an owner
reads it but may not change it."""

from __future__ import annotations

from central_server.device_config import service as config_service
from tests.console.conftest import browser_for, flash
from tests.console.test_payments_page import _owner
from tests.payments.conftest import Payments, payments  # noqa: F401 - fixture

LOC = "loc-1"


def _kiosk_offers(p: Payments) -> tuple[str, ...]:
    with p.central.engine.begin() as conn:
        return config_service.build_config(conn, LOC, "kiosk").topup_providers


def test_an_admin_switches_kiosk_topups_on_audited_and_an_owner_only_reads_it(payments: Payments) -> None:  # noqa: F811
    central = payments.central
    admin = browser_for(central)
    admin.login("admin", "correct horse battery staple")
    page = admin.get(f"/console/nodes/{LOC}").text
    assert "Online top-ups" in page and "Player self top-up at kiosks" in page and "switched off" in page
    assert f'action="/console/nodes/{LOC}/topup-channels"' in page
    assert _kiosk_offers(payments) == ()

    response = admin.post(f"/console/nodes/{LOC}/topup-channels", {"channel": "kiosk", "providers": ["stripe", "btcpay"]})  # type: ignore[dict-item]
    assert response.status_code == 303
    kind, message = flash(admin.get(response.headers["location"]).text) or ("", "")
    assert kind == "ok" and "Top-up channel saved" in message
    assert _kiosk_offers(payments) == ("stripe", "btcpay")
    audit = central.rows("SELECT action, target, after FROM audit_log WHERE action = 'topup_channel_set'")
    assert [(a.action, a.target) for a in audit] == [("topup_channel_set", f"kiosk at {LOC}")]
    assert "btcpay" in audit[0].after and "stripe" in audit[0].after

    kiosk = central.enroll("kiosk")
    assert payments.topup(payments.player(), 10_00, "stripe", device=kiosk)["checkout_url"]

    owner = _owner(central)
    page = owner.get(f"/console/nodes/{LOC}").text
    assert "Online top-ups" in page and f'action="/console/nodes/{LOC}/topup-channels"' not in page
    assert owner.post(f"/console/nodes/{LOC}/topup-channels", {"channel": "kiosk"}).status_code == 403
    assert _kiosk_offers(payments) == ("stripe", "btcpay")

    response = admin.post(f"/console/nodes/{LOC}/topup-channels", {"channel": "kiosk", "inherit": "1"})
    assert response.status_code == 303 and _kiosk_offers(payments) == ()
    bad = admin.post(f"/console/nodes/{LOC}/topup-channels", {"channel": "atm"})
    kind, message = flash(admin.get(bad.headers["location"]).text) or ("", "")
    assert kind == "error" and "atm" in message
