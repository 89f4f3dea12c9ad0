"""bench/sync_latency.py runs end to end on a tiny count and prints its figures as JSON."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_tiny_run_prints_the_figures_as_json_on_its_last_line(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sync_latency.py"), "--samples", "5", "--catchup", "50", "--json"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    for name in ("visible_p50_ms", "visible_p99_ms", "kiosk_balance_p99_ms", "catchup_ratio", "catchup_s", "baseline_s"):
        assert isinstance(figures[name], int | float) and figures[name] > 0, (name, figures)
    assert figures["visible_p50_ms"] <= figures["visible_p99_ms"]
    assert figures["catchup_entries"] == 50 and figures["samples"] == 5
    rounds = figures["catchup_rounds"]
    assert len(rounds) == 3  # the default: three catch-ups, each between two baselines
    for before, after in itertools.pairwise(rounds):
        assert after["baseline_before_s"] == before["baseline_after_s"]  # B C B C B C B: a baseline shared by neighbours
    for measured in rounds:
        bracket = (measured["baseline_before_s"] + measured["baseline_after_s"]) / 2
        assert abs(measured["ratio"] - measured["catchup_s"] / bracket) <= 0.01 + 0.02 * measured["ratio"]  # seconds are rounded to 0.1 ms
    assert figures["catchup_ratio"] == sorted(r["ratio"] for r in rounds)[1]  # the median round's
    assert "catch-up round 3" in done.stdout
