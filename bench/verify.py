"""``cafe central verify`` over a ledger of N entries, against reading the same rows.

    .venv/bin/python bench/verify.py [--entries N] [--devices N] [--db URL] [--json]

One run. A ledger is built through central's own ingest (``ingest.service.parse`` and
``apply``, batches of the protocol's maximum, each with a signed head) from ``--devices``
enrolled POS devices selling to a few hundred players, in a SQLite file in a temporary
folder or, with ``--db``, in an EMPTY PostgreSQL database. Then, in the same run and on
the same database:

* baseline: every row verify reads (journal entries, ledger transactions, postings,
  balances), fetched with plain SELECTs and nothing checked;
* verify: ``audit.service.verify``, what ``cafe central verify`` runs.

Printed: entries verified per second and verify ÷ baseline. No target: the figure says
what an operator waits for and how far verify is from the cost of reading its data. With
``--json`` the last line printed is one JSON object. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from central_server.admin import service as admin  # noqa: E402
from central_server.audit.service import verify  # noqa: E402
from central_server.db import make_engine  # noqa: E402
from central_server.devices import service as devices_service  # noqa: E402
from central_server.devices.service import AuthedDevice  # noqa: E402
from central_server.ingest import service as ingest  # noqa: E402
from central_server.migrate import upgrade  # noqa: E402
from central_server.tables import balances, journal_entries, ledger_transactions, postings  # noqa: E402
from shared.bodies import Sale  # noqa: E402
from shared.entry import GENESIS_HASH, make_entry  # noqa: E402
from shared.protocol import MAX_BATCH_ENTRIES, EnrollRequest  # noqa: E402
from shared.signing import DeviceKey  # noqa: E402
from sync.central_client import encode_push  # noqa: E402

LOCATION = "bench-cafe"
PLAYERS = 300


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_ledger(engine: Engine, entries: int, device_count: int) -> None:
    """``entries`` sales from ``device_count`` enrolled POS devices, ingested as central ingests them."""
    with engine.begin() as conn:
        admin.init_head_office(conn, admin_username="admin", password=admin.new_password())
        admin.add_node(conn, node_id=LOCATION, kind="location", name="Bench cafe", parent_id=admin.HEAD_OFFICE_ID)
    per_device = [entries // device_count + (1 if n < entries % device_count else 0) for n in range(device_count)]
    done = 0
    for count in per_device:
        key = DeviceKey.generate()
        with engine.begin() as conn:
            code, _ = devices_service.create_enroll_code(conn, location_id=LOCATION, role="pos", ttl_s=600)
            device_id = devices_service.enroll(conn, EnrollRequest(code=code, public_key=key.public_key_b64(), role="pos",
                                                                   app_version="bench"),
                                               ca_fingerprint="bench", central_public_key="bench").device_id
        device = AuthedDevice(device_id, LOCATION, "pos")
        seq, prev = 0, GENESIS_HASH
        while seq < count:
            batch = []
            for _ in range(min(MAX_BATCH_ENTRIES, count - seq)):
                seq += 1
                units = 100 * (1 + seq % 50)
                body = Sale(player_id=f"player-{seq % PLAYERS}", location_id=LOCATION, pos_id=device_id, shift_id="bench-shift",
                            amount_units=units, cash_units=units, currency="USD")
                entry = make_entry(device_id=device_id, seq=seq, prev_hash=prev, body=body, actor="cashier-bench")
                batch.append(entry.to_json())
                prev = entry.hash
            head = {"seq": seq, "hash": prev, "signature": key.sign_head(device_id, seq, prev)}
            parsed = ingest.parse(encode_push(batch, head), device)
            with engine.begin() as conn:
                answer = ingest.apply(conn, device, parsed)
            assert answer.status == "ok" and answer.acked_through == seq, answer
            done += len(batch)
        progress(f"ledger: {done} of {entries} entries ingested")


def read_everything(engine: Engine) -> int:
    """The baseline: every row verify reads, fetched and nothing checked; how many rows."""
    with engine.connect() as conn:
        return sum(len(conn.execute(sa.select(table)).all()) for table in (journal_entries, ledger_transactions, postings, balances))


def run(entries: int, device_count: int, db_url: str | None, folder: Path) -> dict[str, object]:
    engine = make_engine(db_url or f"sqlite:///{folder / 'central.db'}")
    try:
        upgrade(engine)
        build_ledger(engine, entries, device_count)
        progress("baseline: reading every row verify reads")
        started = time.perf_counter()
        rows = read_everything(engine)
        baseline_s = time.perf_counter() - started
        progress("verify")
        started = time.perf_counter()
        with engine.connect() as conn:
            report = verify(conn)
        verify_s = time.perf_counter() - started
    finally:
        engine.dispose()
    return {
        "db": (db_url or "sqlite").split("://")[0].split("+")[0], "entries": report.entries, "devices": report.devices,
        "rows_read": rows, "baseline_s": round(baseline_s, 3), "verify_s": round(verify_s, 3),
        "entries_per_s": round(report.entries / verify_s, 1), "ratio_vs_read": round(verify_s / baseline_s, 2),
        "verify_ok": report.ok,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=20_000, help="entries in the ledger (default 20,000)")
    parser.add_argument("--devices", type=int, default=4, help="POS devices they come from (default 4)")
    parser.add_argument("--db", metavar="URL", help="an EMPTY postgresql:// database (default: SQLite in a temporary folder)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)
    if args.entries < 1 or not 1 <= args.devices <= args.entries:
        parser.error("--entries must be at least 1 and --devices between 1 and --entries")
    folder = Path(tempfile.mkdtemp(prefix="cafe-verify-bench-"))
    try:
        figures = run(args.entries, args.devices, args.db, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"verify: {figures['entries']} entries from {figures['devices']} devices in {figures['verify_s']} s "
          f"({figures['entries_per_s']} entries/s); reading the same {figures['rows_read']} rows {figures['baseline_s']} s: "
          f"ratio {figures['ratio_vs_read']}")
    print("OK: verify found nothing wrong" if figures["verify_ok"] else "FAILED: verify reported problems")
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    return 0 if figures["verify_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
