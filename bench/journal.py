"""Durable appends: the SQLCipher journal against the same journal with encryption off.

    .venv/bin/python bench/journal.py [--count N] [--dir PATH] [--json]

What is compared: both sides are the real ``sync.journal.Journal`` and its ``append``
(build and hash the entry, sign the head, one ``BEGIN IMMEDIATE`` transaction, commit
with WAL and ``synchronous=FULL``), opened through the same sqlcipher3 library with the
same pragmas and schema. The only difference is ``PRAGMA key``: the plain side is made
with the journal's internal ``_create_file(..., journal_key=None)``, which no app can
reach. So the ratio is what encryption costs the device per recorded fact.

Both journals live in one folder (``--dir``, default a new temporary folder; point it at
the device's data disk to measure that disk's fsync) and are timed in alternating
chunks, so drift in the disk or the machine during the run hits both sides alike.
Appends per second count only time spent inside ``append``.

Targets (issue): encrypted/plain >= 0.85 and encrypted p99 <= 10 ms.
With ``--json`` the last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import sqlcipher3

from shared.bodies import Sale
from shared.ids import new_id
from shared.signing import DeviceKey
from sync.journal import Journal

RATIO_TARGET = 0.85
P99_TARGET_MS = 10.0
CHUNK = 50  # appends per side before switching to the other


def percentile_ms(latencies_ns: Sequence[int], fraction: float) -> float:
    """Nearest-rank percentile of latencies in nanoseconds, in milliseconds."""
    ordered = sorted(latencies_ns)
    rank = max(1, round(fraction * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1] / 1e6


def make_journal(folder: Path, name: str, encrypted: bool) -> Journal:
    path = folder / f"{name}.db"
    key = secrets.token_bytes(32) if encrypted else None
    return Journal._create_file(path, f"bench-{name}", DeviceKey.generate(), key)


def timed_appends(journal: Journal, count: int, shift_id: str) -> list[int]:
    body = Sale(player_id="player-bench", location_id="loc-bench", pos_id="pos-bench", shift_id=shift_id,
                amount_units=2500, cash_units=2500, currency="USD")
    latencies: list[int] = []
    for _ in range(count):
        started = time.perf_counter_ns()
        journal.append(body, actor="cashier-bench")
        latencies.append(time.perf_counter_ns() - started)
    return latencies


def run(count: int, warmup: int, folder: Path) -> dict[str, object]:
    shift_id = new_id()
    encrypted = make_journal(folder, "encrypted", encrypted=True)
    plain = make_journal(folder, "plain", encrypted=False)
    try:
        timed_appends(encrypted, warmup, shift_id)
        timed_appends(plain, warmup, shift_id)
        latencies: dict[str, list[int]] = {"encrypted": [], "plain": []}
        done = 0
        while done < count:  # bounded: each pass adds at least one append per side
            chunk = min(CHUNK, count - done)
            latencies["encrypted"] += timed_appends(encrypted, chunk, shift_id)
            latencies["plain"] += timed_appends(plain, chunk, shift_id)
            done += chunk
        for journal in (encrypted, plain):
            assert journal.count() == warmup + count, "every timed append must be in the journal"
        assert encrypted.verify().ok, "the benchmark must not produce a broken journal"
    finally:
        encrypted.close()
        plain.close()
    rates = {side: len(values) / (sum(values) / 1e9) for side, values in latencies.items()}
    result: dict[str, object] = {"count": count, "dir": str(folder), "sqlcipher": sqlcipher_version()}
    for side, values in latencies.items():
        result[f"{side}_appends_per_s"] = round(rates[side], 1)
        result[f"{side}_p50_ms"] = round(percentile_ms(values, 0.50), 3)
        result[f"{side}_p99_ms"] = round(percentile_ms(values, 0.99), 3)
    ratio = rates["encrypted"] / rates["plain"]
    result["ratio"] = round(ratio, 3)
    result["ratio_target"] = RATIO_TARGET
    result["p99_target_ms"] = P99_TARGET_MS
    result["targets_met"] = ratio >= RATIO_TARGET and percentile_ms(latencies["encrypted"], 0.99) <= P99_TARGET_MS
    return result


def sqlcipher_version() -> str:
    conn = sqlcipher3.dbapi2.connect(":memory:")
    try:
        return str(conn.execute("PRAGMA cipher_version").fetchone()[0])
    finally:
        conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="timed appends per side (default 2000)")
    parser.add_argument("--warmup", type=int, default=100, help="untimed appends per side first (default 100)")
    parser.add_argument("--dir", type=Path, help="folder for the two journal files (default: a new temporary folder)")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON holding the figures")
    args = parser.parse_args(argv)
    if args.count < 1 or args.warmup < 0:
        parser.error("--count must be at least 1 and --warmup not negative")
    own_folder = args.dir is None
    folder = Path(tempfile.mkdtemp(prefix="cafesuite-bench-")) if own_folder else args.dir
    folder.mkdir(parents=True, exist_ok=True)
    try:
        result = run(args.count, args.warmup, folder)
    finally:
        if own_folder:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            for name in ("encrypted", "plain"):
                for suffix in (".db", ".db-wal", ".db-shm"):
                    (folder / f"{name}{suffix}").unlink(missing_ok=True)
    print(f"durable appends (WAL, synchronous=FULL), {args.count} per side, SQLCipher {result['sqlcipher']}, in {folder}")
    for side in ("encrypted", "plain"):
        print(f"  {side:<9} {result[f'{side}_appends_per_s']:>9.1f} appends/s   "
              f"p50 {result[f'{side}_p50_ms']:.3f} ms   p99 {result[f'{side}_p99_ms']:.3f} ms")
    print(f"  ratio encrypted/plain {result['ratio']:.3f} (target >= {RATIO_TARGET}); "
          f"encrypted p99 target <= {P99_TARGET_MS} ms: {'met' if result['targets_met'] else 'MISSED'}")
    if args.json:
        print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
