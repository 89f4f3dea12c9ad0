"""``cafe demo``: show the suite working end to end with what exists today.

Today that is the device side: an encrypted journal in a fresh data directory records a
cashier's shift (open with a counted float, sales, a payout, close with a count), then
the journal is verified and exported exactly as an auditor would. Later parts of the
suite extend this to a central server with a POS and a kiosk.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from shared.bodies import Redemption, Sale, ShiftClose, ShiftOpen
from shared.ids import new_id
from shared.ledger import Transaction, apply_transactions
from shared.money import CREDITS, format_units
from sync.journal import Journal
from sync.keystore import KEYRING_FILE_ENV, KeyringUnavailable, resolve_backend


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser("demo", help="run a short scripted day and show the result")
    demo.add_argument("--data-dir", type=Path, help="where to keep the demo's data (default: a new temporary folder)")
    demo.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir or Path(tempfile.mkdtemp(prefix="cafesuite-demo-"))
    try:
        resolve_backend()
    except KeyringUnavailable:
        # A demo on a headless machine: keep its keys in a file inside its own folder, and say so.
        os.environ[KEYRING_FILE_ENV] = str(data_dir / "demo-keyring.cfg")
        print(f"no OS keyring here: the demo keeps its keys in {data_dir / 'demo-keyring.cfg'}")
    pos_dir = data_dir / "pos-1"
    loc, pos, shift, player = "loc-main", "pos-1", new_id(), "player-ada"
    with Journal.create(pos_dir, device_id=pos) as journal:
        steps = [
            ShiftOpen(shift_id=shift, pos_id=pos, location_id=loc, cashier_id="cashier-sam", float_units=20000,
                      currency="USD", denominations={"2000": 5, "1000": 5, "500": 4, "100": 30}),
            Sale(player_id=player, location_id=loc, pos_id=pos, shift_id=shift, amount_units=5000, cash_units=5000, currency="USD"),
            Sale(player_id=player, location_id=loc, pos_id=pos, shift_id=shift, amount_units=2000, cash_units=2000, currency="USD"),
            Redemption(player_id=player, location_id=loc, pos_id=pos, shift_id=shift, amount_units=3000, cash_units=3000, currency="USD"),
            ShiftClose(shift_id=shift, pos_id=pos, location_id=loc, expected_units=24000, counted_units=23900,
                       currency="USD", denominations={"2000": 10, "1000": 3, "500": 1, "100": 4}),
        ]
        entries = [journal.append(step, actor="cashier-sam") for step in steps]
        for entry in entries:
            print(f"  #{entry.seq} {entry.kind:<12} {entry.id}")
        result = apply_transactions({}, [Transaction(e.id, e.postings) for e in entries])
        wallet = result.balances.get((f"wallet:{player}", CREDITS), 0)
        short = result.balances.get((f"overshort:{loc}", "USD"), 0)
        print(f"player wallet: {format_units(wallet, CREDITS)} credits; drawer short by {format_units(short, 'USD')} USD")
        report = journal.verify()
        out = data_dir / "pos-1-journal.jsonl"
        with out.open("wb") as handle:
            for entry in journal.entries():
                handle.write(entry.canonical() + b"\n")
    print(report.summary())
    print(f"auditor export: {out}")
    keyring_file = os.environ.get(KEYRING_FILE_ENV)
    prefix = f"{KEYRING_FILE_ENV}={keyring_file} " if keyring_file else ""
    print(f"check it yourself: {prefix}cafe journal verify {pos_dir}")
    return 0 if report.ok else 1
