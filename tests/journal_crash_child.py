"""Child of the crash test: open a journal and append until killed.

Prints ``ready`` once the journal is open, then ``<seq> <id>`` for each append, written
and flushed only *after* ``append`` returned: a printed line is a promise the parent
holds the journal to after a SIGKILL.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from shared.bodies import Sale
from sync.journal import Journal

MAX_APPENDS = 100_000  # a bound; the parent kills the child long before


def main(data_dir: Path) -> None:
    with Journal.open(data_dir) as journal:
        os.write(1, b"ready\n")
        for i in range(MAX_APPENDS):
            entry = journal.append(
                Sale(player_id="player-crash", location_id="loc-main", pos_id="pos-1", shift_id="shift-crash",
                     amount_units=100 + i, cash_units=100 + i, currency="USD"),
                actor="cashier-sam",
            )
            os.write(1, f"{entry.seq} {entry.id}\n".encode())  # unbuffered: nothing waits in a Python buffer


if __name__ == "__main__":
    main(Path(sys.argv[1]))
