"""The printer driver's database is parsed once per install and cached in the device's data folder,
not in a new temporary folder each start (python-escpos's default)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PRINT_A_RECEIPT = (
    "import sys; from pathlib import Path; from sync import escpos_driver\n"
    "printer = escpos_driver.load(Path(sys.argv[1])).Dummy()\n"
    "printer.text('hello\\n'); printer.qr('tx-1', native=False); printer.cut()\n"
    "assert b'hello' in printer.output\n"
)


def _start_and_print(data_dir: Path, tmp: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    done = subprocess.run([sys.executable, "-c", PRINT_A_RECEIPT, str(data_dir)], capture_output=True, text=True, timeout=60,
                          env={**env, "TMPDIR": str(tmp)})
    assert done.returncode == 0, done.stderr


def test_the_printer_database_is_cached_in_the_data_folder_not_in_tmp(tmp_path: Path) -> None:
    data_dir, tmp = tmp_path / "station", tmp_path / "tmp"
    tmp.mkdir()
    _start_and_print(data_dir, tmp)
    cache = data_dir / "cache" / "escpos"
    pickles = list(cache.glob("*.capabilities.pickle"))
    assert len(pickles) == 1 and pickles[0].stat().st_size > 10_000, list(cache.iterdir())
    assert cache.stat().st_mode & 0o077 == 0, oct(cache.stat().st_mode)  # private, like the journal beside it
    written = pickles[0].stat().st_mtime_ns
    _start_and_print(data_dir, tmp)
    assert pickles[0].stat().st_mtime_ns == written  # the second start read the cache; it did not parse again
    assert list(tmp.rglob("*.pickle")) == []
