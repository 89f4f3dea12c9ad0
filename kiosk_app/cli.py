"""``python -m kiosk_app`` and ``cafe kiosk``: start the player kiosk.

``--smoke`` starts offscreen, shows the first screen and exits 0 (the installer test);
``--windowed`` keeps a normal window for development (kiosk mode still ignores the close
button: leave with a technician PIN, or Ctrl+C in the terminal).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared import __version__
from shared.errors import CafeError

SMOKE_TIMEOUT_S = 20


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("cafesuite")) / "kiosk"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=None, help="the kiosk's data folder (journal, tickets, sounds)")
    parser.add_argument("--central", default="", help="central's URL, filled in on the enrollment screen")
    parser.add_argument("--windowed", action="store_true", help="a normal 1366×768 window instead of full-screen (development)")
    parser.add_argument("--printer", default="file:",
                        help="ticket printer: file:PATH (default: a file per ticket), network:HOST[:PORT], dummy")
    parser.add_argument("--mute", action="store_true", help="no sound effects")
    parser.add_argument("--smoke", action="store_true", help="start offscreen, show the first screen, exit 0")
    parser.add_argument("--version", action="version", version=f"cafesuite kiosk {__version__}")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("kiosk", help="start the player kiosk")
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.smoke:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    data_dir: Path = args.data_dir or default_data_dir()
    if data_dir.exists() and not data_dir.is_dir():
        raise CafeError(f"--data-dir {data_dir} is a file, not a folder")
    from kiosk_app.printer import PrinterError

    if args.printer.partition(":")[0] not in ("file", "network", "dummy"):
        raise PrinterError(f"unknown printer {args.printer!r}: use file:PATH, network:HOST[:PORT] or dummy")
    return launch(data_dir, central=args.central, windowed=args.windowed or args.smoke, printer=args.printer,
                  mute=args.mute or args.smoke, smoke=args.smoke)


def launch(data_dir: Path, *, central: str = "", windowed: bool = False, printer: str = "file:", mute: bool = False,
           smoke: bool = False) -> int:
    from PySide6.QtWidgets import QApplication

    from kiosk_app.printer import VoucherPrinter
    from kiosk_app.service import KioskService
    from kiosk_app.sounds import Sounds
    from kiosk_app.window import KioskWindow
    from sync.logs import setup_device_logging

    data_dir.mkdir(parents=True, exist_ok=True)
    setup_device_logging(data_dir, "kiosk")  # rotated files in <data-dir>/logs, what cafe support-bundle packs
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window_ref: list[KioskWindow] = []
    service = KioskService(data_dir, printer=VoucherPrinter(printer, data_dir),
                           on_status=lambda s: window_ref[0].on_sync_status(s) if window_ref else None)
    sounds = Sounds(data_dir / "sounds", enabled=not mute)
    window = KioskWindow(service, windowed=windowed, sounds=sounds)
    window_ref.append(window)
    if central:
        window.enroll_screen.url.setText(central)
    window.enter_kiosk_mode()
    window.start()
    if smoke:
        return _smoke(app, window, service)
    pump = None
    if windowed:
        signal.signal(signal.SIGINT, lambda *_: _quit(window))
        pump = _python_signal_pump()
    try:
        app.exec()
    finally:
        service.close()
        del pump
    return 0


def _quit(window: Any) -> None:
    window._exit_allowed = True  # a developer's Ctrl+C in the terminal (windowed mode only)
    window.close()


def _python_signal_pump() -> Any:
    """Let Python see Ctrl+C while Qt's loop runs (it only checks between Python bytecodes)."""
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.start(250)
    timer.timeout.connect(lambda: None)
    return timer


def _smoke(app: Any, window: Any, service: Any) -> int:
    from kiosk_app.worker import pump_events

    deadline = time.monotonic() + SMOKE_TIMEOUT_S
    while window.current not in ("attract", "enroll", "lobby", "goodbye") and time.monotonic() < deadline:
        pump_events()
        time.sleep(0.01)
    if window.current == "enroll":
        while not window.isVisible() and time.monotonic() < deadline:
            pump_events()
    pump_events()
    screen = window.current
    print(f"kiosk smoke: first screen {screen}")
    window._exit_allowed = True
    window.close()
    service.close()
    return 0 if screen in ("attract", "enroll") else 1


def main(argv: Sequence[str] | None = None) -> int:
    from cafe_cli.main import OneLineParser

    parser = OneLineParser(prog="kiosk_app", description="cafesuite player kiosk")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except CafeError as exc:
        print(f"kiosk: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
