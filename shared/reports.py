"""The daily location report, computed from journal entries (issue 7, issue 5).

Pure: a POS computes its own shift from its local journal while offline, and central
computes a whole location from the entries it ingested, with the same function.

Rules the figures follow:

- An entry belongs to the local calendar day (in the location's time zone) its device
  recorded it on, and to the local hour it was recorded in.
- A void is a compensating entry: it is booked when it was recorded, as the exact
  negative of the entry it names (a sale voided the same day contributes nothing; a
  sale voided the next morning lowers the next day's figures, so a closed day's report
  never changes after the fact). It is attributed to the void's own device, actor and
  hour. A void whose target is not among the entries given is listed in
  ``unmatched_void_ids`` and changes no figure.
- Money stays in integer minor units; hold is an integer in basis points (1/100 of a
  percent) rounded half away from zero, and only formatting at the edge shows a ``%``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.bodies import (
    Body,
    GameRound,
    OnlinePayment,
    Redemption,
    Sale,
    SessionCheckin,
    SessionCheckout,
    ShiftClose,
    ShiftOpen,
    Void,
    VoucherIssue,
    VoucherRedemption,
    parse_body,
)
from shared.entry import JournalEntry, parse_utc_timestamp
from shared.errors import UnitMismatchError, ValidationError
from shared.money import CREDITS, format_units

LOCATION_DAY_PATH = "/api/v1/reports/location-day"
"""GET (signed, POS only): ``?date=YYYY-MM-DD`` → ``DailyReport.to_json()`` of the device's own location."""

HOURS = 24
MAX_VOID_DEPTH = 8
"""A void of a void of … is followed this far; deeper chains are treated as unmatched."""

BP_PER_UNIT = 10_000


def ratio_bp(numerator: int, denominator: int) -> int | None:
    """``numerator / denominator`` in basis points, rounded half away from zero; None for 0/0."""
    if denominator == 0:
        return None
    scaled = abs(numerator) * BP_PER_UNIT
    quotient, remainder = divmod(scaled, abs(denominator))
    if 2 * remainder >= abs(denominator):
        quotient += 1
    return quotient if (numerator >= 0) == (denominator > 0) else -quotient


def format_bp(bp: int | None) -> str:
    """``1234`` → ``"12.34%"``; no wagers → ``"–"``."""
    if bp is None:
        return "–"
    sign = "-" if bp < 0 else ""
    whole, frac = divmod(abs(bp), 100)
    return f"{sign}{whole}.{frac:02d}%"


@dataclass(frozen=True, slots=True)
class Figures:
    """Additive counters of one slice of a day (the whole day, a device, an actor, an hour).

    Credits (``*_units`` without ``cash``/``card``/``fiat``) are in credit units; the
    other amounts in the location currency's minor units. Every field adds up, so a
    report's totals are exactly the sum of any of its breakdowns.
    """

    sales_count: int = 0
    sales_units: int = 0
    sales_cash_units: int = 0
    sales_card_units: int = 0
    redemptions_count: int = 0
    redemptions_units: int = 0
    vouchers_paid_count: int = 0
    vouchers_paid_units: int = 0
    payouts_cash_units: int = 0
    rounds: int = 0
    wagers_units: int = 0
    wins_units: int = 0
    vouchers_issued_count: int = 0
    vouchers_issued_units: int = 0
    checkouts_units: int = 0       # credits into kiosk sessions: from wallets and from tickets taken in
    checkins_units: int = 0
    tickets_in_count: int = 0      # cash-out tickets a kiosk took into a new session (ticket in)
    tickets_in_units: int = 0
    online_count: int = 0
    online_units: int = 0
    online_fiat_units: int = 0
    voids_count: int = 0
    voided_sales_units: int = 0
    over_short_units: int = 0

    def values(self) -> tuple[int, ...]:
        """The fields in order (not ``dataclasses.astuple``, which deep-copies and is slow in the hot loop)."""
        return tuple(getattr(self, name) for name in _FIGURE_NAMES)

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(getattr(self, name) + getattr(other, name) for name in _FIGURE_NAMES))

    def __neg__(self) -> Figures:
        return Figures(*(-getattr(self, name) for name in _FIGURE_NAMES))

    @property
    def payouts_units(self) -> int:
        """Credits paid out at the counter: wallet redemptions and vouchers paid."""
        return self.redemptions_units + self.vouchers_paid_units

    @property
    def payouts_count(self) -> int:
        return self.redemptions_count + self.vouchers_paid_count

    @property
    def net_cash_units(self) -> int:
        """What the counter took for credits (cash and card) minus what it paid out."""
        return self.sales_cash_units + self.sales_card_units - self.payouts_cash_units

    @property
    def net_credits_units(self) -> int:
        """Credits sold (counter and online) minus credits paid out."""
        return self.sales_units + self.online_units - self.payouts_units

    @property
    def hold_units(self) -> int:
        return self.wagers_units - self.wins_units

    @property
    def hold_bp(self) -> int | None:
        """(wagers − wins) / wagers in basis points; None when nothing was wagered."""
        return ratio_bp(self.hold_units, self.wagers_units)

    def is_zero(self) -> bool:
        return not any(self.values())

    def to_json(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Figures:
        names = [f.name for f in dataclasses.fields(cls)]
        values = []
        for name in names:
            value = data.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(f"report figure {name} must be a whole number, got {value!r}")
            values.append(value)
        return cls(*values)


_FIGURE_NAMES = tuple(f.name for f in dataclasses.fields(Figures))
ZERO = Figures()


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a breakdown: a key (device, actor, hour "09", location, day) and its figures."""

    key: str
    figures: Figures

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, **self.figures.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Row:
        key = data.get("key")
        if not isinstance(key, str):
            raise ValidationError("report row key must be text")
        return cls(key, Figures.from_json(data))


@dataclass(frozen=True, slots=True)
class ShiftRow:
    """A shift seen in the day: opening float and, once closed, expected vs counted."""

    shift_id: str
    pos_id: str
    cashier_id: str | None
    opened_at: str | None
    float_units: int | None
    closed_at: str | None
    expected_units: int | None
    counted_units: int | None

    @property
    def difference_units(self) -> int | None:
        if self.expected_units is None or self.counted_units is None:
            return None
        return self.counted_units - self.expected_units

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ShiftRow:
        names = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {name: data.get(name) for name in names}
        if not isinstance(values["shift_id"], str) or not isinstance(values["pos_id"], str):
            raise ValidationError("a shift row needs shift_id and pos_id")
        return cls(**values)


def _sum(rows: Iterable[Row]) -> Figures:
    total = ZERO
    for row in rows:
        total = total + row.figures
    return total


@dataclass(frozen=True, slots=True)
class DailyReport:
    """One location's day: totals and the breakdowns per device, per actor and per local hour."""

    location_id: str
    day: date
    currency: str
    timezone: str
    totals: Figures
    by_device: tuple[Row, ...]
    by_cashier: tuple[Row, ...]
    by_hour: tuple[Row, ...]
    shifts: tuple[ShiftRow, ...] = ()
    entries_count: int = 0
    unmatched_void_ids: tuple[str, ...] = ()

    # The headline figures, named as the report shows them.
    @property
    def sales_units(self) -> int:
        return self.totals.sales_units

    @property
    def sales_cash_units(self) -> int:
        return self.totals.sales_cash_units

    @property
    def payouts_units(self) -> int:
        return self.totals.payouts_units

    @property
    def net_cash_units(self) -> int:
        return self.totals.net_cash_units

    @property
    def wagers_units(self) -> int:
        return self.totals.wagers_units

    @property
    def wins_units(self) -> int:
        return self.totals.wins_units

    @property
    def hold_bp(self) -> int | None:
        return self.totals.hold_bp

    @property
    def rounds(self) -> int:
        return self.totals.rounds

    @property
    def vouchers_issued_count(self) -> int:
        return self.totals.vouchers_issued_count

    @property
    def vouchers_paid_count(self) -> int:
        return self.totals.vouchers_paid_count

    def check(self) -> None:
        """Every breakdown adds up to the totals (asserted where a report enters and leaves)."""
        for name, rows in (("device", self.by_device), ("cashier", self.by_cashier), ("hour", self.by_hour)):
            if _sum(rows) != self.totals:
                raise ValidationError(f"report of {self.location_id} {self.day}: rows per {name} do not add up to the totals")

    def to_json(self) -> dict[str, Any]:
        return {
            "location_id": self.location_id,
            "day": self.day.isoformat(),
            "currency": self.currency,
            "timezone": self.timezone,
            "totals": self.totals.to_json(),
            "by_device": [r.to_json() for r in self.by_device],
            "by_cashier": [r.to_json() for r in self.by_cashier],
            "by_hour": [r.to_json() for r in self.by_hour],
            "shifts": [s.to_json() for s in self.shifts],
            "entries_count": self.entries_count,
            "unmatched_void_ids": list(self.unmatched_void_ids),
        }

    @classmethod
    def from_json(cls, data: object) -> DailyReport:
        """Parse a report (from central's endpoint or a stored row) and check that it adds up."""
        if not isinstance(data, dict):
            raise ValidationError("a report must be a JSON object")
        try:
            report = cls(
                location_id=str(data["location_id"]),
                day=date.fromisoformat(str(data["day"])),
                currency=str(data["currency"]),
                timezone=str(data["timezone"]),
                totals=Figures.from_json(data["totals"]),
                by_device=tuple(Row.from_json(r) for r in data["by_device"]),
                by_cashier=tuple(Row.from_json(r) for r in data["by_cashier"]),
                by_hour=tuple(Row.from_json(r) for r in data["by_hour"]),
                shifts=tuple(ShiftRow.from_json(s) for s in data.get("shifts", ())),
                entries_count=int(data.get("entries_count", 0)),
                unmatched_void_ids=tuple(str(v) for v in data.get("unmatched_void_ids", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"malformed report: {exc}") from exc
        report.check()
        return report

    def to_csv_rows(self) -> list[list[str]]:
        """The report as CSV rows: a header, the totals, then each breakdown; amounts as decimals."""
        return csv_rows(
            title=[["report", "location", "day", "currency", "timezone"],
                   ["daily", self.location_id, self.day.isoformat(), self.currency, self.timezone]],
            currency=self.currency, totals=self.totals,
            sections=(("device", self.by_device), ("cashier", self.by_cashier), ("hour", self.by_hour)),
        )


CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sales_count", "count"), ("sales_units", "credits"), ("sales_cash_units", "cash"), ("sales_card_units", "cash"),
    ("payouts_count", "count"), ("payouts_units", "credits"), ("payouts_cash_units", "cash"), ("net_cash_units", "cash"),
    ("rounds", "count"), ("wagers_units", "credits"), ("wins_units", "credits"), ("hold_units", "credits"), ("hold_bp", "bp"),
    ("vouchers_issued_count", "count"), ("vouchers_issued_units", "credits"),
    ("vouchers_paid_count", "count"), ("vouchers_paid_units", "credits"),
    ("tickets_in_count", "count"), ("tickets_in_units", "credits"),
    ("online_units", "credits"), ("online_fiat_units", "cash"), ("voids_count", "count"), ("over_short_units", "cash"),
)
"""The columns an export shows, and how each is formatted."""

_CSV_HEADERS = {
    "sales_count": "sales", "sales_units": "credits sold", "sales_cash_units": "sales cash", "sales_card_units": "sales card",
    "payouts_count": "payouts", "payouts_units": "credits paid out", "payouts_cash_units": "payouts cash",
    "net_cash_units": "net cash", "rounds": "rounds", "wagers_units": "wagers", "wins_units": "wins", "hold_units": "hold",
    "hold_bp": "hold %", "vouchers_issued_count": "vouchers issued", "vouchers_issued_units": "voucher credits issued",
    "vouchers_paid_count": "vouchers paid", "vouchers_paid_units": "voucher credits paid",
    "tickets_in_count": "tickets in", "tickets_in_units": "ticket credits in", "online_units": "online credits",
    "online_fiat_units": "online money", "voids_count": "voids", "over_short_units": "over/short",
}


def column_header(name: str) -> str:
    return _CSV_HEADERS[name]


def format_figure(figures: Figures, name: str, currency: str, kind: str | None = None) -> str:
    """One figure as text: counts as numbers, credits and cash with their decimals, hold as a %.

    ``kind`` ("count", "credits", "cash", "bp") defaults to the one ``CSV_COLUMNS`` gives the figure.
    """
    kind = kind or dict(CSV_COLUMNS)[name]
    value = getattr(figures, name)
    if kind == "count":
        return str(value)
    if kind == "bp":
        return format_bp(value)
    return format_units(value, CREDITS if kind == "credits" else currency)


def csv_rows(*, title: list[list[str]], currency: str, totals: Figures,
             sections: Sequence[tuple[str, Sequence[Row]]]) -> list[list[str]]:
    header = ["section", "key", *(_CSV_HEADERS[name] for name, _ in CSV_COLUMNS)]
    rows: list[list[str]] = [*title, [], header]

    def line(section: str, key: str, figures: Figures) -> list[str]:
        return [section, key, *(format_figure(figures, name, currency) for name, _ in CSV_COLUMNS)]

    rows.append(line("total", "", totals))
    for section, section_rows in sections:
        rows.extend(line(section, row.key, row.figures) for row in section_rows)
    return rows


# --- building a report from entries -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Fact:
    """The part of an entry a report reads, from a JournalEntry or its JSON form."""

    id: str
    device_id: str
    actor: str
    created_at: str
    body: Body


def _fact(entry: JournalEntry | Mapping[str, Any]) -> _Fact:
    if isinstance(entry, JournalEntry):
        return _Fact(entry.id, entry.device_id, entry.actor, entry.created_at, entry.body)
    try:
        kind, body = entry["kind"], entry["body"]
        return _Fact(str(entry["id"]), str(entry["device_id"]), str(entry["actor"]), str(entry["created_at"]),
                     body if isinstance(body, Body) else parse_body(kind, body))
    except KeyError as exc:
        raise ValidationError(f"a journal entry is missing {exc.args[0]!r}") from exc


def resolve_timezone(tz: str | tzinfo) -> tuple[tzinfo, str]:
    """A tzinfo and its name; an unknown zone name is a ValidationError, not a crash."""
    if isinstance(tz, str):
        try:
            return ZoneInfo(tz), tz
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(f"unknown time zone {tz!r} (use an IANA name like America/Chicago)") from exc
    return tz, str(getattr(tz, "key", None) or tz)


def day_bounds_utc(day: date, tz: str | tzinfo) -> tuple[datetime, datetime]:
    """The UTC instants where the local ``day`` starts and the next one starts (23 or 25 hours on DST days)."""
    zone, _ = resolve_timezone(tz)
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def _location_of(body: Body) -> str | None:
    return getattr(body, "location_id", None)


def _currency_of(body: Body) -> str | None:
    return getattr(body, "currency", None)


Sparse = dict[str, int]
"""A few non-zero figures by name: what one entry adds (cheaper to add up than a whole Figures)."""


def _figures_of(body: Body) -> Sparse:
    """What one (non-void) entry adds to a report."""
    if isinstance(body, Sale):
        money = "sales_cash_units" if body.tender == "cash" else "sales_card_units"
        return {"sales_count": 1, "sales_units": body.amount_units, money: body.cash_units}
    if isinstance(body, Redemption):
        return {"redemptions_count": 1, "redemptions_units": body.amount_units, "payouts_cash_units": body.cash_units}
    if isinstance(body, VoucherRedemption):
        return {"vouchers_paid_count": 1, "vouchers_paid_units": body.amount_units, "payouts_cash_units": body.cash_units}
    if isinstance(body, GameRound):
        return {"rounds": 1, "wagers_units": body.bet_units, "wins_units": body.win_units}
    if isinstance(body, VoucherIssue):
        return {"vouchers_issued_count": 1, "vouchers_issued_units": body.amount_units}
    if isinstance(body, SessionCheckout):
        if body.voucher_id is None:
            return {"checkouts_units": body.amount_units}
        return {"checkouts_units": body.amount_units, "tickets_in_count": 1, "tickets_in_units": body.amount_units}
    if isinstance(body, SessionCheckin):
        return {"checkins_units": body.amount_units}
    if isinstance(body, OnlinePayment):
        return {"online_count": 1, "online_units": body.amount_units, "online_fiat_units": body.fiat_units}
    if isinstance(body, ShiftClose):
        return {"over_short_units": body.difference_units}
    return {}  # shift open, cash count, mint, wholesale, adjustment: nothing a location day adds up


def _void_figures(void: Void, index: Mapping[str, _Fact], depth: int = 0) -> tuple[Sparse, _Fact] | None:
    """The figures a void books (the negative of its target), and the target; None when unknown."""
    target = index.get(void.reverses_entry_id)
    if target is None or depth >= MAX_VOID_DEPTH:
        return None
    if isinstance(target.body, Void):
        inner = _void_figures(target.body, index, depth + 1)
        if inner is None:
            return None
        reversed_figures = inner[0]
    else:
        reversed_figures = _figures_of(target.body)
    booked = {name: -value for name, value in reversed_figures.items()}
    booked["voids_count"] = booked.get("voids_count", 0) + 1
    booked["voided_sales_units"] = booked.get("voided_sales_units", 0) + reversed_figures.get("sales_units", 0)
    return booked, target


def _accumulate(into: Sparse, figures: Sparse) -> None:
    for name, value in figures.items():
        into[name] = into.get(name, 0) + value


def build_daily_report(
    entries: Iterable[JournalEntry | Mapping[str, Any]],
    *,
    location_id: str,
    day: date,
    tz: str | tzinfo,
    currency: str | None = None,
) -> DailyReport:
    """The report of ``location_id`` for local ``day`` in ``tz`` from journal entries.

    ``entries`` may hold more than the day (and should hold the entries that the day's
    voids name, whatever their day): only entries recorded on the day are counted, the
    rest only resolve voids; an entry id given twice counts once. Entries whose body names another location are ignored.
    ``currency`` is the location's cash currency; without it the entries' own is used
    (an entry in another currency is refused: a location's report is in one currency).
    """
    zone, zone_name = resolve_timezone(tz)
    start_utc, end_utc = day_bounds_utc(day, zone)
    index: dict[str, _Fact] = {}
    for entry in entries:
        fact = _fact(entry)
        index.setdefault(fact.id, fact)  # an entry given twice (a day's list plus void targets) counts once
    facts = list(index.values())

    totals: Sparse = {}
    by_device: dict[str, Sparse] = {}
    by_actor: dict[str, Sparse] = {}
    by_hour: list[Sparse] = [{} for _ in range(HOURS)]
    shifts: dict[str, dict[str, Any]] = {}
    unmatched: list[str] = []
    counted = 0

    for fact in facts:
        moment = parse_utc_timestamp(fact.created_at)
        if not start_utc <= moment < end_utc:
            continue
        body = fact.body
        if isinstance(body, Void):
            resolved = _void_figures(body, index)
            if resolved is None:
                unmatched.append(fact.id)
                continue
            figures, target = resolved
            if _location_of(target.body) not in (None, location_id):
                continue
        else:
            if _location_of(body) not in (None, location_id):
                continue
            figures = _figures_of(body)
        body_currency = _currency_of(body)
        if body_currency is not None:
            currency = currency or body_currency
            if body_currency != currency:
                raise UnitMismatchError(
                    f"entry {fact.id} is in {body_currency} but the report of {location_id} is in {currency}")
        counted += 1
        _note_shift(shifts, fact, body)
        if not any(figures.values()):
            continue
        _accumulate(totals, figures)
        _accumulate(by_device.setdefault(fact.device_id, {}), figures)
        _accumulate(by_actor.setdefault(fact.actor, {}), figures)
        _accumulate(by_hour[moment.astimezone(zone).hour], figures)

    report = DailyReport(
        location_id=location_id, day=day, currency=currency or "USD", timezone=zone_name, totals=Figures(**totals),
        by_device=tuple(Row(k, Figures(**v)) for k, v in sorted(by_device.items())),
        by_cashier=tuple(Row(k, Figures(**v)) for k, v in sorted(by_actor.items())),
        by_hour=tuple(Row(f"{h:02d}", Figures(**by_hour[h])) for h in range(HOURS)),
        shifts=tuple(ShiftRow(**s) for _, s in sorted(shifts.items())),
        entries_count=counted, unmatched_void_ids=tuple(unmatched),
    )
    report.check()
    return report


def _note_shift(shifts: dict[str, dict[str, Any]], fact: _Fact, body: Body) -> None:
    if not isinstance(body, ShiftOpen | ShiftClose):
        return
    row = shifts.setdefault(body.shift_id, {
        "shift_id": body.shift_id, "pos_id": body.pos_id, "cashier_id": None, "opened_at": None, "float_units": None,
        "closed_at": None, "expected_units": None, "counted_units": None,
    })
    if isinstance(body, ShiftOpen):
        row.update(cashier_id=body.cashier_id, opened_at=fact.created_at, float_units=body.float_units)
    else:
        row.update(closed_at=fact.created_at, expected_units=body.expected_units, counted_units=body.counted_units)


# --- roll-ups -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    """Location day reports added up: one node's subtree over a range of days, in one currency."""

    node_id: str
    first_day: date
    last_day: date
    currency: str
    totals: Figures
    by_location: tuple[Row, ...]
    by_day: tuple[Row, ...]
    by_hour: tuple[Row, ...]
    by_device: tuple[Row, ...] = ()
    by_cashier: tuple[Row, ...] = ()
    reports_count: int = 0

    def check(self) -> None:
        for name, rows in (("location", self.by_location), ("day", self.by_day), ("hour", self.by_hour)):
            if _sum(rows) != self.totals:
                raise ValidationError(f"summary of {self.node_id}: rows per {name} do not add up to the totals")

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id, "first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat(),
            "currency": self.currency, "totals": self.totals.to_json(),
            "by_location": [r.to_json() for r in self.by_location], "by_day": [r.to_json() for r in self.by_day],
            "by_hour": [r.to_json() for r in self.by_hour], "by_device": [r.to_json() for r in self.by_device],
            "by_cashier": [r.to_json() for r in self.by_cashier], "reports_count": self.reports_count,
        }

    def to_csv_rows(self) -> list[list[str]]:
        return csv_rows(
            title=[["report", "node", "first day", "last day", "currency"],
                   ["summary", self.node_id, self.first_day.isoformat(), self.last_day.isoformat(), self.currency]],
            currency=self.currency, totals=self.totals,
            sections=(("location", self.by_location), ("day", self.by_day), ("device", self.by_device),
                      ("cashier", self.by_cashier), ("hour", self.by_hour)),
        )


def _add_rows(target: dict[str, Figures], rows: Iterable[Row], prefix: str = "") -> None:
    for row in rows:
        key = prefix + row.key
        target[key] = target.get(key, ZERO) + row.figures


def summarise(reports: Sequence[DailyReport], *, node_id: str, first_day: date, last_day: date) -> list[Summary]:
    """Add up location day reports, one summary per cash currency (credits are common, cash is not).

    With no report at all the result is one empty summary in ``USD``, so a page always
    has something to show.
    """
    by_currency: dict[str, list[DailyReport]] = {}
    for report in reports:
        if not first_day <= report.day <= last_day:
            raise ValidationError(f"report of {report.day} is outside {first_day}..{last_day}")
        by_currency.setdefault(report.currency, []).append(report)
    if not by_currency:
        by_currency["USD"] = []
    summaries = []
    for currency, group in sorted(by_currency.items()):
        totals = ZERO
        locations: dict[str, Figures] = {}
        days: dict[str, Figures] = {}
        hours: dict[str, Figures] = {}
        devices: dict[str, Figures] = {}
        actors: dict[str, Figures] = {}
        for report in group:
            totals = totals + report.totals
            locations[report.location_id] = locations.get(report.location_id, ZERO) + report.totals
            days[report.day.isoformat()] = days.get(report.day.isoformat(), ZERO) + report.totals
            _add_rows(hours, report.by_hour)
            _add_rows(devices, report.by_device)
            _add_rows(actors, report.by_cashier, prefix=f"{report.location_id}/")
        all_days = [(first_day + timedelta(days=i)).isoformat() for i in range((last_day - first_day).days + 1)]
        summary = Summary(
            node_id=node_id, first_day=first_day, last_day=last_day, currency=currency, totals=totals,
            by_location=tuple(Row(k, v) for k, v in sorted(locations.items())),
            by_day=tuple(Row(d, days.get(d, ZERO)) for d in all_days),
            by_hour=tuple(Row(f"{h:02d}", hours.get(f"{h:02d}", ZERO)) for h in range(HOURS)),
            by_device=tuple(Row(k, v) for k, v in sorted(devices.items())),
            by_cashier=tuple(Row(k, v) for k, v in sorted(actors.items())),
            reports_count=len(group),
        )
        summary.check()
        summaries.append(summary)
    return summaries


__all__ = [
    "CSV_COLUMNS", "LOCATION_DAY_PATH", "DailyReport", "Figures", "Row", "ShiftRow", "Summary", "build_daily_report", "column_header",
    "day_bounds_utc", "format_bp", "format_figure", "ratio_bp", "resolve_timezone", "summarise",
]
