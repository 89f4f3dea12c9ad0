"""SIGKILL at random moments never loses an append that returned, nor breaks the chain.

A child process appends in a loop and prints each seq after ``append`` returned; the
parent kills it at a random moment (mostly while appending, sometimes while it is still
starting or opening the journal). After every kill the journal must open, verify, hold
every printed entry, and the next child must continue the chain with no gap.

    CAFE_CRASH_KILLS=200 .venv/bin/pytest tests/test_journal_crash.py   # the full run
    CAFE_CRASH_SEED=1234 ...                                            # replay one run

CI runs 40 kills by default.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from shared.entry import GENESIS_HASH
from sync.journal import Journal

CHILD = Path(__file__).resolve().parent / "journal_crash_child.py"
KILLS = int(os.environ.get("CAFE_CRASH_KILLS", "40"))
EARLY_KILL_SHARE = 0.15  # kills that land during start-up or while the journal is being opened
APPEND_WINDOW_S = 0.04  # how long a child may append before the kill: keeps the journal, and the test, small


class Child:
    """One appending child, its stdout read by a thread so the kill can land at any moment."""

    def __init__(self, data_dir: Path):
        self.proc = subprocess.Popen([sys.executable, str(CHILD), str(data_dir)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
        self.ready = threading.Event()
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:  # ends at EOF, i.e. when the child is dead
            line = raw.decode()
            if not line.endswith("\n"):
                break  # a line cut by the kill was never a completed promise
            if line == "ready\n":
                self.ready.set()
            else:
                self.lines.append(line)

    def kill(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        assert self.proc.stderr is not None
        return self.proc.returncode, self.proc.stderr.read().decode()

    def returned(self) -> list[tuple[int, str]]:
        pairs = [line.split() for line in self.lines]
        return [(int(seq), entry_id) for seq, entry_id in pairs]


@pytest.mark.slow
def test_sigkill_never_loses_a_returned_append_nor_breaks_the_chain(tmp_path: Path) -> None:
    seed = int(os.environ.get("CAFE_CRASH_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    data_dir = tmp_path / "pos"
    Journal.create(data_dir, device_id="pos-1").close()
    head_seq, head_hash = 0, GENESIS_HASH
    returned_total = 0
    mid_append_kills = 0
    for kill in range(KILLS):
        where = f"kill {kill + 1}/{KILLS} (CAFE_CRASH_SEED={seed})"
        child = Child(data_dir)
        if rng.random() < EARLY_KILL_SHARE:
            time.sleep(rng.uniform(0, 0.5))  # anywhere in interpreter start-up, imports or Journal.open
        else:
            assert child.ready.wait(timeout=60), f"{where}: the child never opened the journal"
            time.sleep(rng.uniform(0, APPEND_WINDOW_S))
        returncode, stderr = child.kill()
        assert returncode == -signal.SIGKILL, f"{where}: the child ended by itself ({returncode}): {stderr}"
        returned = child.returned()

        with Journal.open(data_dir) as journal:
            report = journal.verify()
            assert report.ok, f"{where}:\n{report.summary()}"
            # The next run continues the chain: its first entry links to the head before it.
            if returned:
                assert [seq for seq, _ in returned] == list(range(head_seq + 1, head_seq + 1 + len(returned))), where
                first = next(journal.entries(head_seq + 1, limit=1))
                assert first.prev_hash == head_hash, f"{where}: the chain does not continue from the previous head"
                stored = {e.seq: e.id for e in journal.entries(head_seq + 1, limit=len(returned))}
                assert stored == dict(returned), f"{where}: an append that returned is missing or different"
                mid_append_kills += 1
            head = journal.head()
            assert head.seq >= head_seq + len(returned), f"{where}: the journal is behind what was promised"
            head_seq, head_hash = head.seq, head.hash
        returned_total += len(returned)

    with Journal.open(data_dir) as journal:
        assert journal.verify().ok and journal.count() == head_seq
    print(f"{KILLS} kills, {mid_append_kills} while appending, {returned_total} returned appends, "
          f"{head_seq} entries in the journal, seed {seed}")
    # The test must actually have killed children in the middle of their work.
    assert mid_append_kills >= KILLS // 4, f"only {mid_append_kills} kills landed while appending"
