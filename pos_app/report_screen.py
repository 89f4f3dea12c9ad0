"""The owner's day: headline figures, sales and payouts per hour (QtCharts), per cashier and
per terminal, exported to CSV and PDF. From central when online, else this station's journal."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCharts import QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView, QValueAxis
from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPageSize, QPainter, QPdfWriter
from PySide6.QtWidgets import QFileDialog, QGridLayout, QHBoxLayout, QHeaderView, QLineEdit, QTableWidget, QVBoxLayout

from pos_app import theme
from pos_app.screens import Screen, _fill, _table, credits
from pos_app.widgets import button, label, panel, set_message
from shared.device_config import StaffMember
from shared.errors import CafeError
from shared.money import format_units
from shared.reports import DailyReport, format_bp

if TYPE_CHECKING:
    from pos_app.window import MainWindow

HEADLINES = ("Sales", "Payouts", "Net cash", "Wagers", "Wins", "Hold")
TERMINAL_ROLES = {"pos": "POS", "kiosk": "Kiosk"}  # a device id is "<role>-<uuid7>" (central_server/devices)
SHORT_ID_CHARS = 6


def short_id(value: str) -> str:
    """The end of an id: UUIDv7s made close together share their leading (time) digits, not their last ones."""
    tail = value.replace("-", "")[-SHORT_ID_CHARS:]
    return f"…{tail}" if len(value) > SHORT_ID_CHARS else value


def cashier_names(actor_ids: Iterable[str], staff: Sequence[StaffMember]) -> dict[str, str]:
    """Each actor by the staff name the device config gives it, else by a short id (kiosk players, old staff)."""
    names = {member.id: member.name for member in staff}
    return {actor: names.get(actor) or short_id(actor) for actor in actor_ids}


def terminal_labels(device_ids: Iterable[str], this_device_id: str | None = None) -> dict[str, str]:
    """ "POS 1", "POS 2", "Kiosk 1": numbered per role in the order the devices were enrolled (their ids
    are UUIDv7s, so sorting them sorts by time); an id of no known role shows as a short id."""
    labels: dict[str, str] = {}
    numbers: dict[str, int] = {}
    for device_id in sorted(set(device_ids)):
        role, _, rest = device_id.partition("-")
        if role in TERMINAL_ROLES and rest:
            numbers[role] = numbers.get(role, 0) + 1
            labels[device_id] = f"{TERMINAL_ROLES[role]} {numbers[role]}"
        else:
            labels[device_id] = short_id(device_id)
        if device_id == this_device_id:
            labels[device_id] += " · this station"
    return labels


class ReportScreen(Screen):
    title = "Day report"

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.report: DailyReport | None = None
        self.source = ""
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        head = QVBoxLayout()
        self.sub = self.header(head, "Pick a day and load it.")
        top.addLayout(head, 1)
        self.day = QLineEdit(dt.date.today().isoformat())
        self.day.setMaximumWidth(180)
        self.day.returnPressed.connect(self.load)
        top.addWidget(self.day)
        self.load_button = button("Load", "primary", key="Enter")
        self.load_button.clicked.connect(self.load)
        top.addWidget(self.load_button)
        self.csv_button = button("Export CSV")
        self.csv_button.clicked.connect(lambda: self.export_csv(None))
        self.pdf_button = button("Export PDF")
        self.pdf_button.clicked.connect(lambda: self.export_pdf(None))
        top.addWidget(self.csv_button)
        top.addWidget(self.pdf_button)
        outer.addLayout(top)
        tiles = QHBoxLayout()
        self.tiles: dict[str, object] = {}
        for name in HEADLINES:
            box, layout = panel()
            layout.addWidget(label(name.upper(), "caption"))
            value = label("—", "amount")
            value.setStyleSheet("font-size: 26px;")
            layout.addWidget(value)
            self.tiles[name] = value
            tiles.addWidget(box)
        outer.addLayout(tiles)
        body = QGridLayout()
        self.chart = QChart()
        self.chart.setBackgroundBrush(QColor(theme.PANEL))
        self.chart.setTitleBrush(QColor(theme.TEXT))
        self.chart.legend().setLabelColor(QColor(theme.TEXT))
        self.chart.setTitle("Sales and payouts by hour (credits)")
        self.chart_view = QChartView(self.chart)
        self.chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.chart_view.setMinimumHeight(220)
        body.addWidget(self.chart_view, 0, 0, 1, 2)
        self.cashiers = _table(["Cashier", "Sales", "Payouts", "Net cash"])
        self.devices = _table(["Terminal", "Sales", "Payouts", "Wagers"])
        for table in (self.cashiers, self.devices):
            table.setMinimumHeight(140)  # the header and two rows
            _name_column_first(table)
        body.addWidget(self.cashiers, 1, 0)
        body.addWidget(self.devices, 1, 1)
        body.setRowStretch(0, 3)
        body.setRowStretch(1, 2)
        outer.addLayout(body, 1)
        self.message = label("", "message", wrap=True)
        outer.addWidget(self.message)

    def shown(self) -> None:
        if self.report is None:
            self.load()

    def load(self) -> None:
        try:
            day = dt.date.fromisoformat(self.day.text().strip())
        except ValueError:
            set_message(self.message, "Type the day as YYYY-MM-DD.", error=True)
            return
        set_message(self.message, "Loading…")
        self.win.worker.run(lambda: self.win.service.day_report(day), self._loaded, self._failed, lane="lookup")

    def _failed(self, exc: CafeError) -> None:
        set_message(self.message, exc.message, error=True)

    def _loaded(self, result: tuple[DailyReport, str]) -> None:
        self.report, self.source = result
        r, c = self.report, self.report.currency
        self.sub.setText(f"{r.location_id} · {r.day.isoformat()} ({r.timezone}) · from {self.source}")
        values = {"Sales": credits(r.sales_units), "Payouts": credits(r.payouts_units),
                  "Net cash": f"{format_units(r.net_cash_units, c)} {c}", "Wagers": credits(r.wagers_units),
                  "Wins": credits(r.wins_units), "Hold": format_bp(r.hold_bp)}
        for name, text in values.items():
            self.tiles[name].setText(text)  # type: ignore[attr-defined]
        self._chart(r)
        cashiers = self.cashier_names()
        terminals = self.terminal_labels()
        _fill(self.cashiers, [[cashiers[row.key], credits(row.figures.sales_units), credits(row.figures.payouts_units),
                               format_units(row.figures.net_cash_units, c)] for row in r.by_cashier])
        _fill(self.devices, [[terminals[row.key], credits(row.figures.sales_units), credits(row.figures.payouts_units),
                              credits(row.figures.wagers_units)] for row in r.by_device])
        for table, rows in ((self.cashiers, r.by_cashier), (self.devices, r.by_device)):
            for i, row in enumerate(rows):
                item = table.item(i, 0)
                if item is not None:
                    item.setToolTip(row.key)  # the full id, for support
        set_message(self.message, f"{r.entries_count} entries" + ("" if self.source == "central" else
                                                                  " — offline: only this station's own figures"))

    def cashier_names(self) -> dict[str, str]:
        assert self.report is not None
        config = self.win.config
        return cashier_names((row.key for row in self.report.by_cashier), config.staff if config else ())

    def terminal_labels(self) -> dict[str, str]:
        assert self.report is not None
        device = self.win.service.device
        return terminal_labels((row.key for row in self.report.by_device), device.device_id if device else None)

    def _chart(self, report: DailyReport) -> None:
        self.chart.removeAllSeries()
        for axis in self.chart.axes():
            self.chart.removeAxis(axis)
        hours = [row for row in report.by_hour if not row.figures.is_zero()] or list(report.by_hour[8:20])
        sales, payouts = QBarSet("Sales"), QBarSet("Payouts")
        sales.setColor(QColor(theme.ACCENT))
        payouts.setColor(QColor(theme.WARN))
        for row in hours:
            sales.append(row.figures.sales_units / 100)
            payouts.append(row.figures.payouts_units / 100)
        series = QBarSeries()
        series.append(sales)
        series.append(payouts)
        self.chart.addSeries(series)
        x = QBarCategoryAxis()
        x.append([f"{row.key}:00" for row in hours])
        x.setLabelsColor(QColor(theme.TEXT))
        y = QValueAxis()
        y.setLabelFormat("%.0f")
        y.setLabelsColor(QColor(theme.TEXT))
        y.setMin(0)
        self.chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        self.chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x)
        series.attachAxis(y)
        y.applyNiceNumbers()  # ticks at round credits, not at fifths of the highest bar

    def export_csv(self, path: Path | None) -> Path | None:
        if self.report is None:
            return None
        path = path or self._ask("CSV (*.csv)", ".csv")
        if path is None:
            return None
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerows(self.report.to_csv_rows())
        set_message(self.message, f"Saved {path}")
        return path

    def export_pdf(self, path: Path | None) -> Path | None:
        if self.report is None:
            return None
        path = path or self._ask("PDF (*.pdf)", ".pdf")
        if path is None:
            return None
        writer = QPdfWriter(str(path))
        writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        writer.setResolution(150)
        writer.setTitle(f"Day report {self.report.location_id} {self.report.day.isoformat()}")
        painter = QPainter(writer)
        try:
            self._paint_pdf(painter, writer.width(), writer.height())
        finally:
            painter.end()
        set_message(self.message, f"Saved {path}")
        return path

    def _paint_pdf(self, painter: QPainter, width: int, height: int) -> None:
        assert self.report is not None
        r, c = self.report, self.report.currency
        painter.setFont(QFont("DejaVu Sans", 16, QFont.Weight.Bold))
        painter.drawText(0, 60, f"Day report — {r.location_id} — {r.day.isoformat()}")
        painter.setFont(QFont("DejaVu Sans", 9))
        painter.drawText(0, 110, f"Source: {self.source}; time zone {r.timezone}; currency {c}")
        y = 170
        for name in HEADLINES:
            painter.drawText(0, y, name)
            painter.drawText(500, y, self.tiles[name].text())  # type: ignore[attr-defined]
            y += 45
        chart_rect = QRectF(0, y + 20, width, height * 0.35)
        self.chart_view.render(painter, chart_rect.marginsRemoved(QMarginsF(0, 0, 0, 0)))
        y = int(chart_rect.bottom()) + 60
        painter.setFont(QFont("DejaVu Sans", 9, QFont.Weight.Bold))
        painter.drawText(0, y, "Per cashier: sales / payouts / net cash")
        painter.setFont(QFont("DejaVu Sans", 9))
        names = self.cashier_names()
        for row in r.by_cashier:
            y += 40
            f = row.figures
            painter.drawText(0, y, f"{names[row.key][:24]}   {credits(f.sales_units)}   {credits(f.payouts_units)}   "
                                   f"{format_units(f.net_cash_units, c)}")

    def _ask(self, kind: str, suffix: str) -> Path | None:
        name, _ = QFileDialog.getSaveFileName(self, "Export", f"day-report-{self.day.text()}{suffix}", kind)
        return Path(name) if name else None


def _name_column_first(table: QTableWidget) -> None:
    """The name takes the width the figures leave."""
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
