"""Central's reports from ingested journals: the device endpoint, roll-ups, nightly storage (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from central_server.reports import service
from shared.reports import LOCATION_DAY_PATH, DailyReport
from tests.central.conftest import Central, Device
from tests.reports.helpers import DAY, add, at, enroll_at, play_a_day, push_all, sale


def _day_path(day: object) -> str:
    return f"{LOCATION_DAY_PATH}?date={day}"


def test_pos_pulls_its_location_day_as_central_ingested_it(central: Central, pos: Device, kiosk: Device) -> None:
    play_a_day(pos, kiosk)
    push_all(pos)
    push_all(kiosk)
    response = pos.request("GET", _day_path(DAY))
    assert response.status_code == 200, response.text
    report = DailyReport.from_json(response.json())
    assert report.location_id == "loc-1" and report.day == DAY and report.timezone == "UTC"
    assert report.sales_units == 7000 and report.totals.voids_count == 1  # the 99.00 sale was voided
    assert report.payouts_units == 4500 and report.net_cash_units == 2500
    assert (report.wagers_units, report.wins_units, report.hold_bp) == (400, 500, -2500)
    assert report.totals.over_short_units == -500
    devices = {row.key: row.figures for row in report.by_device}
    assert devices[kiosk.device_id].rounds == 3 and devices[pos.device_id].sales_units == 7000
    assert {row.key for row in report.by_cashier} == {"cashier-ann", "cashier-bob", "p-1"}
    assert report.by_hour[9].figures.sales_units == 7000

    other_day = pos.request("GET", _day_path(DAY + timedelta(days=1)))
    assert other_day.status_code == 200 and DailyReport.from_json(other_day.json()).totals.is_zero()


def test_time_zone_moves_the_day_boundary(central: Central, pos: Device) -> None:
    add(pos, sale(pos, 1000), at(3, 0))  # 03:00 UTC is 22:00 on the 13th in Chicago
    push_all(pos)
    with central.engine.begin() as conn:
        service.set_timezone(conn, "loc-1", "America/Chicago")
    assert DailyReport.from_json(pos.request("GET", _day_path(DAY)).json()).sales_units == 0
    before = DailyReport.from_json(pos.request("GET", _day_path(DAY - timedelta(days=1))).json())
    assert before.sales_units == 1000 and before.by_hour[22].figures.sales_units == 1000


def test_a_void_synced_the_next_day_lowers_the_next_day(central: Central, pos: Device) -> None:
    first = add(pos, sale(pos, 800), at(23, 50))
    push_all(pos)
    from shared.bodies import Void

    add(pos, Void(reverses_entry_id=first.id, reason="wrong player", approver="mgr-1"), at(0, 5, DAY + timedelta(days=1)),
        postings=[p.reversed() for p in first.postings])
    push_all(pos)
    with central.engine.connect() as conn:
        today = service.location_day(conn, "loc-1", DAY)
        tomorrow = service.location_day(conn, "loc-1", DAY + timedelta(days=1))
    assert today.sales_units == 800
    assert tomorrow.sales_units == -800 and tomorrow.unmatched_void_ids == ()


def test_refusals_other_location_kiosk_bad_date(central: Central, pos: Device, kiosk: Device) -> None:
    stranger = enroll_at(central, "loc-2")
    add(pos, sale(pos, 1234), at(9))
    push_all(pos)
    mine = stranger.request("GET", _day_path(DAY))
    assert mine.status_code == 200 and DailyReport.from_json(mine.json()).location_id == "loc-2"
    assert DailyReport.from_json(mine.json()).totals.is_zero()  # loc-1's sale is not in loc-2's day
    asked = stranger.request("GET", _day_path(DAY) + "&location=loc-1")
    assert asked.status_code == 403 and asked.json()["code"] == "report_forbidden"
    assert kiosk.request("GET", _day_path(DAY)).status_code == 403
    bad = pos.request("GET", _day_path("14/03/2026"))
    assert bad.status_code == 422 and "2026-11-25" in bad.json()["message"]
    unsigned = central.client.get(_day_path(DAY))
    assert unsigned.status_code == 401


def test_rollups_add_up_locations_and_ranges(central: Central, pos: Device, kiosk: Device) -> None:
    from central_server.admin import service as admin

    with central.engine.begin() as conn:
        admin.add_node(conn, node_id="dist-1", kind="distributor", name="North", parent_id=admin.HEAD_OFFICE_ID)
        admin.add_node(conn, node_id="loc-3", kind="location", name="Cafe Three", parent_id="dist-1")
    third = enroll_at(central, "loc-3")
    play_a_day(pos, kiosk)
    push_all(pos)
    push_all(kiosk)
    add(third, sale(third, 4000), at(15))
    add(third, sale(third, 600), at(15, day=DAY + timedelta(days=1)))
    push_all(third)
    with central.engine.connect() as conn:
        office = service.node_report(conn, "head-office", DAY, DAY + timedelta(days=1))
        north = service.node_report(conn, "dist-1", DAY, DAY + timedelta(days=1))
    [office_usd] = office.summaries
    [north_usd] = north.summaries
    assert office_usd.totals.sales_units == 7000 + 4000 + 600
    assert {row.key: row.figures.sales_units for row in office_usd.by_location} == {"loc-1": 7000, "loc-3": 4600}
    assert [row.figures.sales_units for row in office_usd.by_day] == [11000, 600]
    assert north_usd.totals.sales_units == 4600 and [r.key for r in north_usd.by_location] == ["loc-3"]


def test_nightly_generation_is_idempotent_and_catches_late_entries(central: Central, pos: Device, kiosk: Device) -> None:
    play_a_day(pos, kiosk)
    push_all(pos)
    push_all(kiosk)
    first = service.generate_nightly_reports(central.engine, DAY)
    assert first.inserted == ["loc-1", "head-office"] and not first.failed
    again = service.generate_nightly_reports(central.engine, DAY)
    assert again.inserted == [] and again.updated == [] and sorted(again.unchanged) == ["head-office", "loc-1"]
    assert central.scalar("SELECT count(*) FROM daily_reports WHERE day = :d", d=DAY.isoformat()) == 2

    add(pos, sale(pos, 300), at(20))  # synced after the job ran
    push_all(pos)
    late = service.generate_nightly_reports(central.engine, DAY)
    assert sorted(late.updated) == ["head-office", "loc-1"]
    row = central.rows("SELECT data, revision FROM daily_reports WHERE node_id = 'loc-1' AND day = :d", d=DAY.isoformat())[0]
    assert row.revision == 2 and DailyReport.from_json(json.loads(row.data)).sales_units == 7300
    with central.engine.connect() as conn:
        [kept] = service.stored_location_reports(conn, ["loc-1"], DAY, DAY)
    assert kept.sales_units == 7300


def test_the_scheduled_nightly_job_keeps_the_reports_of_the_last_two_days(central: Central, pos: Device, kiosk: Device,
                                                                         tmp_path: Path) -> None:
    from central_server.ops import jobs

    play_a_day(pos, kiosk)
    push_all(pos)
    push_all(kiosk)
    [job] = [j for j in jobs.default_jobs(central.engine, tmp_path) if j.name == "nightly_reports"]
    assert job.run().startswith("nightly reports ")  # what the scheduler calls, as it calls it (tonight: no entries)
    after_midnight = datetime.combine(DAY + timedelta(days=1), time(1, 5), tzinfo=UTC)
    line = jobs.nightly_reports(central.engine, now=after_midnight)
    assert f"{DAY}: 2 new, 0 updated, 0 unchanged, 0 failed" in line
    assert central.scalar("SELECT count(*) FROM daily_reports WHERE day = :d", d=DAY.isoformat()) == 2
    next_night = jobs.nightly_reports(central.engine, now=after_midnight + timedelta(days=1))
    assert f"{DAY}: 0 new, 0 updated, 2 unchanged" in next_night  # the day is looked at once more, and kept
