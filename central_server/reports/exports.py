"""CSV and PDF exports of a location day report or a node's summary (fpdf2, charts embedded as SVG)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date

from fpdf import FPDF

from central_server.reports import charts
from shared.money import CREDITS, format_units
from shared.reports import DailyReport, Figures, Row, Summary, format_bp, format_figure

PAGE_W_MM = 297  # A4 landscape: the tables have many columns
MARGIN_MM = 12
TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (header, figure, unit kind)
    ("Credits sold", "sales_units", "credits"),
    ("Cash in", "sales_cash_units", "cash"),
    ("Card in", "sales_card_units", "cash"),
    ("Paid out", "payouts_units", "credits"),
    ("Cash out", "payouts_cash_units", "cash"),
    ("Net cash", "net_cash_units", "cash"),
    ("Wagers", "wagers_units", "credits"),
    ("Wins", "wins_units", "credits"),
    ("Hold", "hold_bp", "bp"),
    ("Rounds", "rounds", "count"),
    ("Voids", "voids_count", "count"),
)


def cell_text(figures: Figures, name: str, kind: str, currency: str) -> str:
    return format_figure(figures, name, currency, kind)


def csv_bytes(report: DailyReport | Summary) -> bytes:
    """UTF-8 CSV (with a BOM so spreadsheet programs detect the encoding)."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(report.to_csv_rows())
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def _latin1(text: str) -> str:
    """The PDF's core fonts are Latin-1: replace the few typographic characters we use."""
    return text.replace("–", "-").replace("…", "...").replace("—", "-").encode("latin-1", "replace").decode("latin-1")


class _Pdf(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("helvetica", size=8)
        self.set_text_color(107, 114, 128)
        self.cell(0, 5, _latin1(f"{self.footer_text}    page {self.page_no()}/{{nb}}"), align="R")


def _new_pdf(title: str, subtitle: str) -> _Pdf:
    pdf = _Pdf(orientation="L", unit="mm", format="A4")
    pdf.footer_text = f"cafesuite - {title}"
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(True, margin=14)
    pdf.set_title(title)
    pdf.set_creator("cafesuite central")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 18)
    pdf.set_text_color(31, 41, 55)
    pdf.cell(0, 9, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=10)
    pdf.set_text_color(107, 114, 128)
    pdf.cell(0, 6, _latin1(subtitle), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    return pdf


def _kpis(pdf: _Pdf, totals: Figures, currency: str) -> None:
    tiles = [
        ("Credits sold", format_units(totals.sales_units, CREDITS)),
        ("Credits paid out", format_units(totals.payouts_units, CREDITS)),
        (f"Net cash ({currency})", format_units(totals.net_cash_units, currency)),
        ("Wagers", format_units(totals.wagers_units, CREDITS)),
        ("Wins", format_units(totals.wins_units, CREDITS)),
        ("Hold", format_bp(totals.hold_bp)),
    ]
    gap = 3
    width = (PAGE_W_MM - 2 * MARGIN_MM - gap * (len(tiles) - 1)) / len(tiles)
    x0, y0 = pdf.get_x(), pdf.get_y()
    for i, (label, value) in enumerate(tiles):
        x = x0 + i * (width + gap)
        pdf.set_fill_color(243, 244, 246)
        pdf.rect(x, y0, width, 18, style="F")
        pdf.set_xy(x + 3, y0 + 2)
        pdf.set_font("helvetica", size=8)
        pdf.set_text_color(107, 114, 128)
        pdf.cell(width - 6, 4, _latin1(label.upper()))
        pdf.set_xy(x + 3, y0 + 8)
        pdf.set_font("helvetica", "B", 14)
        pdf.set_text_color(31, 41, 55)
        pdf.cell(width - 6, 8, _latin1(value))
    pdf.set_xy(x0, y0 + 22)


def _charts(pdf: _Pdf, svgs: Sequence[str]) -> None:
    """Two charts side by side per row, each scaled to half the page width."""
    width = (PAGE_W_MM - 2 * MARGIN_MM - 6) / 2
    for start in range(0, len(svgs), 2):
        y = pdf.get_y()
        heights = []
        for offset, svg in enumerate(svgs[start:start + 2]):
            info = pdf.image(io.BytesIO(svg.encode("utf-8")), x=MARGIN_MM + offset * (width + 6), y=y, w=width)
            heights.append(float(info.rendered_height))
        pdf.set_y(y + max(heights) + 4)


def _table(pdf: _Pdf, heading: str, first_header: str, rows: Sequence[Row], currency: str, *,
           total: Figures | None = None, names: dict[str, str] | None = None) -> None:
    names = names or {}
    if pdf.get_y() > 170:
        pdf.add_page()
    pdf.set_font("helvetica", "B", 12)
    pdf.set_text_color(31, 41, 55)
    pdf.cell(0, 8, _latin1(heading), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=8.5)
    first_w = 44
    col_w = (PAGE_W_MM - 2 * MARGIN_MM - first_w) / len(TABLE_COLUMNS)
    with pdf.table(col_widths=(first_w, *([col_w] * len(TABLE_COLUMNS))), text_align=("LEFT", *(["RIGHT"] * len(TABLE_COLUMNS))),
                   line_height=5.2, headings_style=_heading_style(), cell_fill_color=(249, 250, 251),
                   cell_fill_mode="ROWS", borders_layout="HORIZONTAL_LINES") as table:
        table.row([_latin1(first_header), *(h for h, _, _ in TABLE_COLUMNS)])
        for row in rows:
            table.row([_latin1(names.get(row.key, row.key)),
                       *(_latin1(cell_text(row.figures, name, kind, currency)) for _, name, kind in TABLE_COLUMNS)])
        if total is not None:
            table.row(["Total", *(_latin1(cell_text(total, name, kind, currency)) for _, name, kind in TABLE_COLUMNS)])
    pdf.ln(4)


def _heading_style() -> object:
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=(31, 41, 55))


def _shifts(pdf: _Pdf, report: DailyReport) -> None:
    if not report.shifts:
        return
    if pdf.get_y() > 170:
        pdf.add_page()
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(0, 8, "Shifts", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=8.5)
    with pdf.table(text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"), line_height=5.2,
                   headings_style=_heading_style(), borders_layout="HORIZONTAL_LINES") as table:
        table.row(["Shift", "Station", "Cashier", "Opening float", "Expected", "Counted", "Over / short"])
        for s in report.shifts:
            money = [format_units(v, report.currency) if v is not None else "-" for v in
                     (s.float_units, s.expected_units, s.counted_units, s.difference_units)]
            table.row([_latin1(s.shift_id), _latin1(s.pos_id), _latin1(s.cashier_id or "-"), *money])
    pdf.ln(4)


def day_pdf(report: DailyReport, *, location_name: str, names: dict[str, str] | None = None) -> bytes:
    """The location day report as a PDF: headline figures, charts, then per device, cashier, hour and shift."""
    title = f"Daily report - {location_name}"
    subtitle = (f"{report.day:%A %d %B %Y} ({report.timezone}), location {report.location_id}, cash in {report.currency}; "
                f"{report.entries_count} journal entries")
    pdf = _new_pdf(title, subtitle)
    _kpis(pdf, report.totals, report.currency)
    _charts(pdf, [charts.sales_payouts_by_hour(report.by_hour), charts.wagers_wins_by_hour(report.by_hour)])
    _table(pdf, "Per device", "Device", report.by_device, report.currency, total=report.totals, names=names)
    _table(pdf, "Per cashier", "Cashier / actor", report.by_cashier, report.currency, total=report.totals, names=names)
    _table(pdf, "Per hour", "Hour", [r for r in report.by_hour if not r.figures.is_zero()], report.currency,
           total=report.totals)
    _shifts(pdf, report)
    if report.unmatched_void_ids:
        pdf.set_font("helvetica", "I", 9)
        pdf.multi_cell(0, 5, _latin1("Voids naming an entry central does not hold (not counted): "
                                     + ", ".join(report.unmatched_void_ids)))
    return bytes(pdf.output())


def summary_pdf(summary: Summary, *, node_name: str, names: dict[str, str] | None = None) -> bytes:
    """A node's roll-up over a range: headline figures, charts, then per location and per day."""
    span = _span(summary.first_day, summary.last_day)
    pdf = _new_pdf(f"Summary - {node_name}", f"{span}, {summary.reports_count} location days, cash in {summary.currency}")
    _kpis(pdf, summary.totals, summary.currency)
    svgs = [charts.by_day(summary.by_day) if len(summary.by_day) > 1 else charts.sales_payouts_by_hour(summary.by_hour),
            charts.per_location(summary.by_location, names=names)]
    _charts(pdf, svgs)
    _table(pdf, "Per location", "Location", summary.by_location, summary.currency, total=summary.totals, names=names)
    _table(pdf, "Per day", "Day", summary.by_day, summary.currency, total=summary.totals)
    return bytes(pdf.output())


def _span(first: date, last: date) -> str:
    return f"{first:%d %b %Y}" if first == last else f"{first:%d %b %Y} to {last:%d %b %Y}"
