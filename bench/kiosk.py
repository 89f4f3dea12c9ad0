"""Kiosk figures: cold start to an interactive lobby, resident memory, tap-to-outcome latency.

Setup: a real ``cafe central serve`` (SQLite in a temporary folder), an enrolled kiosk, a
player with credits checked out into a session (so the kiosk starts straight into its
lobby, as after a power cut). Then, each in a fresh process under offscreen Qt:

* cold start: from ``exec`` of the interpreter until the lobby is shown with its game
  tiles enabled (median of ``--starts`` runs, after one warm-up that installs the game
  packages); baseline: a bare ``QApplication`` + ``QWidget`` shown the same way;
* tap-to-outcome: a click on SPIN until the outcome is on screen with animations off
  (game math, the journal append with fsync, the worker round trip); baseline: the same
  ``play()`` alone, no journal, no Qt;
* resident memory of the kiosk process after those rounds (VmRSS), and of the baseline.

The last line with ``--json`` is one JSON object (``cold_start_s``, ``rss_mb``,
``round_p99_ms`` and the baselines and ratios).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COLD_START_TARGET_S = 1.5
RSS_TARGET_MB = 250.0
ROUND_P99_TARGET_MS = 100.0
LOCATION = "bench-cafe"


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --- children (fresh processes) -------------------------------------------------------


def child_kiosk(data_dir: Path, rounds: int) -> dict[str, Any]:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from kiosk_app.printer import VoucherPrinter
    from kiosk_app.service import KioskService
    from kiosk_app.window import KioskWindow
    from kiosk_app.worker import pump_events

    QApplication(sys.argv[:1])
    service = KioskService(data_dir, printer=VoucherPrinter("dummy", data_dir))
    window = KioskWindow(service, windowed=True)
    window.enter_kiosk_mode()
    window.start()
    deadline = time.monotonic() + 60
    while not (window.current == "lobby" and window.lobby.tiles and all(t.isEnabled() for t in window.lobby.tiles.values())):
        if time.monotonic() > deadline:
            raise SystemExit(f"the lobby never came up (screen {window.current}: {window.goodbye.body.text()})")
        pump_events()
        time.sleep(0.001)
    pump_events()
    print("READY", flush=True)
    latencies: list[float] = []
    if rounds:
        QTest.mouseClick(window.lobby.tiles["fruit-fiesta"], Qt.MouseButton.LeftButton)
        assert window.view is not None
        window.view.animation_scale = 0
        shown: list[int] = []

        def on_shown(_result: object) -> None:
            shown.append(1)

        window.sig_round_shown.connect(on_shown)
        for _ in range(rounds):
            count = len(shown)
            start = time.perf_counter()
            QTest.mouseClick(window.game.play, Qt.MouseButton.LeftButton)
            while len(shown) == count:
                pump_events()
            latencies.append((time.perf_counter() - start) * 1000)
    figures = {"rss_mb": rss_mb(), "round_ms": latencies}
    window._exit_allowed = True
    window.close()
    service.close()
    return figures


def child_baseline() -> dict[str, Any]:
    from PySide6.QtWidgets import QApplication, QWidget

    from kiosk_app.worker import pump_events

    QApplication(sys.argv[:1])
    widget = QWidget()
    widget.resize(1366, 768)
    widget.show()
    pump_events()
    print("READY", flush=True)
    return {"rss_mb": rss_mb()}


def run_child(args: list[str]) -> tuple[float, dict[str, Any]]:
    """Start a child; seconds from spawn until it printed READY, and its JSON report."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, env=env, text=True)
    assert process.stdout is not None
    ready_s = None
    report: dict[str, Any] = {}
    for line in process.stdout:
        if line.strip() == "READY" and ready_s is None:
            ready_s = time.perf_counter() - start
        elif line.startswith("{"):
            report = json.loads(line)
    if process.wait() != 0 or ready_s is None:
        raise SystemExit(f"child {args} failed with exit code {process.returncode}")
    return ready_s, report


# --- setup --------------------------------------------------------------------------


def prepare(folder: Path, player_credits_units: int) -> tuple[Any, Path]:
    from central_server.admin import service as admin
    from central_server.db import make_engine
    from central_server.devices import service as devices_service
    from central_server.keys import create_keys, load_keys
    from central_server.migrate import upgrade
    from kiosk_app import session_model as model
    from kiosk_app.service import KioskService
    from shared.bodies import Sale
    from shared.protocol import PLAYERS_PATH
    from sync.enrollment import enroll
    from sync.sim.runner import CentralProcess, free_port

    central_dir = folder / "central"
    central_dir.mkdir(parents=True)
    db_url = f"sqlite:///{central_dir / 'central.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.begin() as conn:
        admin.init_head_office(conn, admin_username="admin", password=admin.new_password())
        admin.add_node(conn, node_id=LOCATION, kind="location", name="Bench cafe", parent_id=admin.HEAD_OFFICE_ID)
        codes = {role: devices_service.create_enroll_code(conn, location_id=LOCATION, role=role, ttl_s=3600)[0]
                 for role in ("pos", "kiosk")}
    engine.dispose()
    create_keys(central_dir)
    central = CentralProcess(central_dir, db_url, free_port())
    central.start()
    fingerprint = load_keys(central_dir).ca_fingerprint
    pos_dir, kiosk_dir = folder / "pos", folder / "kiosk"
    pos = enroll(pos_dir, central.url, codes["pos"], "pos", expected_ca_fingerprint=fingerprint)
    enroll(kiosk_dir, central.url, codes["kiosk"], "kiosk", expected_ca_fingerprint=fingerprint)
    from sync.device import Device

    device = Device.open(pos_dir)
    player = device.client.request("POST", PLAYERS_PATH, {"card_number": "BENCH-0001", "display_name": "Bench"})
    device.record(Sale(player_id=player["player_id"], location_id=LOCATION, pos_id=pos.device_id, shift_id="bench",
                       amount_units=player_credits_units, cash_units=player_credits_units, currency="USD"), actor="bench")
    status = device.engine.push_pending()
    device.close()
    assert status.pending == 0, status
    service = KioskService(kiosk_dir)
    service.open()
    service.start_session(model.Player.from_json({**player, "balance_units": player_credits_units}), None)
    service.close()
    return central, kiosk_dir


def play_baseline(rounds: int) -> list[float]:
    from shared.games.builtin import load_builtin_games
    from shared.games.round import play

    game = load_builtin_games()["fruit-fiesta"]
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        play(game, 10, escrow_units=10_000)
        out.append((time.perf_counter() - start) * 1000)
    return out


def run(starts: int, rounds: int, folder: Path) -> dict[str, Any]:
    from sync.keystore import KEYRING_FILE_ENV

    os.environ.setdefault(KEYRING_FILE_ENV, str(folder / "bench-keys.cfg"))
    progress("setup: central, an enrolled kiosk, a session with credits")
    central, kiosk_dir = prepare(folder, 1000_00)
    try:
        progress("warm-up start (installs the game packages)")
        run_child(["--child", "kiosk", "--data-dir", str(kiosk_dir), "--rounds", "0"])
        cold, rss, latencies = [], 0.0, []
        for i in range(starts):
            progress(f"cold start {i + 1}/{starts}")
            ready_s, report = run_child(["--child", "kiosk", "--data-dir", str(kiosk_dir),
                                         "--rounds", str(rounds if i == starts - 1 else 0)])
            cold.append(ready_s)
            if report.get("round_ms"):
                latencies, rss = report["round_ms"], report["rss_mb"]
        base_cold = []
        for _ in range(starts):
            ready_s, base_report = run_child(["--child", "baseline"])
            base_cold.append(ready_s)
    finally:
        central.stop()
    base_rounds = play_baseline(rounds)
    figures: dict[str, Any] = {
        "cold_start_s": round(statistics.median(cold), 3),
        "baseline_start_s": round(statistics.median(base_cold), 3),
        "rss_mb": round(rss, 1),
        "baseline_rss_mb": round(float(base_report["rss_mb"]), 1),
        "rounds": len(latencies),
        "round_p50_ms": round(percentile(latencies, 0.50), 2),
        "round_p99_ms": round(percentile(latencies, 0.99), 2),
        "baseline_play_p99_ms": round(percentile(base_rounds, 0.99), 3),
    }
    figures["start_ratio"] = round(figures["cold_start_s"] / figures["baseline_start_s"], 2)
    figures["rss_ratio"] = round(figures["rss_mb"] / figures["baseline_rss_mb"], 2)
    figures["targets_met"] = (figures["cold_start_s"] <= COLD_START_TARGET_S and figures["rss_mb"] <= RSS_TARGET_MB
                              and figures["round_p99_ms"] <= ROUND_P99_TARGET_MS)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3, help="cold starts to time (median)")
    parser.add_argument("--rounds", type=int, default=300, help="rounds for the tap-to-outcome latency")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    parser.add_argument("--child", choices=("kiosk", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "kiosk":
        print(json.dumps(child_kiosk(args.data_dir, args.rounds)), flush=True)
        return 0
    if args.child == "baseline":
        print(json.dumps(child_baseline()), flush=True)
        return 0
    if args.starts < 1 or args.rounds < 1:
        parser.error("--starts and --rounds must be at least 1")
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        figures = run(args.starts, args.rounds, Path(tempfile.mkdtemp(dir=args.dir, prefix="kiosk-bench-")))
    else:
        with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
            figures = run(args.starts, args.rounds, Path(tmp))
    if not args.json:
        print(f"cold start to lobby  {figures['cold_start_s']:.3f} s (bare Qt window {figures['baseline_start_s']:.3f} s, "
              f"x{figures['start_ratio']}; target <= {COLD_START_TARGET_S} s)")
        print(f"resident memory      {figures['rss_mb']:.1f} MB (bare Qt window {figures['baseline_rss_mb']:.1f} MB, "
              f"x{figures['rss_ratio']}; target <= {RSS_TARGET_MB:.0f} MB)")
        print(f"tap to outcome       p50 {figures['round_p50_ms']} ms, p99 {figures['round_p99_ms']} ms over {figures['rounds']} "
              f"rounds (play() alone p99 {figures['baseline_play_p99_ms']} ms; target p99 <= {ROUND_P99_TARGET_MS:.0f} ms)")
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
