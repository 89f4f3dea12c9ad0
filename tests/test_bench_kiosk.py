"""The kiosk benchmark runs end to end and reports its figures as JSON (the timing itself is not a test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "kiosk.py"


def test_the_bench_runs_and_ends_with_one_json_line(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, str(BENCH), "--starts", "1", "--rounds", "15", "--json"],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    for name in ("cold_start_s", "rss_mb", "round_p99_ms", "baseline_start_s", "baseline_rss_mb", "start_ratio", "rss_ratio"):
        assert isinstance(figures[name], (int, float)) and figures[name] > 0, name
    assert figures["rounds"] == 15
    assert figures["round_p50_ms"] <= figures["round_p99_ms"]
    assert abs(figures["start_ratio"] - figures["cold_start_s"] / figures["baseline_start_s"]) < 0.05 * figures["start_ratio"]
    assert isinstance(figures["targets_met"], bool)
