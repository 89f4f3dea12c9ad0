"""Console pages of the reports area: a node's report over a day or a range, CSV and PDF exports.

Routes are declared with the console's ``console_access(REPORTS_VIEW, target="node_id")``,
so the console's ``enforce_access`` checks the session, the role and that the node lies
in the user's subtree (an owner sees only their location; deny by default), and the
access-matrix test covers them. ``register(router)`` adds them to a router that carries
that dependency; ``central_server.reports.endpoints`` mounts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection

from central_server.console import access
from central_server.console.web import (
    PREFIX,
    ConsoleUser,
    add_nav_item,
    add_template_dir,
    console_access,
    current_user,
    render_page,
)
from central_server.db import Tx
from central_server.reports import charts, exports, service
from central_server.reports import repository as repo
from shared.errors import ValidationError
from shared.money import CREDITS
from shared.reports import Figures, Summary, format_bp, resolve_timezone

HERE = Path(__file__).parent
BASE = f"{PREFIX}/reports"

add_template_dir(HERE / "templates")
add_nav_item("Reports", BASE, access.REPORTS_VIEW)

User = Annotated[ConsoleUser, Depends(current_user)]


def _parse(text: str | None, what: str) -> date | None:
    if text is None or text == "":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"{what} must be a date like 2026-11-25, got {text!r}") from exc


def today_at(node: service.Node) -> date:
    zone, _ = resolve_timezone(node.timezone)
    return datetime.now(UTC).astimezone(zone).date()


def parse_range(node: service.Node, first: str | None, last: str | None) -> tuple[date, date]:
    """The range asked for; no dates means the node's today, one date means that day."""
    first_day, last_day = _parse(first, "from"), _parse(last, "to")
    first_day = first_day or last_day or today_at(node)
    last_day = last_day or first_day
    service.check_range(first_day, last_day)
    return first_day, last_day


@dataclass(frozen=True)
class Branch:
    """A direct child of the node with the totals of its subtree (one per currency)."""

    node: service.Node
    currency: str
    figures: Figures


def _branches(tree: service.Hierarchy, node_id: str, report: service.NodeReport) -> list[Branch]:
    rows: list[Branch] = []
    for child in tree.visible(node_id)[1:]:
        if child.parent_id != node_id:
            continue
        by_currency: dict[str, Figures] = {}
        for location in tree.locations_under(child.id):
            for day_report in report.location_days.get(location.id, []):
                by_currency[day_report.currency] = by_currency.get(day_report.currency, Figures()) + day_report.totals
        for currency, figures in sorted(by_currency.items()) or [(child.currency, Figures())]:
            rows.append(Branch(child, currency, figures))
    return rows


def _names(conn: Connection, tree: service.Hierarchy, report: service.NodeReport) -> dict[str, str]:
    locations = list(report.location_days)
    staff = repo.staff_names(conn, locations)
    names = {**repo.device_labels(conn, locations), **staff}
    # A summary's cashier rows are keyed "location/actor" (actors are only unique per location).
    names.update({f"{loc}/{actor}": f"{name} ({tree.nodes[loc].name})" for loc in locations for actor, name in staff.items()
                  if loc in tree.nodes})
    names.update({n.id: n.name for n in tree.nodes.values()})
    return names


def _quick_ranges(node: service.Node) -> list[tuple[str, date, date]]:
    today = today_at(node)
    month_start = today.replace(day=1)
    return [("Today", today, today), ("Yesterday", today - timedelta(days=1), today - timedelta(days=1)),
            ("Last 7 days", today - timedelta(days=6), today), ("This month", month_start, today)]


def _link(node_id: str, first: date, last: date, suffix: str = "") -> str:
    return f"{BASE}/{node_id}{suffix}?{urlencode({'from': first.isoformat(), 'to': last.isoformat()})}"


def _summary_charts(summary: Summary, names: dict[str, str], single_location: bool) -> list[str]:
    first = charts.by_day(summary.by_day) if len(summary.by_day) > 1 else charts.sales_payouts_by_hour(summary.by_hour)
    second = charts.wagers_wins_by_hour(summary.by_hour)
    third = (charts.per_device(summary.by_device, names=names) if single_location
             else charts.per_location(summary.by_location, names=names))
    return [first, second, third]


def page(request: Request, user: User, conn: Tx, node_id: str,
         first: Annotated[str | None, Query(alias="from", max_length=32)] = None,
         last: Annotated[str | None, Query(alias="to", max_length=32)] = None) -> Response:
    """The report of a node (location, distributor, head office) over a day or a range."""
    tree = service.Hierarchy.load(conn)
    node = tree.get(node_id)
    error = None
    try:
        first_day, last_day = parse_range(node, first, last)
    except ValidationError as exc:
        error = exc.message
        first_day = last_day = today_at(node)
    report = service.node_report(conn, node_id, first_day, last_day, tree)
    names = _names(conn, tree, report)
    day_report = report.single_location_day()
    context: dict[str, Any] = {
        "title": f"Reports · {node.name}", "crumb_node": node_id, "node": node, "report": report, "day": day_report,
        "first": first_day, "last": last_day, "error": error, "names": names, "CREDITS": CREDITS,
        "format_bp": format_bp, "quick": _quick_ranges(node), "link": _link,
        "branches": _branches(tree, node_id, report) if node.kind != "location" else [],
        "day_charts": ([charts.sales_payouts_by_hour(day_report.by_hour), charts.wagers_wins_by_hour(day_report.by_hour),
                        charts.per_device(day_report.by_device, names=names)] if day_report else []),
        "chart_list": lambda summary: _summary_charts(summary, names, node.kind == "location"),
        "location_link": lambda key: _link(key, first_day, last_day),
        "day_link": lambda key: _link(node_id, date.fromisoformat(key), date.fromisoformat(key)),
        "hours": lambda rows: [r for r in rows if not r.figures.is_zero()],
        "columns": exports.TABLE_COLUMNS, "cell": exports.cell_text,
    }
    return render_page(request, user, "reports/report.html", context, status_code=422 if error else 200)


def _export_name(node_id: str, first: date, last: date, extension: str) -> str:
    span = first.isoformat() if first == last else f"{first.isoformat()}_{last.isoformat()}"
    return f"report-{node_id}-{span}.{extension}"


def _export(conn: Connection, node_id: str, first: str | None, last: str | None, kind: str) -> Response:
    tree = service.Hierarchy.load(conn)
    node = tree.get(node_id)
    first_day, last_day = parse_range(node, first, last)
    report = service.node_report(conn, node_id, first_day, last_day, tree)
    names = _names(conn, tree, report)
    day_report = report.single_location_day()
    filename = _export_name(node_id, first_day, last_day, kind)
    if kind == "csv":
        parts = [exports.csv_bytes(day_report)] if day_report else [exports.csv_bytes(s) for s in report.summaries]
        body, media = b"\r\n".join(parts), "text/csv; charset=utf-8"
    elif day_report:
        body, media = exports.day_pdf(day_report, location_name=node.name, names=names), "application/pdf"
    else:
        # One PDF per currency would be two downloads; the first summary carries most locations.
        body, media = exports.summary_pdf(report.summaries[0], node_name=node.name, names=names), "application/pdf"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                                     "Cache-Control": "private, no-store"})


def export_csv(user: User, conn: Tx, node_id: str,
               first: Annotated[str | None, Query(alias="from", max_length=32)] = None,
               last: Annotated[str | None, Query(alias="to", max_length=32)] = None) -> Response:
    return _export(conn, node_id, first, last, "csv")


def export_pdf(user: User, conn: Tx, node_id: str,
               first: Annotated[str | None, Query(alias="from", max_length=32)] = None,
               last: Annotated[str | None, Query(alias="to", max_length=32)] = None) -> Response:
    return _export(conn, node_id, first, last, "pdf")


def index(user: User) -> Response:
    """Reports start at the user's own node."""
    return RedirectResponse(f"{BASE}/{user.node_id}", status_code=303)


def register(router: APIRouter) -> None:
    """Add the report pages to a console router (one that runs the console's ``enforce_access``)."""
    router.add_api_route("/reports", console_access(access.REPORTS_VIEW)(index), methods=["GET"])
    router.add_api_route("/reports/{node_id}", console_access(access.REPORTS_VIEW, target="node_id")(page), methods=["GET"])
    router.add_api_route("/reports/{node_id}/export.csv", console_access(access.REPORTS_VIEW, target="node_id")(export_csv),
                         methods=["GET"])
    router.add_api_route("/reports/{node_id}/export.pdf", console_access(access.REPORTS_VIEW, target="node_id")(export_pdf),
                         methods=["GET"])
