"""``cafe demo``: the headless day runs end to end against a real central (a child process on
SQLite) through the real POS and kiosk windows offscreen, and a wrong start is one line."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from cafe_cli import demo_business as biz
from cafe_cli.demo import display_available

DEMO_TIMEOUT_S = 300
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIN_PNG_BYTES = 10_000  # a real screen; a blank grab of this size compresses to a few hundred bytes
SCREENS = ("pos-sign-in", "pos-shift-open", "pos-sell", "pos-players", "pos-payout-ticket", "pos-offline-sale",
           "pos-shift-close", "pos-shift-report", "pos-report", "kiosk-attract", "kiosk-login", "kiosk-wallet", "kiosk-lobby",
           "kiosk-game-fruit-fiesta", "kiosk-game-lucky-keno", "kiosk-game-gold-rush-scratch", "kiosk-cash-out",
           "kiosk-ticket", "kiosk-back-to-wallet")


def _cafe(*args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "cafe_cli", *args], capture_output=True, text=True, timeout=timeout_s, env=env)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE), f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # IHDR, the first chunk
    return width, height


def test_headless_day_runs_end_to_end_and_central_verifies(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    run = _cafe("demo", "--headless", "--json", "--data-dir", str(data_dir), timeout_s=DEMO_TIMEOUT_S)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "Traceback" not in run.stderr, run.stderr[-4000:]
    lines = run.stdout.strip().splitlines()
    result = json.loads(lines[-1])

    assert result["verify_ok"] is True
    assert "OK: every balance, transaction, chain, signature and the audit log hold" in run.stdout
    assert result["sales"] == biz.planned_sales()
    assert result["sales_units"] == sum(s.amount_units for s in biz.COUNTER_SALES) + biz.OFFLINE_SALE.amount_units
    assert result["rounds"] == result["rounds_shown"] == biz.planned_rounds() >= 20
    assert result["wagers_units"] > 0
    assert result["vouchers_issued"] == result["vouchers_paid"] == 1
    assert result["redemptions"] == 1
    offline = result["offline_sale"]
    assert offline["copies_at_central"] == 1 and offline["copies_after_second_push"] == 1, offline
    assert offline["wallet_units"] == offline["amount_units"] == biz.OFFLINE_SALE.amount_units and offline["once"] is True
    assert offline["entry_id"] in run.stdout  # the progress lines name the sale made while central was down
    assert result["data_dir"] == str(data_dir.resolve())

    shots = [Path(p) for p in result["screenshots"]]
    assert {p.stem.split("-", 1)[1] for p in shots} == set(SCREENS)
    for path in shots:
        assert path.is_file() and path.parent == data_dir.resolve() / "screenshots", path
        width, height = _png_size(path)
        assert width >= 1366 and height >= 768, (path, width, height)
        assert path.stat().st_size > MIN_PNG_BYTES, path
        assert str(path) in run.stdout  # the summary lists every screenshot
    assert (data_dir / "central" / "central.db").is_file() and any((data_dir / "pos" / "receipts").iterdir())


@pytest.mark.parametrize(("make", "args", "expected", "code"), [
    ("non-empty", ("--data-dir", "{dir}"), "is not empty", 1),
    ("file", ("--data-dir", "{dir}"), "is a file, not a folder", 1),
    ("none", ("--port", "70000", "--data-dir", "{dir}"), "a port is a number from 1 to 65535", 2),
])
def test_a_bad_start_is_one_line_and_leaves_the_folder_alone(tmp_path: Path, make: str, args: tuple[str, ...], expected: str,
                                                            code: int) -> None:
    target = tmp_path / "target"
    if make == "non-empty":
        target.mkdir()
        (target / "notes.txt").write_text("someone's files")
    elif make == "file":
        target.write_text("not a folder")
    run = _cafe("demo", "--headless", *(a.format(dir=target) for a in args))
    assert run.returncode == code, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().count("\n") == 0 and expected in run.stderr, run.stderr
    if make == "non-empty":
        assert [p.name for p in target.iterdir()] == ["notes.txt"]
    elif make == "none":
        assert not target.exists()


def test_a_taken_port_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = _cafe("demo", "--headless", "--port", str(port), "--data-dir", str(tmp_path / "demo"))
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.strip().count("\n") == 0 and f"--port {port} is taken" in run.stderr, run.stderr
    assert not (tmp_path / "demo" / "central" / "central.db").exists()


@pytest.mark.parametrize(("env", "platform", "shown"), [
    ({}, "linux", False),
    ({"DISPLAY": ":0"}, "linux", True),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
    ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux", False),
    ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
    ({}, "win32", True),
    ({}, "darwin", True),
])
def test_display_available(env: dict[str, str], platform: str, shown: bool) -> None:
    assert display_available(env, platform) is shown


def test_count_for_makes_the_amount_exactly_largest_first() -> None:
    for amount in (0, 1, 38_198, 20_000, 123_456_79):
        counts = biz.count_for(amount)
        assert sum(d * n for d, n in counts.items()) == amount
        assert all(n > 0 for n in counts.values())
    assert biz.count_for(38_198) == {10_000: 3, 5_000: 1, 2_000: 1, 1_000: 1, 100: 1, 25: 3, 10: 2, 1: 3}
    with pytest.raises(ValueError):
        biz.count_for(-1)


def test_safe_top_up_brings_whole_bundles_only_when_the_drawer_is_short() -> None:
    assert biz.safe_top_up(40_00, 250_00) == 0
    assert biz.safe_top_up(250_00, 250_00) == 0
    assert biz.safe_top_up(250_01, 250_00) == biz.SAFE_BUNDLE_UNITS
    assert biz.safe_top_up(761_94, 181_98) == 6 * biz.SAFE_BUNDLE_UNITS
