"""Kiosk test harness: the real window under offscreen Qt, a real central over loopback HTTPS,
a really enrolled kiosk with its SQLCipher journal. Fakes only for the clock and the
ticket printer (python-escpos's in-memory Dummy printer)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from central_server.device_config import service as staff_service
from kiosk_app.printer import VoucherPrinter
from kiosk_app.service import KioskService
from kiosk_app.window import KioskWindow
from kiosk_app.worker import pump_events
from shared.protocol import PLAYERS_PATH
from tests.central.conftest import LOCATION, Central, Device

TECH_PIN = "246810"
CASHIER_PIN = "135790"
PLAYER_PIN = "4321"
SIZES = ((1366, 768), (1920, 1080))


@pytest.fixture(params=["sqlite"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite by default (central's own tests cover both stores); a test asks for PostgreSQL with
    ``@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)``."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'central.db'}"
    return str(request.getfixturevalue("pg_url"))


class FakeClock:
    """Monotonic seconds the test moves by hand (reality checks, idle time-outs)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class PlayerCard:
    player_id: str
    card_number: str
    pin: str


def register_player(pos: Device, credits_units: int, *, pin: str = PLAYER_PIN, name: str = "Ada Lovelace") -> PlayerCard:
    response = pos.request("POST", PLAYERS_PATH + "/register", {
        "full_name": name, "date_of_birth": "1990-12-10", "phone": "+1 555 010 2000", "pin": pin})
    assert response.status_code == 200, response.text
    player = response.json()
    if credits_units:
        pos.sale(player["player_id"], credits_units, credits_units)
        assert pos.push(pos.chain).status_code == 200
    return PlayerCard(player["player_id"], player["card_number"], pin)


@pytest.fixture
def staff(central: Central) -> None:
    with central.engine.begin() as conn:
        staff_service.add_staff(conn, location_id=LOCATION, name="Tess Technician", role="technician", pin=TECH_PIN)
        staff_service.add_staff(conn, location_id=LOCATION, name="Cal Cashier", role="cashier", pin=CASHIER_PIN)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass
class Kiosk:
    window: KioskWindow
    service: KioskService
    clock: FakeClock
    data_dir: Path
    qtbot: Any
    central: Central
    cable: Cable

    def wait_screen(self, name: str, timeout_ms: int = 15000) -> None:
        self.qtbot.waitUntil(lambda: self.window.current == name, timeout=timeout_ms)

    def idle(self, timeout_ms: int = 15000) -> None:
        """Wait until every service call has answered."""
        self.qtbot.waitUntil(lambda: self.window.worker.busy == 0, timeout=timeout_ms)

    def shoot(self, artifacts: Path, name: str) -> list[Path]:
        folder = artifacts / "kiosk"
        folder.mkdir(parents=True, exist_ok=True)
        saved = []
        for width, height in SIZES:
            self.window.resize(width, height)
            pump_events()
            self.qtbot.wait(30)
            path = folder / f"{name}-{width}x{height}.png"
            image = self.window.grab()
            assert (image.width(), image.height()) == (width, height), f"{name} does not fit {width}x{height}"
            assert image.save(str(path)), path
            saved.append(path)
        self.window.resize(*SIZES[0])
        return saved


class Cable(httpx.BaseTransport):
    """The kiosk's network cable: real TLS to central while plugged in, a connect error once pulled."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.inner: httpx.HTTPTransport | None = None  # made at first use: the CA arrives with enrollment
        self.plugged = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.plugged:
            raise httpx.ConnectError("network cable pulled", request=request)
        if self.inner is None:
            self.inner = httpx.HTTPTransport(verify=ssl.create_default_context(cafile=str(self.data_dir / "central-ca.pem")))
        return self.inner.handle_request(request)

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()


def open_kiosk(qtbot: Any, central: Central, data_dir: Path, clock: FakeClock, cable: Cable | None = None) -> Kiosk:
    window_ref: list[KioskWindow] = []
    cable = cable or Cable(data_dir)
    service = KioskService(data_dir, printer=VoucherPrinter("dummy", data_dir), clock=clock,
                           engine_kwargs={"interval_s": 2.0}, client_kwargs={"transport": cable},
                           on_status=lambda s: window_ref[0].on_sync_status(s) if window_ref else None)
    window = KioskWindow(service, windowed=True, clock=clock)
    window_ref.append(window)
    qtbot.addWidget(window)
    window.enter_kiosk_mode()
    window.start()
    return Kiosk(window, service, clock, data_dir, qtbot, central, cable)


def shut(k: Kiosk) -> None:
    k.window._exit_allowed = True
    k.window.close()
    k.service.close()


@pytest.fixture
def kiosk_app(qtbot: Any, central: Central, enrolled_device: Any, staff: None, clock: FakeClock) -> Iterator[Kiosk]:
    """An enrolled kiosk, started, on its attract screen, with the location's staff pulled."""
    k = open_kiosk(qtbot, central, enrolled_device("kiosk"), clock)
    k.wait_screen("attract")
    qtbot.waitUntil(lambda: len(getattr(k.service.config(), "staff", ())) == 2, timeout=15000)
    yield k
    shut(k)
