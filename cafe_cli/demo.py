"""``cafe demo``: the whole suite on one machine, in a fresh folder.

A real central on embedded SQLite (a child process), seeded with a believable business
(``demo_business``) through the same service functions central's commands and console
use, an enrolled POS and an enrolled kiosk (``demo_setup``), and then either

* the two windows, for a person to use (the logins and PINs are printed), or
* ``--headless``: a scripted day played through those windows offscreen
  (``demo_day``), a summary of what happened with central's verify, the paths of the
  screenshots and, with ``--json``, one JSON object on the last line.

A machine without a display (Linux without DISPLAY or WAYLAND_DISPLAY) gets the
headless day, so ``python3 dev.py run`` shows something useful on a server too.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cafe_cli import demo_business as biz
from shared.money import CREDITS, format_units
from sync.keystore import KEYRING_FILE_ENV

if TYPE_CHECKING:
    from cafe_cli.demo_day import DayResult
    from cafe_cli.demo_setup import DemoWorld, Say

NO_DISPLAY_PLATFORMS = ("offscreen", "minimal")


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 1 to 65535, not {text!r}")
    return int(text)


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser("demo", help="run the suite: central, a POS and a kiosk, on a seeded business",
                                 description="Start central on SQLite in a fresh folder, seed a business, enroll a POS "
                                             "and a kiosk and open their windows; --headless plays a scripted day instead.")
    demo.add_argument("--headless", action="store_true",
                      help="play a scripted day offscreen, print what happened, central's verify and the screenshots")
    demo.add_argument("--json", action="store_true", help="with --headless (implied): end with one JSON object on the last line")
    demo.add_argument("--data-dir", type=Path, help="a new or empty folder for the demo's data (default: a new temporary folder)")
    demo.add_argument("--port", type=_port, help="central's HTTPS port on 127.0.0.1 (default: a free one)")
    demo.set_defaults(func=run_demo)


def display_available(env: dict[str, str] | None = None, platform: str = sys.platform) -> bool:
    """Whether windows can be shown here: Qt's platform says so, or (Linux) an X or Wayland display is set."""
    env = dict(os.environ) if env is None else env
    qpa = env.get("QT_QPA_PLATFORM", "")
    if qpa:
        return qpa.split(":")[0] not in NO_DISPLAY_PLATFORMS
    if platform.startswith("linux"):
        return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
    return True


def _progress(started: float) -> Say:
    def say(message: str) -> None:
        print(f"[{time.monotonic() - started:5.1f}s] {message}", flush=True)
    return say


def run_demo(args: argparse.Namespace) -> int:
    from cafe_cli.demo_setup import build_world, prepare_folder

    started = time.monotonic()
    headless = bool(args.headless or args.json)
    if not headless and not display_available():
        print("cafe demo: no display to open the windows on: playing the scripted day offscreen instead (--headless)")
        headless = True
    if headless:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is imported (demo_day imports it)
    root = prepare_folder(args.data_dir or Path(tempfile.mkdtemp(prefix="cafesuite-demo-")))
    say = _progress(started)
    say(f"demo folder {root}")
    # A plain SIGTERM would end Python without running the finally blocks below, leaving central running
    # (while Qt runs, demo_day.stop_between_steps and _interactive take over).
    signal.signal(signal.SIGTERM, _terminated)
    world = build_world(root, port=args.port, say=say)
    if not headless:
        try:
            return _interactive(world, say)
        finally:
            world.stop()
            say("central stopped")
    try:
        result = _play(world, say)
    finally:
        world.stop()
    say("central stopped")
    duration_s = time.monotonic() - started
    for line in summary_lines(world, result, duration_s):
        print(line)
    if args.json:
        print(json.dumps(summary_json(world, result, duration_s), sort_keys=True))
    return 0 if succeeded(result) else 1


def _terminated(*_: object) -> None:
    raise SystemExit(128 + signal.SIGTERM)


# -- headless ---------------------------------------------------------------------------------------


def _play(world: DemoWorld, say: Say) -> DayResult:
    from cafe_cli.demo_day import open_stations, play_day, quiet_libraries, stop_between_steps

    with quiet_libraries(), stop_between_steps():
        stations = open_stations(world, sounds=False)
        say("opened the POS window and the kiosk window (offscreen)")
        try:
            return play_day(world, stations, say)
        finally:
            stations.close()


def succeeded(result: DayResult) -> bool:
    return result.verify_ok and result.offline.once


def _units(units: int, unit: str = CREDITS) -> str:
    return format_units(units, unit)


def summary_lines(world: DemoWorld, result: DayResult, duration_s: float) -> list[str]:
    r, c = result.report, result.report.currency
    t = r.totals
    hold = "-" if r.hold_bp is None else f"{r.hold_bp / 100:.2f}%"
    offline = result.offline
    return [
        "",
        f"The day at {biz.LOCATION_NAME} ({r.day.isoformat()}, the owner's report from central):",
        f"  sales         {t.sales_count}, {_units(t.sales_units)} credits (cash {_units(t.sales_cash_units, c)} {c}, "
        f"card {_units(t.sales_card_units, c)} {c})",
        f"  payouts       {t.payouts_count}: {t.vouchers_paid_count} ticket(s) {_units(t.vouchers_paid_units)} credits, "
        f"{t.redemptions_count} from a wallet {_units(t.redemptions_units)} credits",
        f"  net cash      {_units(r.net_cash_units, c)} {c}",
        f"  kiosk         {t.rounds} rounds, wagered {_units(t.wagers_units)}, won {_units(t.wins_units)} credits (hold {hold})",
        f"  vouchers      {t.vouchers_issued_count} issued ({_units(t.vouchers_issued_units)} credits), {t.vouchers_paid_count} paid",
        f"  offline sale  {_units(offline.amount_units)} credits sold while central was down, delivered by sync: at central "
        f"{offline.copies_at_central} time(s), {offline.copies_after_second_push} after a second push, the wallet holds "
        f"{_units(offline.wallet_units)} ({'once' if offline.once else 'NOT once'})",
        "central verify (cafe central verify):",
        *[f"  {line}" for line in result.verify_summary.splitlines()],
        f"data          {world.root} (central/, pos/, kiosk/; receipts in pos/receipts, tickets in kiosk/tickets)",
        f"screenshots   {len(result.screenshots)} in {world.screenshots_dir}:",
        *[f"  {path}" for path in result.screenshots],
        f"console       {world.console_url} (admin / {world.admin_password}; {biz.OWNER_USERNAME} / {world.owner_password})",
        f"  central stopped with the demo; start it again with: cafe central serve --db {world.db_url} "
        f"--data-dir {world.central_dir} --port {world.central.port}",
        f"  and a station with: {KEYRING_FILE_ENV}={os.environ.get(KEYRING_FILE_ENV, '')} cafe pos --data-dir {world.pos_dir}",
        f"done in {duration_s:.1f} s: " + ("OK" if succeeded(result) else "PROBLEMS (see above)"),
    ]


def summary_json(world: DemoWorld, result: DayResult, duration_s: float) -> dict[str, Any]:
    t = result.report.totals
    return {
        "verify_ok": result.verify_ok,
        "sales": t.sales_count,
        "sales_units": t.sales_units,
        "rounds": t.rounds,
        "rounds_shown": result.rounds_shown,
        "wagers_units": t.wagers_units,
        "wins_units": t.wins_units,
        "vouchers_issued": t.vouchers_issued_count,
        "vouchers_paid": t.vouchers_paid_count,
        "redemptions": t.redemptions_count,
        "offline_sale": {"entry_id": result.offline.entry_id, "amount_units": result.offline.amount_units,
                         "copies_at_central": result.offline.copies_at_central,
                         "copies_after_second_push": result.offline.copies_after_second_push,
                         "wallet_units": result.offline.wallet_units, "once": result.offline.once},
        "screenshots": [str(path) for path in result.screenshots],
        "data_dir": str(world.root),
        "console_url": world.console_url,
        "duration_s": round(duration_s, 1),
    }


# -- interactive ------------------------------------------------------------------------------------


def logins_lines(world: DemoWorld) -> list[str]:
    staff = ", ".join(f"{m.name} ({m.role}) {m.pin}" for m in biz.STAFF)
    cards = "\n".join(f"    {p.player.full_name:<18} card {p.card_number}  PIN {p.player.pin}" for p in world.players)
    return [
        "",
        f"{biz.LOCATION_NAME} is open. The POS and the kiosk windows sync with central at {world.url}.",
        f"  POS staff PINs: {staff}",
        "  Players (sell them credits at the POS first, then log in at the kiosk with the card number and PIN):",
        cards,
        f"  Kiosk: a technician's PIN ({biz.staff_of('technician').pin}) behind 'Staff' leaves kiosk mode.",
        f"  Console: {world.console_url} (admin / {world.admin_password}; {biz.OWNER_USERNAME} / {world.owner_password})",
        "Close the POS window (or press Ctrl+C here) to end the demo; central stops with it.",
    ]


def _interactive(world: DemoWorld, say: Say) -> int:
    from PySide6.QtCore import QTimer

    from cafe_cli.demo_day import open_stations

    stations = open_stations(world, sounds=True)
    for line in logins_lines(world):
        print(line)
    app, pos, kiosk = stations.app, stations.pos, stations.kiosk

    def end(*_: object) -> None:
        # exit(), not quit(): Qt 6's quit() first asks every window to close, and kiosk mode refuses.
        app.exit(0)

    # One watcher ends the demo when either window is gone, and lets Python see Ctrl+C between Qt's events.
    watcher = QTimer()
    watcher.timeout.connect(lambda: None if pos.isVisible() and kiosk.isVisible() else end())
    watcher.start(250)
    signal.signal(signal.SIGINT, end)
    signal.signal(signal.SIGTERM, end)  # an exception raised inside Qt's loop would be swallowed: leave the loop instead
    try:
        app.exec()
    finally:
        watcher.stop()
        stations.close()
    say("windows closed")
    return 0
