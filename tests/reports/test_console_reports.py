"""The console's report pages and exports over a real central: scope per role, figures, CSV and PDF."""

from __future__ import annotations

import csv
import io
import re

import httpx
from pypdf import PdfReader

from central_server.admin import service as admin
from tests.central.conftest import Central, Device
from tests.reports.helpers import DAY, add, at, console_session, enroll_at, play_a_day, push_all, sale

RANGE = f"from={DAY}&to={DAY}"


def _get(central: Central, cookies: dict[str, str], path: str) -> httpx.Response:
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return central.client.get(path, headers={"Cookie": cookie}, follow_redirects=False)


def _kpi(html: str, name: str) -> str:
    match = re.search(rf'data-kpi="{name}"><span class="num">([^<]+)</span>|data-kpi="{name}">([^<]+)<', html)
    assert match, f"no {name} figure on the page"
    return match.group(1) or match.group(2)


def _day(central: Central, pos: Device, kiosk: Device) -> None:
    play_a_day(pos, kiosk)
    push_all(pos)
    push_all(kiosk)


def test_owner_reads_their_location_day_and_nothing_else(central: Central, pos: Device, kiosk: Device) -> None:
    _day(central, pos, kiosk)
    enroll_at(central, "loc-2")
    owner = console_session(central, username="olivia", role="location_owner", node_id="loc-1")

    page = _get(central, owner, f"/console/reports/loc-1?{RANGE}")
    assert page.status_code == 200, page.text
    html = page.text
    assert _kpi(html, "sales") == "70.00" and _kpi(html, "payouts") == "45.00" and _kpi(html, "net") == "25.00"
    assert _kpi(html, "hold") == "-25.00%"
    assert html.count("<svg") >= 3 and "Credits sold and paid out, by hour" in html
    assert 'id="by-device"' in html and 'id="by-cashier"' in html and 'id="shifts"' in html

    assert _get(central, owner, "/console/reports").headers["location"] == "/console/reports/loc-1"
    for outside in ("head-office", "loc-2", "no-such-node"):
        assert _get(central, owner, f"/console/reports/{outside}?{RANGE}").status_code == 403
        assert _get(central, owner, f"/console/reports/{outside}/export.csv?{RANGE}").status_code == 403
    cashier = console_session(central, username="carl", role="cashier", node_id="loc-1")
    assert _get(central, cashier, f"/console/reports/loc-1?{RANGE}").status_code == 403
    anonymous = central.client.get(f"/console/reports/loc-1?{RANGE}", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login"
    bad = _get(central, owner, "/console/reports/loc-1?from=yesterday")
    assert bad.status_code == 422 and "must be a date" in bad.text


def test_exports_carry_the_totals(central: Central, pos: Device, kiosk: Device) -> None:
    _day(central, pos, kiosk)
    owner = console_session(central, username="olivia", role="location_owner", node_id="loc-1")

    exported = _get(central, owner, f"/console/reports/loc-1/export.csv?{RANGE}")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert f"report-loc-1-{DAY}.csv" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    header = next(r for r in rows if r[:2] == ["section", "key"])
    total = dict(zip(header, next(r for r in rows if r[:1] == ["total"]), strict=True))
    assert (total["credits sold"], total["credits paid out"], total["net cash"], total["hold %"]) == \
        ("70.00", "45.00", "25.00", "-25.00%")
    devices = {r[1]: dict(zip(header, r, strict=True)) for r in rows if r[:1] == ["device"]}
    assert devices[kiosk.device_id]["wagers"] == "4.00" and devices[pos.device_id]["sales card"] == "20.00"

    pdf = _get(central, owner, f"/console/reports/loc-1/export.pdf?{RANGE}")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Daily report - Cafe One" in text and "Saturday 14 March 2026" in text
    assert re.search(r"Total 70\.00 50\.00 20\.00 45\.00 45\.00 25\.00 4\.00 5\.00 -25\.00% 3 1", text), text
    assert "Credits sold and paid out, by hour" in text  # the chart went in as SVG


def test_head_office_rolls_up_its_distributors(central: Central, pos: Device, kiosk: Device) -> None:
    with central.engine.begin() as conn:
        admin.add_node(conn, node_id="dist-1", kind="distributor", name="North Distribution", parent_id=admin.HEAD_OFFICE_ID)
        admin.add_node(conn, node_id="loc-3", kind="location", name="Cafe Three", parent_id="dist-1")
    _day(central, pos, kiosk)
    third = enroll_at(central, "loc-3")
    add(third, sale(third, 4000), at(15))
    push_all(third)
    auditor = console_session(central, username="audrey", role="auditor", node_id=admin.HEAD_OFFICE_ID)

    page = _get(central, auditor, f"/console/reports/head-office?{RANGE}")
    assert page.status_code == 200, page.text
    assert _kpi(page.text, "sales") == "110.00"
    branches = page.text.split('id="branches"')[1].split("</table>")[0]
    assert "North Distribution" in branches and "Cafe One" in branches and "40.00" in branches
    north = _get(central, auditor, f"/console/reports/dist-1?{RANGE}")
    assert north.status_code == 200 and _kpi(north.text, "sales") == "40.00" and "Cafe One" not in north.text

    exported = _get(central, auditor, f"/console/reports/head-office/export.csv?{RANGE}")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    locations = {r[1]: r for r in rows if r[:1] == ["location"]}
    assert set(locations) == {"loc-1", "loc-3"}
    pdf = _get(central, auditor, f"/console/reports/head-office/export.pdf?{RANGE}")
    assert "Summary - Head office" in " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
