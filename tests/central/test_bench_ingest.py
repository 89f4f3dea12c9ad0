"""The ingest benchmark runs end to end and reports its figures as JSON (the timing itself is not a test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent.parent / "bench" / "ingest.py"
FIELDS = ("pgbench_tps", "entries_per_s", "duplicate_entries_per_s", "hot_entries_per_s",
          "ratio_vs_pgbench", "duplicate_ratio", "hot_account_ratio")


def test_the_bench_runs_and_ends_with_one_json_line() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--batches", "2", "--pgbench-s", "1", "--json"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    for name in FIELDS:
        assert isinstance(figures[name], (int, float)) and figures[name] > 0, name
    assert figures["db"] == "postgres" and figures["clients"] == 2 and figures["batch_entries"] == 100
    assert figures["entries_per_phase"] == 2 * 2 * 100  # 2 clients x (2 batches over 2 devices) x 100 entries
    assert abs(figures["ratio_vs_pgbench"] - figures["entries_per_s"] / figures["pgbench_tps"]) < 0.01
    assert abs(figures["duplicate_ratio"] - figures["duplicate_entries_per_s"] / figures["entries_per_s"]) < 0.01
    assert abs(figures["hot_account_ratio"] - figures["hot_entries_per_s"] / figures["entries_per_s"]) < 0.01
    assert isinstance(figures["targets_met"], bool)
    assert any("pgbench" in line and "tps" in line for line in lines[:-1]), "a human summary comes first"
    assert "[ingest bench]" in result.stderr, "progress goes to stderr"


def test_the_bench_refuses_nonsense_counts() -> None:
    result = subprocess.run([sys.executable, str(BENCH), "--clients", "0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--clients" in result.stderr
