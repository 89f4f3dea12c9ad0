"""bench/verify.py builds a ledger through ingest, verifies it and prints its figures as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_tiny_run_verifies_every_entry_and_prints_json_on_its_last_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "verify.py"), "--entries", "1100", "--devices", "2", "--json"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    # 550 entries a device: two batches each (500 + 50), all ingested and every one verified.
    assert figures["entries"] == 1100 and figures["devices"] == 2 and figures["verify_ok"] is True
    assert figures["rows_read"] > 1100 * 5  # an entry, a transaction and four postings each, plus the balances
    for name in ("verify_s", "baseline_s", "entries_per_s", "ratio_vs_read"):
        assert figures[name] > 0, (name, figures)
    assert abs(figures["ratio_vs_read"] - figures["verify_s"] / figures["baseline_s"]) <= 0.01 + 0.05 * figures["ratio_vs_read"]
    assert "ledger: 1100 of 1100 entries ingested" in done.stderr


def test_a_bad_flag_is_one_readable_line() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "verify.py"), "--entries", "0"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "--entries must be at least 1" in done.stderr and "Traceback" not in done.stderr
