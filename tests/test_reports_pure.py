"""shared.reports: the daily location report from journal entries, by hand and by property."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.bodies import (
    Body,
    CashCount,
    GameRound,
    Redemption,
    Sale,
    SessionCheckin,
    SessionCheckout,
    ShiftClose,
    ShiftOpen,
    Void,
    VoucherIssue,
    VoucherRedemption,
    ticket_bearer,
)
from shared.entry import GENESIS_HASH, JournalEntry, make_entry, utc_timestamp
from shared.errors import UnitMismatchError, ValidationError
from shared.ledger import Posting
from shared.reports import DailyReport, Figures, build_daily_report, format_bp, ratio_bp, summarise

LOC = "loc-1"
DAY = date(2026, 3, 14)
TZ = "America/Chicago"  # UTC-5 on 14 March 2026 (DST began on the 8th)


class Journal:
    """A device's chain built with make_entry, with the clock under the test's control."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self.entries: list[JournalEntry] = []

    def add(self, body: Body, *, at: datetime, actor: str = "cashier-ann", postings: list[Posting] | None = None) -> JournalEntry:
        prev = self.entries[-1].hash if self.entries else GENESIS_HASH
        entry = make_entry(device_id=self.device_id, seq=len(self.entries) + 1, prev_hash=prev, body=body, actor=actor,
                           postings=postings, created_at=utc_timestamp(at))
        self.entries.append(entry)
        return entry


def local(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    """A Chicago wall-clock time on ``day`` as an aware UTC datetime (CDT = UTC-5)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) + timedelta(hours=5)


def sale(amount: int, cash: int, *, tender: str = "cash", pos: str = "pos-1", player: str = "p-1", loc: str = LOC) -> Sale:
    return Sale(player_id=player, location_id=loc, pos_id=pos, shift_id="shift-1", amount_units=amount, cash_units=cash,
                currency="USD", tender=tender)


def void_of(entry: JournalEntry) -> tuple[Void, list[Posting]]:
    return Void(reverses_entry_id=entry.id, reason="wrong amount", approver="mgr-1"), [p.reversed() for p in entry.postings]


def round_(n: int, bet: int, win: int, kiosk: str = "kiosk-1") -> GameRound:
    return GameRound(session_id="s-1", kiosk_id=kiosk, location_id=LOC, game_id="fruit-fiesta", game_version="1",
                     round_no=n, bet_units=bet, win_units=win, outcome={"lines": []}, draws=[1, 2, 3])


def a_shift() -> tuple[Journal, Journal]:
    """A cashier's shift (sales, a void, a wallet payout, a voucher paid) and a kiosk session (rounds, a voucher)."""
    pos, kiosk = Journal("pos-1"), Journal("kiosk-1")
    pos.add(ShiftOpen(shift_id="shift-1", pos_id="pos-1", location_id=LOC, cashier_id="cashier-ann", float_units=10000,
                      currency="USD", denominations={"2000": 5}), at=local(8, 55))
    pos.add(sale(5000, 5000), at=local(9, 5))
    pos.add(sale(2000, 2000, tender="card"), at=local(9, 40), actor="cashier-bob")
    wrong = pos.add(sale(9900, 9900), at=local(10, 1))
    body, postings = void_of(wrong)
    pos.add(body, at=local(10, 3), postings=postings)
    kiosk.add(SessionCheckout(session_id="s-1", player_id="p-1", kiosk_id="kiosk-1", location_id=LOC, amount_units=5000),
              at=local(10, 10), actor="p-1")
    kiosk.add(round_(1, 100, 0), at=local(10, 11), actor="p-1")
    kiosk.add(round_(2, 100, 500), at=local(10, 12), actor="p-1")
    kiosk.add(round_(3, 200, 0), at=local(11, 0), actor="p-1")
    kiosk.add(VoucherIssue(voucher_id="v-1", session_id="s-1", kiosk_id="kiosk-1", location_id=LOC, amount_units=3000,
                           validation_number="123456"), at=local(11, 5), actor="p-1")
    kiosk.add(SessionCheckin(session_id="s-1", player_id="p-1", kiosk_id="kiosk-1", location_id=LOC, amount_units=2200),
              at=local(11, 6), actor="p-1")
    pos.add(VoucherRedemption(voucher_id="v-1", location_id=LOC, pos_id="pos-1", shift_id="shift-1", amount_units=3000,
                              cash_units=3000, currency="USD"), at=local(11, 30))
    pos.add(Redemption(player_id="p-1", location_id=LOC, pos_id="pos-1", shift_id="shift-1", amount_units=1500,
                       cash_units=1500, currency="USD"), at=local(12, 0))
    pos.add(CashCount(shift_id="shift-1", pos_id="pos-1", counted_units=10500, currency="USD", denominations={"500": 21}),
            at=local(13, 0))
    pos.add(ShiftClose(shift_id="shift-1", pos_id="pos-1", location_id=LOC, expected_units=10500, counted_units=10000,
                       currency="USD", denominations={"2000": 5}, approver="mgr-1"), at=local(17, 0))
    return pos, kiosk


def test_a_shift_adds_up_to_what_the_cashier_and_owner_expect() -> None:
    pos, kiosk = a_shift()
    report = build_daily_report([*pos.entries, *kiosk.entries], location_id=LOC, day=DAY, tz=TZ)
    assert report.sales_units == 7000  # 50 + 20 credits; the 99 voided
    assert report.sales_cash_units == 5000 and report.totals.sales_card_units == 2000
    assert report.totals.sales_count == 2 and report.totals.voids_count == 1 and report.totals.voided_sales_units == 9900
    assert report.payouts_units == 4500 and report.totals.payouts_cash_units == 4500
    assert report.net_cash_units == 7000 - 4500
    assert (report.wagers_units, report.wins_units, report.rounds) == (400, 500, 3)
    assert report.hold_bp == -2500 and format_bp(report.hold_bp) == "-25.00%"
    assert report.vouchers_issued_count == 1 and report.vouchers_paid_count == 1
    assert report.totals.over_short_units == -500
    assert [s.difference_units for s in report.shifts] == [-500]
    hours = {row.key: row.figures for row in report.by_hour}
    assert hours["09"].sales_units == 7000 and hours["10"].sales_units == 0  # the void cancels the 10:01 sale at 10:03
    assert hours["10"].wagers_units == 200 and hours["11"].wagers_units == 200
    cashiers = {row.key: row.figures for row in report.by_cashier}
    assert cashiers["cashier-bob"].sales_card_units == 2000 and cashiers["p-1"].rounds == 3
    devices = {row.key: row.figures for row in report.by_device}
    assert devices["kiosk-1"].wagers_units == 400 and devices["pos-1"].sales_units == 7000


def test_dict_form_of_entries_gives_the_same_report() -> None:
    pos, kiosk = a_shift()
    entries = [*pos.entries, *kiosk.entries]
    from_objects = build_daily_report(entries, location_id=LOC, day=DAY, tz=TZ)
    from_json = build_daily_report([e.unhashed_json() for e in entries], location_id=LOC, day=DAY, tz=TZ)
    assert from_json == from_objects
    assert DailyReport.from_json(from_objects.to_json()) == from_objects


def test_a_day_is_the_local_day_and_a_void_the_next_morning_books_then() -> None:
    pos = Journal("pos-1")
    late = pos.add(sale(1000, 1000), at=local(23, 50))  # 04:50 UTC on the 15th, still the 14th in Chicago
    body, postings = void_of(late)
    pos.add(body, at=local(0, 10, DAY + timedelta(days=1)), postings=postings)
    first = build_daily_report(pos.entries, location_id=LOC, day=DAY, tz=TZ)
    second = build_daily_report(pos.entries, location_id=LOC, day=DAY + timedelta(days=1), tz=TZ)
    assert first.sales_units == 1000 and first.by_hour[23].figures.sales_units == 1000
    assert second.sales_units == -1000 and second.totals.voids_count == 1
    assert build_daily_report(pos.entries, location_id=LOC, day=DAY, tz="UTC").sales_units == 0


def test_void_of_an_unknown_entry_is_listed_not_counted() -> None:
    pos = Journal("pos-1")
    other = Journal("pos-1")
    target = other.add(sale(700, 700), at=local(9))
    body, postings = void_of(target)
    void = pos.add(body, at=local(9, 30), postings=postings)
    report = build_daily_report(pos.entries, location_id=LOC, day=DAY, tz=TZ)
    assert report.unmatched_void_ids == (void.id,) and report.totals.is_zero()


def test_entries_of_another_location_and_other_currencies() -> None:
    pos = Journal("pos-1")
    pos.add(sale(100, 100, loc="loc-2"), at=local(9))
    assert build_daily_report(pos.entries, location_id=LOC, day=DAY, tz=TZ).totals.is_zero()
    euro = Journal("pos-9")
    euro.add(Sale(player_id="p", location_id=LOC, pos_id="pos-9", shift_id="s", amount_units=1, cash_units=1, currency="EUR"),
             at=local(9))
    with pytest.raises(UnitMismatchError):
        build_daily_report(euro.entries, location_id=LOC, day=DAY, tz=TZ, currency="USD")
    with pytest.raises(ValidationError, match="time zone"):
        build_daily_report([], location_id=LOC, day=DAY, tz="Mars/Olympus")


def test_csv_rows_carry_the_totals() -> None:
    pos, kiosk = a_shift()
    report = build_daily_report([*pos.entries, *kiosk.entries], location_id=LOC, day=DAY, tz=TZ)
    text = io.StringIO()
    csv.writer(text).writerows(report.to_csv_rows())
    rows = list(csv.reader(io.StringIO(text.getvalue())))
    header = next(r for r in rows if r[:2] == ["section", "key"])
    total = dict(zip(header, next(r for r in rows if r[:1] == ["total"]), strict=True))
    assert total["credits sold"] == "70.00" and total["net cash"] == "25.00" and total["hold %"] == "-25.00%"
    assert len([r for r in rows if r[:1] == ["hour"]]) == 24


def test_ratio_bp_rounds_half_away_from_zero() -> None:
    assert ratio_bp(1, 3) == 3333 and ratio_bp(2, 3) == 6667 and ratio_bp(-2, 3) == -6667
    assert ratio_bp(1, 20000) == 1 and ratio_bp(-1, 20000) == -1 and ratio_bp(0, 5) == 0 and ratio_bp(5, 0) is None


# --- properties ------------------------------------------------------------------------------------------

_op = st.one_of(
    st.tuples(st.just("sale"), st.integers(1, 10**6), st.sampled_from(["cash", "card"]), st.booleans()),
    st.tuples(st.just("round"), st.integers(1, 10**5), st.integers(0, 10**6), st.booleans()),
    st.tuples(st.just("redeem"), st.integers(1, 10**6), st.just("cash"), st.booleans()),
    st.tuples(st.just("voucher"), st.integers(1, 10**6), st.just("cash"), st.booleans()),
)


@st.composite
def journals(draw: Any, day: date = DAY) -> tuple[list[JournalEntry], set[str]]:
    """Random operations over the day by three actors on two devices; some sales voided."""
    ops = draw(st.lists(_op, max_size=25))
    minutes = draw(st.lists(st.integers(0, 24 * 60 - 3), min_size=len(ops), max_size=len(ops)))
    actors = draw(st.lists(st.sampled_from(["ann", "bob", "cy"]), min_size=len(ops), max_size=len(ops)))
    pos, kiosk = Journal("pos-1"), Journal("kiosk-1")
    voided: set[str] = set()
    start = local(0, day=day)
    for (kind, amount, extra, void), minute, actor in zip(ops, sorted(minutes), actors, strict=True):
        at = start + timedelta(minutes=minute)
        if kind == "sale":
            entry = pos.add(sale(amount, amount, tender=str(extra)), at=at, actor=actor)
            if void:
                body, postings = void_of(entry)
                pos.add(body, at=at + timedelta(minutes=1), actor=actor, postings=postings)
                voided.add(entry.id)
        elif kind == "round":
            kiosk.add(round_(len(kiosk.entries) + 1, amount, int(extra)), at=at, actor=actor)
        elif kind == "redeem":
            pos.add(Redemption(player_id="p", location_id=LOC, pos_id="pos-1", shift_id="s", amount_units=amount,
                               cash_units=amount, currency="USD"), at=at, actor=actor)
        else:
            pos.add(VoucherRedemption(voucher_id=f"v{minute}", location_id=LOC, pos_id="pos-1", shift_id="s",
                                      amount_units=amount, cash_units=amount, currency="USD"), at=at, actor=actor)
    return [*pos.entries, *kiosk.entries], voided


def _total(rows: Any) -> Figures:
    total = Figures()
    for row in rows:
        total = total + row.figures
    return total


@settings(max_examples=60, deadline=None)
@given(journals())
def test_totals_are_the_sum_of_every_breakdown(journal: tuple[list[JournalEntry], set[str]]) -> None:
    entries, _ = journal
    report = build_daily_report(entries, location_id=LOC, day=DAY, tz=TZ)
    assert _total(report.by_hour) == report.totals
    assert _total(report.by_cashier) == report.totals
    assert _total(report.by_device) == report.totals
    assert report.entries_count == len(entries)


@settings(max_examples=60, deadline=None)
@given(journals())
def test_a_voided_sale_contributes_nothing(journal: tuple[list[JournalEntry], set[str]]) -> None:
    entries, voided = journal
    report = build_daily_report(entries, location_id=LOC, day=DAY, tz=TZ)
    kept = [e for e in entries if e.id not in voided and not (isinstance(e.body, Void))]
    without = build_daily_report(kept, location_id=LOC, day=DAY, tz=TZ)
    assert report.sales_units == without.sales_units
    assert report.totals.sales_count == without.totals.sales_count
    assert report.net_cash_units == without.net_cash_units
    assert report.totals.voids_count == len(voided)
    expected_sales = sum(e.body.amount_units for e in kept if isinstance(e.body, Sale))
    assert report.sales_units == expected_sales


@settings(max_examples=60, deadline=None)
@given(journals())
def test_hold_is_wagers_minus_wins_over_wagers(journal: tuple[list[JournalEntry], set[str]]) -> None:
    entries, _ = journal
    report = build_daily_report(entries, location_id=LOC, day=DAY, tz=TZ)
    wagers = sum(e.body.bet_units for e in entries if isinstance(e.body, GameRound))
    wins = sum(e.body.win_units for e in entries if isinstance(e.body, GameRound))
    assert (report.wagers_units, report.wins_units) == (wagers, wins)
    if wagers == 0:
        assert report.hold_bp is None
    else:
        assert report.hold_bp is not None
        exact = Fraction(wagers - wins, wagers) * 10_000
        assert abs(report.hold_bp - exact) <= Fraction(1, 2)


@settings(max_examples=30, deadline=None)
@given(journals(), journals(day=DAY + timedelta(days=1)))
def test_summary_is_the_sum_of_location_reports(one: Any, two: Any) -> None:
    first = build_daily_report(one[0], location_id=LOC, day=DAY, tz=TZ)
    second = build_daily_report(two[0], location_id=LOC, day=DAY + timedelta(days=1), tz=TZ)
    [summary] = summarise([first, second], node_id="head-office", first_day=DAY, last_day=DAY + timedelta(days=1))
    assert summary.totals == first.totals + second.totals
    assert _total(summary.by_day) == summary.totals and _total(summary.by_hour) == summary.totals


def test_an_entry_given_twice_counts_once() -> None:
    pos, kiosk = a_shift()
    entries = [*pos.entries, *kiosk.entries]
    once = build_daily_report(entries, location_id=LOC, day=DAY, tz=TZ)
    assert build_daily_report([*entries, *entries[:5]], location_id=LOC, day=DAY, tz=TZ) == once


def test_chart_axis_steps_and_labels_are_exact() -> None:
    from xml.etree import ElementTree

    from central_server.reports.charts import bar_chart, compact_units, nice_step, sales_payouts_by_hour

    assert [nice_step(v) for v in (1, 4, 7, 40, 41, 399, 30000)] == [1, 1, 2, 10, 20, 100, 10000]
    assert compact_units(150000, "CR") == "1.5k" and compact_units(2000, "CR") == "20" and compact_units(-250, "USD") == "-2.50"
    pos, kiosk = a_shift()
    report = build_daily_report([*pos.entries, *kiosk.entries], location_id=LOC, day=DAY, tz=TZ)
    svg = ElementTree.fromstring(sales_payouts_by_hour(report.by_hour))  # well-formed XML
    titles = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")]
    assert "09 · Sold: 70.00 credits" in titles and "11 · Paid out: 30.00 credits" in titles
    empty = bar_chart("Nothing", [], [], unit="CR")
    assert "Nothing recorded" in empty


def test_a_ticket_taken_in_at_a_kiosk_counts_as_credits_in_and_as_a_ticket_in() -> None:
    """The owner sees which credits came into kiosk sessions from printed tickets; the kiosk's own meter agrees."""
    from kiosk_app.session_model import kiosk_meters

    pos, kiosk = a_shift()
    kiosk.add(SessionCheckout(session_id="s-2", player_id=ticket_bearer("v-1"), kiosk_id="kiosk-1", location_id=LOC,
                              amount_units=3000, voucher_id="v-1"), at=local(14, 0), actor=ticket_bearer("v-1"))
    report = build_daily_report([*pos.entries, *kiosk.entries], location_id=LOC, day=DAY, tz=TZ)
    assert (report.totals.checkouts_units, report.totals.tickets_in_count, report.totals.tickets_in_units) == (8000, 1, 3000)
    by_kiosk = {row.key: row.figures for row in report.by_device}["kiosk-1"]
    assert (by_kiosk.tickets_in_count, by_kiosk.tickets_in_units) == (1, 3000)
    rows = report.to_csv_rows()
    header, total = rows[3], rows[4]
    exported = dict(zip(header, total, strict=True))
    assert (exported["tickets in"], exported["ticket credits in"]) == ("1", "30.00")
    meters = kiosk_meters(kiosk.entries)
    assert (meters.credits_in_units, meters.tickets_in, meters.tickets_in_units, meters.sessions) == (8000, 1, 3000, 2)
    assert ("Tickets in", "1 (30.00)") in meters.rows()
