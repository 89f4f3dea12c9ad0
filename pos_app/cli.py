"""``python -m pos_app`` and ``cafe pos``: start the cashier POS on a data folder."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared import __version__
from shared.errors import CafeError

SMOKE_MS = 300


def _default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("cafesuite")) / "pos"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="the station's folder (default: the user data folder, …/cafesuite/pos)")
    parser.add_argument("--central", metavar="URL", help="central's address, pre-filled on the first-run enrollment screen")
    parser.add_argument("--printer", default="file:", help="dummy | file:PATH | network:HOST[:PORT] | usb:VID:PID (default: file:)")
    parser.add_argument("--smoke", action="store_true", help="start offscreen, show the first screen, exit 0")
    parser.add_argument("--version", action="version", version=f"cafesuite POS {__version__}")


def register(subparsers: Any) -> None:
    pos = subparsers.add_parser("pos", help="start the cashier POS")
    add_arguments(pos)
    pos.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.smoke:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from pos_app.receipts import ReceiptPrinter, open_printer
    from pos_app.service import PosService
    from pos_app.window import MainWindow

    data_dir: Path = args.data_dir or _default_data_dir()
    if data_dir.exists() and not data_dir.is_dir():
        raise CafeError(f"--data-dir {data_dir} is not a folder")
    open_printer(args.printer if not args.printer.startswith(("network", "usb")) else "dummy", data_dir, "check")
    from sync.logs import setup_device_logging

    data_dir.mkdir(parents=True, exist_ok=True)
    setup_device_logging(data_dir, "pos")  # rotated files in <data-dir>/logs, what cafe support-bundle packs
    app = QApplication.instance() or QApplication(sys.argv[:1])
    service = PosService(data_dir, printer=ReceiptPrinter(args.printer, data_dir))
    window = MainWindow(service)
    if args.central:
        window.enroll_screen.url.setText(args.central)
    window.resize(1366, 768)
    window.show()
    window.start()
    if args.smoke:
        QTimer.singleShot(SMOKE_MS, window.close)
        QTimer.singleShot(SMOKE_MS + 50, app.quit)
    return int(app.exec())


def main(argv: Sequence[str] | None = None) -> int:
    from cafe_cli.main import OneLineParser

    parser = OneLineParser(prog="python -m pos_app", description="cafesuite cashier POS")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except CafeError as exc:
        print(f"pos: {exc.message}", file=sys.stderr)
        return 1
