"""The journal benchmark runs and reports its figures as JSON (the timing itself is not a test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "journal.py"


def test_the_bench_runs_and_ends_with_one_json_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--count", "30", "--warmup", "3", "--dir", str(tmp_path), "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    for name in ("encrypted_appends_per_s", "plain_appends_per_s", "ratio", "encrypted_p99_ms",
                 "encrypted_p50_ms", "plain_p50_ms", "plain_p99_ms"):
        assert isinstance(figures[name], (int, float)) and figures[name] > 0, name
    assert figures["count"] == 30
    assert abs(figures["ratio"] - figures["encrypted_appends_per_s"] / figures["plain_appends_per_s"]) < 0.01
    assert figures["encrypted_p50_ms"] <= figures["encrypted_p99_ms"]
    assert any("encrypted" in line and "appends/s" in line for line in lines[:-1]), "a human summary comes first"
    assert list(tmp_path.iterdir()) == [], "the bench removes its journal files from --dir"


def test_the_bench_refuses_a_nonsense_count() -> None:
    result = subprocess.run([sys.executable, str(BENCH), "--count", "0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--count" in result.stderr
