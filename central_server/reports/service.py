"""Reports from central's ingested journal: a location's day, roll-ups up the tree, nightly storage.

The arithmetic is ``shared.reports`` (the same a POS runs offline); this module only
chooses which entries belong to a location and a day and where reports are kept.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from central_server.errors import Forbidden, NotFound
from central_server.reports import repository as repo
from shared.canonical import canonical_json, sha256_hex
from shared.entry import parse_utc_timestamp, utc_timestamp
from shared.errors import CafeError, ValidationError
from shared.reports import DailyReport, Summary, build_daily_report, day_bounds_utc, resolve_timezone, summarise

log = logging.getLogger("central_server.reports")

DEFAULT_TIMEZONE = "UTC"
MAX_RANGE_DAYS = 92
"""The longest range a page or export adds up at once (a quarter)."""
CLOCK_SLACK = timedelta(days=1)
"""How far ahead of central's clock a device's clock may be and its entries still be found."""


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    name: str
    parent_id: str | None
    currency: str
    timezone: str


@dataclass(frozen=True)
class Hierarchy:
    """The nodes as a tree; small (hundreds), loaded once per request."""

    nodes: dict[str, Node]

    @classmethod
    def load(cls, conn: Connection) -> Hierarchy:
        zones = repo.timezones(conn)
        return cls({row.id: Node(row.id, row.kind, row.name, row.parent_id, row.currency, zones.get(row.id, DEFAULT_TIMEZONE))
                    for row in repo.all_nodes(conn)})

    def get(self, node_id: str) -> Node:
        node = self.nodes.get(node_id)
        if node is None:
            raise NotFound(f"no node {node_id!r}")
        return node

    def ancestors(self, node_id: str) -> list[str]:
        """``node_id`` and every node above it (bounded by the number of nodes)."""
        path: list[str] = []
        current: str | None = node_id
        while current is not None and current in self.nodes and len(path) <= len(self.nodes):
            path.append(current)
            current = self.nodes[current].parent_id
        return path

    def within(self, node_id: str, root_id: str) -> bool:
        return root_id in self.ancestors(node_id)

    def locations_under(self, root_id: str) -> list[Node]:
        """The locations in ``root_id``'s subtree (itself if it is one), by id."""
        self.get(root_id)
        return [n for n in sorted(self.nodes.values(), key=lambda n: n.id) if n.kind == "location" and self.within(n.id, root_id)]

    def visible(self, root_id: str) -> list[Node]:
        """Every node in ``root_id``'s subtree, in tree order (a parent before its children)."""
        ordered: list[Node] = []

        def walk(node_id: str, depth: int) -> None:
            if depth > len(self.nodes):
                return
            ordered.append(self.nodes[node_id])
            for child in sorted(n.id for n in self.nodes.values() if n.parent_id == node_id):
                walk(child, depth + 1)

        if root_id in self.nodes:
            walk(root_id, 0)
        return ordered

    def depth(self, node_id: str) -> int:
        return len(self.ancestors(node_id)) - 1


def check_range(first_day: date, last_day: date) -> None:
    if last_day < first_day:
        raise ValidationError(f"the range ends ({last_day}) before it starts ({first_day})")
    if (last_day - first_day).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError(f"a range is at most {MAX_RANGE_DAYS} days")


def days_of(first_day: date, last_day: date) -> list[date]:
    return [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]


def location_reports(conn: Connection, location: Node, first_day: date, last_day: date) -> list[DailyReport]:
    """The location's report for each local day of the range, computed from the entries central holds.

    One scan over the range (bounded below by when entries were received, through the
    index), then each day is built from its own entries and the targets of its voids.
    """
    check_range(first_day, last_day)
    zone, _ = resolve_timezone(location.timezone)
    start_utc, _ = day_bounds_utc(first_day, zone)
    _, end_utc = day_bounds_utc(last_day, zone)
    entries = list(repo.location_entries(
        conn, location.id, received_since=utc_timestamp(start_utc - CLOCK_SLACK),
        created_from=utc_timestamp(start_utc), created_before=utc_timestamp(end_utc)))
    by_day: dict[date, list[dict[str, Any]]] = {}
    for entry in entries:
        by_day.setdefault(parse_utc_timestamp(entry["created_at"]).astimezone(zone).date(), []).append(entry)
    index = {e["id"]: e for e in entries}
    missing = {e["body"]["reverses_entry_id"] for e in entries if e["kind"] == "void"} - set(index)
    targets = repo.entries_by_id(conn, missing) if missing else []
    reports = []
    for day in days_of(first_day, last_day):
        todays = by_day.get(day, [])
        # Targets of the day's voids made on other days of the range; the pure function counts an id once.
        void_targets = [index[e["body"]["reverses_entry_id"]] for e in todays
                        if e["kind"] == "void" and e["body"]["reverses_entry_id"] in index]
        reports.append(build_daily_report([*todays, *void_targets, *targets], location_id=location.id, day=day,
                                          tz=location.timezone, currency=location.currency))
    return reports


def location_day(conn: Connection, location_id: str, day: date) -> DailyReport:
    tree = Hierarchy.load(conn)
    location = tree.get(location_id)
    if location.kind != "location":
        raise ValidationError(f"{location_id} is a {location.kind.replace('_', ' ')}, not a location")
    [report] = location_reports(conn, location, day, day)
    return report


@dataclass(frozen=True)
class NodeReport:
    """What a page shows for one node over a range: the summaries and each location's days."""

    node: Node
    first_day: date
    last_day: date
    summaries: list[Summary]
    location_days: dict[str, list[DailyReport]] = field(default_factory=dict)

    def single_location_day(self) -> DailyReport | None:
        """The one report when the node is a location and the range one day."""
        if self.node.kind == "location" and self.first_day == self.last_day:
            return self.location_days[self.node.id][0]
        return None


def node_report(conn: Connection, node_id: str, first_day: date, last_day: date, tree: Hierarchy | None = None) -> NodeReport:
    """A node's subtree over a range: each location's days, added up per currency."""
    check_range(first_day, last_day)
    tree = tree or Hierarchy.load(conn)
    node = tree.get(node_id)
    per_location = {loc.id: location_reports(conn, loc, first_day, last_day) for loc in tree.locations_under(node_id)}
    all_reports = [r for reports in per_location.values() for r in reports]
    summaries = summarise(all_reports, node_id=node_id, first_day=first_day, last_day=last_day)
    return NodeReport(node, first_day, last_day, summaries, per_location)


def device_location_day(conn: Connection, *, device_location_id: str, device_role: str, location_id: str | None,
                        day: date) -> DailyReport:
    """The report a POS may pull: its own location only; kiosks have no business reading takings."""
    if device_role != "pos":
        raise Forbidden("only a POS station may read its location's report", code="report_forbidden")
    if location_id is not None and location_id != device_location_id:
        raise Forbidden(f"this device belongs to {device_location_id}, not {location_id}", code="report_forbidden")
    return location_day(conn, device_location_id, day)


def set_timezone(conn: Connection, node_id: str, timezone: str) -> None:
    resolve_timezone(timezone)  # refuses an unknown zone
    Hierarchy.load(conn).get(node_id)
    repo.set_timezone(conn, node_id, timezone, utc_timestamp())


# --- nightly generation ---------------------------------------------------------------------------------


@dataclass
class GenerationResult:
    day: date
    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "inserted": self.inserted, "updated": self.updated,
                "unchanged": self.unchanged, "failed": self.failed}


def _store(conn: Connection, result: GenerationResult, *, node_id: str, day: date, kind: str, currency: str,
           timezone: str, payload: Any) -> None:
    data = canonical_json(payload).decode("utf-8")
    outcome = repo.store_report(conn, node_id=node_id, day=day.isoformat(), kind=kind, currency=currency, timezone=timezone,
                                data=data, report_hash=sha256_hex(data.encode("utf-8")), now=utc_timestamp())
    getattr(result, outcome).append(node_id)


def generate_nightly_reports(engine: Engine, day: date) -> GenerationResult:
    """Compute and keep every location's report of ``day`` and every other node's roll-up.

    Idempotent: a second run for the same day changes nothing unless entries arrived in
    between (then the stored report is replaced and its revision counted). Each node is
    its own transaction, so one node's bad data does not stop the others' reports. The
    OPS scheduler calls this once across instances (under its job lock) after midnight.
    """
    result = GenerationResult(day)
    with engine.connect() as conn:
        tree = Hierarchy.load(conn)
    location_reports_of_day: dict[str, DailyReport] = {}
    for location in (n for n in tree.nodes.values() if n.kind == "location"):
        try:
            with engine.begin() as conn:
                [report] = location_reports(conn, location, day, day)
                _store(conn, result, node_id=location.id, day=day, kind="location", currency=report.currency,
                       timezone=report.timezone, payload=report.to_json())
            location_reports_of_day[location.id] = report
        except CafeError as exc:
            log.error("report of %s for %s not generated: %s", location.id, day, exc)
            result.failed[location.id] = exc.message
    for node in (n for n in tree.nodes.values() if n.kind != "location"):
        reports = [location_reports_of_day[loc.id] for loc in tree.locations_under(node.id) if loc.id in location_reports_of_day]
        summaries = summarise(reports, node_id=node.id, first_day=day, last_day=day)
        with engine.begin() as conn:
            _store(conn, result, node_id=node.id, day=day, kind="rollup", currency=summaries[0].currency,
                   timezone=node.timezone, payload=[s.to_json() for s in summaries])
    return result


def stored_location_reports(conn: Connection, location_ids: Iterable[str], first_day: date, last_day: date) -> list[DailyReport]:
    """Location reports kept by the nightly job (checked to add up as they are read)."""
    rows = repo.stored_reports(conn, location_ids, first_day.isoformat(), last_day.isoformat())
    return [DailyReport.from_json(json.loads(row.data)) for row in rows if row.kind == "location"]


def stored_days(conn: Connection, node_id: str, first_day: date, last_day: date) -> Sequence[Any]:
    """The stored rows of one node (for a page that lists what the nightly job kept)."""
    return repo.stored_reports(conn, [node_id], first_day.isoformat(), last_day.isoformat())
