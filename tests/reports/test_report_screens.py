"""The report pages in headless Chromium at 1366×768 and 1920×1080: screenshots saved and the layout checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from central_server.admin import service as admin
from central_server.console.web import COOKIE
from central_server.reports import service
from tests.central.conftest import Central, Device
from tests.reports.helpers import DAY, add, at, console_session, enroll_at, play_a_day, push_all, sale

SIZES = ((1366, 768), (1920, 1080))


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """Screens once, on SQLite: the figures are tested on both databases elsewhere."""
    return f"sqlite:///{tmp_path / 'central.db'}"


def _busy_day(central: Central, pos: Device, kiosk: Device) -> None:
    with central.engine.begin() as conn:
        admin.add_node(conn, node_id="dist-1", kind="distributor", name="North Distribution", parent_id=admin.HEAD_OFFICE_ID)
        admin.add_node(conn, node_id="loc-3", kind="location", name="Cafe Three", parent_id="dist-1")
        service.set_timezone(conn, "loc-1", "UTC")
    play_a_day(pos, kiosk)
    for hour, amount in ((13, 2500), (14, 4000), (15, 1500), (16, 6000), (18, 3500), (19, 8000), (20, 5000)):
        add(pos, sale(pos, amount, player=f"p-{hour}"), at(hour, 15), actor="cashier-bob")
    push_all(pos)
    push_all(kiosk)
    third = enroll_at(central, "loc-3")
    for hour, amount in ((10, 3000), (12, 4500), (17, 2000)):
        add(third, sale(third, amount), at(hour))
    push_all(third)


def test_report_pages_look_right_at_both_sizes(central: Central, pos: Device, kiosk: Device, chromium: Any,
                                               artifacts: Path) -> None:
    _busy_day(central, pos, kiosk)
    owner = console_session(central, username="olivia", role="location_owner", node_id="loc-1")
    auditor = console_session(central, username="audrey", role="auditor", node_id=admin.HEAD_OFFICE_ID)
    out = artifacts / "reports"
    out.mkdir(parents=True, exist_ok=True)
    host = urlparse(central.base_url).hostname
    pages = (("owner-day", owner, f"/console/reports/loc-1?from={DAY}&to={DAY}"),
             ("head-office-day", auditor, f"/console/reports/head-office?from={DAY}&to={DAY}"))
    for width, height in SIZES:
        context = chromium.new_context(viewport={"width": width, "height": height}, ignore_https_errors=True)
        for name, cookies, path in pages:
            context.clear_cookies()
            context.add_cookies([{"name": COOKIE, "value": cookies[COOKIE], "domain": host, "path": "/console",
                                  "secure": True, "httpOnly": True}])
            page = context.new_page()
            response = page.goto(central.base_url + path)
            assert response is not None and response.status == 200
            # Nothing wider than the window: no sideways scrolling of the whole page.
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert page.locator("svg[role=img]").count() >= 3
            kpi = page.locator("[data-kpi=sales]").bounding_box()
            assert kpi is not None and kpi["y"] + kpi["height"] < height  # headline figures above the fold
            page.screenshot(path=str(out / f"{name}-{width}x{height}.png"), full_page=False)
            page.screenshot(path=str(out / f"{name}-{width}x{height}-full.png"), full_page=True)
            page.close()
        context.close()
    assert len(list(out.glob("*.png"))) == 8
