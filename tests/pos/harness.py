"""Driving the POS window in tests: a real enrolled station against the loopback central,
a switchable/slow transport for outages, staff with known PINs, screenshots at both sizes."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QScrollArea, QWidget
from pytestqt.qtbot import QtBot

from central_server.device_config.service import add_staff
from pos_app.receipts import ReceiptPrinter
from pos_app.service import PosService
from pos_app.window import MainWindow
from tests.central.conftest import LOCATION, Central

SIZES = ((1366, 768), (1920, 1080))
PINS = {"cashier": "1111", "manager": "9999", "owner": "7777"}
NAMES = {"cashier": "Sam Cashier", "manager": "Mia Manager", "owner": "Olu Owner"}


class Line(httpx.BaseTransport):
    """The station's line to central: up or down, and optionally slow."""

    def __init__(self, verify: ssl.SSLContext):
        self.inner = httpx.HTTPTransport(verify=verify)
        self.down = False
        self.delay_s = 0.0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.down:
            raise httpx.ConnectError("central is down (test)", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@dataclass
class Station:
    window: MainWindow
    service: PosService
    printer: ReceiptPrinter
    line: Line
    central: Central
    qtbot: QtBot
    staff_ids: dict[str, str]

    def wait(self, condition: Callable[[], Any], timeout_ms: int = 10_000) -> None:
        self.qtbot.waitUntil(lambda: bool(condition()), timeout=timeout_ms)

    def idle(self) -> None:
        self.wait(lambda: self.window.worker.busy == 0)

    def login(self, role: str = "cashier", pin: str | None = None) -> None:
        screen = self.window.login_screen
        self.wait(lambda: self.staff_ids[role] in screen.staff_buttons)
        self.qtbot.mouseClick(screen.staff_buttons[self.staff_ids[role]], Qt.MouseButton.LeftButton)
        self.qtbot.keyClicks(screen.pin, pin or PINS[role])
        self.qtbot.keyClick(screen.pin, Qt.Key.Key_Return)
        self.idle()

    def key(self, key: Qt.Key, widget: QWidget | None = None) -> None:
        self.qtbot.keyClick(widget or QApplication.focusWidget() or self.window, key)

    def scan(self, text: str) -> None:
        """A scanner burst: every character at machine speed, then Enter, into whatever has focus."""
        self.window.activateWindow()
        target = QApplication.focusWidget() or self.window
        self.qtbot.keyClicks(target, text)
        self.qtbot.keyClick(target, Qt.Key.Key_Return)

    def approve(self, pin: str, reason: str = "") -> None:
        self.wait(lambda: self.window.dialog is not None)
        dialog = self.window.dialog
        assert dialog is not None
        if reason:
            self.qtbot.keyClicks(dialog.reason, reason)
        self.qtbot.keyClicks(dialog.pin, pin)
        self.qtbot.keyClick(dialog.pin, Qt.Key.Key_Return)
        self.idle()

    def shoot(self, artifacts: Path, name: str) -> list[Path]:
        """Save the window at each size; each picture must be exactly that size (the window fits the
        smallest screen in every state) and no counter area may need scrolling."""
        folder = artifacts / "pos"
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        smallest_w, smallest_h = SIZES[0]
        for width, height in SIZES:
            self.window.resize(width, height)
            self.qtbot.wait(60)
            needed = self.window.minimumSizeHint()
            assert needed.width() <= smallest_w and needed.height() <= smallest_h, \
                f"{name}: the window needs {needed.width()}x{needed.height()}, more than {smallest_w}x{smallest_h}"
            image = self.window.grab()
            assert (image.width(), image.height()) == (width, height), \
                f"{name}: grabbed {image.width()}x{image.height()} for {width}x{height}"
            for area in self.window.findChildren(QScrollArea, "fit"):
                if area.isVisible():
                    bars = (area.verticalScrollBar().maximum(), area.horizontalScrollBar().maximum())
                    assert bars == (0, 0), f"{name} at {width}x{height}: the counter scrolls by {bars}"
            path = folder / f"{name}-{width}x{height}.png"
            assert image.save(str(path)), path
            paths.append(path)
        self.window.resize(*SIZES[0])
        return paths


def add_team(central: Central) -> dict[str, str]:
    with central.engine.begin() as conn:
        return {role: add_staff(conn, location_id=LOCATION, name=NAMES[role], role=role, pin=pin) for role, pin in PINS.items()}


def open_station(qtbot: QtBot, central: Central, data_dir: Path, staff_ids: dict[str, str], *,
                 engine_kwargs: dict[str, Any] | None = None) -> Station:
    line = Line(ssl.create_default_context(cafile=str(data_dir / "central-ca.pem")))
    printer = ReceiptPrinter("dummy", data_dir)
    service = PosService(data_dir, printer=printer, client_kwargs={"transport": line, "timeout_s": 10.0},
                         engine_kwargs={"interval_s": 0.5, **(engine_kwargs or {})})
    window = MainWindow(service)
    qtbot.addWidget(window)
    window.resize(*SIZES[0])
    window.show()
    window.start()
    station = Station(window, service, printer, line, central, qtbot, staff_ids)
    station.wait(lambda: window.opened and window.config is not None)
    return station
