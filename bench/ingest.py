"""Journal ingest on central against pgbench TPC-B on the same PostgreSQL.

    .venv/bin/python bench/ingest.py [--db postgres|sqlite] [--clients N] [--batches N] [--quick] [--json]

In one run:

1. pgbench TPC-B (scale 10, in its own throw-away database) with ``--clients`` clients
   gives the machine's transactions per second for a small write transaction.
2. A real ``cafe central serve`` subprocess (HTTPS on loopback) over a fresh database
   (a throw-away PostgreSQL database, or a SQLite file with ``--db sqlite``) receives
   signed batches of 100 sale entries from ``--clients`` concurrent device clients,
   each client driving its own devices in seq order. Batches are built and signed
   before the clock starts (that is the devices' work); each request is signed when
   sent, as the sync client does.

Three timed phases, each the same number of entries:

* new: every device at its own location (the sales spread over many floats);
* duplicate: the same batches sent again (central answers "duplicate" for each entry);
* hot: fresh devices all at one location, so every sale debits one float account.

Printed: entries/s of new entries, entries/s ÷ pgbench tps, duplicate ÷ new and
hot ÷ spread. Targets (issue 3, 2-core machine): >= 5x pgbench tps, duplicate >= 1.0x
new, hot >= 0.5x spread. With ``--json`` the last line printed is one JSON object.
Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from central_server.admin import service as admin  # noqa: E402
from central_server.db import make_engine, scratch_database  # noqa: E402
from central_server.devices import service as devices_service  # noqa: E402
from central_server.keys import create_keys  # noqa: E402
from central_server.migrate import upgrade  # noqa: E402
from shared.bodies import Sale  # noqa: E402
from shared.entry import GENESIS_HASH, JournalEntry, make_entry  # noqa: E402
from shared.protocol import ENROLL_PATH, JOURNAL_PATH, sign_request  # noqa: E402
from shared.signing import DeviceKey  # noqa: E402

BATCH_ENTRIES = 100
PGBENCH_SCALE = 10
DEVICES_PER_CLIENT = 2
PLAYERS_PER_DEVICE = 50
TARGET_VS_PGBENCH = 5.0
TARGET_DUPLICATE = 1.0
TARGET_HOT = 0.5
SERVER_START_TIMEOUT_S = 30
REQUEST_TIMEOUT_S = 120
DEFAULT_PG = os.environ.get("CAFE_BENCH_PG", os.environ.get("CAFE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"))


def progress(message: str) -> None:
    print(f"[ingest bench] {message}", file=sys.stderr, flush=True)


# -- PostgreSQL and pgbench ---------------------------------------------------------------


def find_pgbench() -> str:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True)
    if not candidates:
        raise SystemExit("pgbench not found on PATH or in /usr/lib/postgresql/*/bin")
    return str(candidates[0])


def pgbench_tps(db_url: str, clients: int, duration_s: int) -> float:
    """TPC-B-like tps of pgbench at scale 10 with ``clients`` clients (threads = clients)."""
    pgbench = find_pgbench()
    progress(f"pgbench: initialising scale {PGBENCH_SCALE}")
    subprocess.run([pgbench, "-i", "-q", "-s", str(PGBENCH_SCALE), db_url], check=True, capture_output=True, timeout=600)
    progress(f"pgbench: TPC-B, {clients} clients, {duration_s} s")
    result = subprocess.run([pgbench, "-c", str(clients), "-j", str(clients), "-T", str(duration_s), db_url],
                            check=True, capture_output=True, text=True, timeout=duration_s + 120)
    match = re.search(r"^tps = ([0-9.]+)", result.stdout, re.MULTILINE)
    if match is None:
        raise SystemExit(f"cannot read tps from pgbench output:\n{result.stdout}")
    return float(match.group(1))


# -- central --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_central(db_url: str, data_dir: Path, locations: list[str]) -> None:
    """What `cafe central init` and `add-node` do, in-process."""
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            admin.init_head_office(conn, admin_username="admin", password=secrets.token_urlsafe(16))
            for location in locations:
                admin.add_node(conn, node_id=location, kind="location", name=location, parent_id=admin.HEAD_OFFICE_ID)
    finally:
        engine.dispose()
    create_keys(data_dir)


@contextmanager
def central_server(db_url: str, data_dir: Path) -> Iterator[str]:
    """``cafe central serve`` as a subprocess; yields its base URL."""
    port = free_port()
    cafe = Path(sys.executable).with_name("cafe")
    command = [str(cafe)] if cafe.exists() else [sys.executable, "-c", "from cafe_cli.main import main; raise SystemExit(main())"]
    command += ["central", "serve", "--db", db_url, "--data-dir", str(data_dir), "--port", str(port)]
    log = open(data_dir / "serve.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base_url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        with httpx.Client(base_url=base_url, verify=tls_verify(data_dir), timeout=2) as client:
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"central exited: {(data_dir / 'serve.log').read_text()[-2000:]}")
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("central did not start in time")
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        log.close()


def tls_verify(data_dir: Path) -> str:
    return str(data_dir / "ca_cert.pem")


# -- devices and batches ----------------------------------------------------------------------


@dataclass
class BenchDevice:
    device_id: str
    key: DeviceKey
    location_id: str
    batches: list[bytes] = field(default_factory=list)


def enroll(client: httpx.Client, db_url: str, location_id: str) -> BenchDevice:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            code, _ = devices_service.create_enroll_code(conn, location_id=location_id, role="pos", ttl_s=3600)
    finally:
        engine.dispose()
    key = DeviceKey.generate()
    response = client.post(ENROLL_PATH, json={"code": code, "public_key": key.public_key_b64(), "role": "pos", "app_version": "bench"})
    response.raise_for_status()
    return BenchDevice(response.json()["device_id"], key, location_id)


def build_batches(device: BenchDevice, batch_count: int) -> None:
    """The device's journal: ``batch_count`` signed batches of sales, as request bodies."""
    prev, seq = GENESIS_HASH, 0
    for _ in range(batch_count):
        entries: list[JournalEntry] = []
        for _ in range(BATCH_ENTRIES):
            seq += 1
            body = Sale(player_id=f"player-{device.device_id[-8:]}-{seq % PLAYERS_PER_DEVICE}", location_id=device.location_id,
                        pos_id=device.device_id, shift_id="shift-1", amount_units=2500, cash_units=2500, currency="USD")
            entry = make_entry(device_id=device.device_id, seq=seq, prev_hash=prev, body=body, actor="cashier-1")
            entries.append(entry)
            prev = entry.hash
        head = {"seq": seq, "hash": prev, "signature": device.key.sign_head(device.device_id, seq, prev)}
        device.batches.append(json.dumps({"entries": [e.to_json() for e in entries], "head": head}).encode())


def push_all(base_url: str, verify: str, clients: list[list[BenchDevice]], expect: str) -> float:
    """Every client sends its devices' batches (round-robin over its devices); seconds taken."""
    errors: list[str] = []
    barrier = threading.Barrier(len(clients) + 1)

    def run(devices: list[BenchDevice]) -> None:
        with httpx.Client(base_url=base_url, verify=verify, timeout=REQUEST_TIMEOUT_S) as client:
            client.get("/healthz")  # TLS handshake before the clock starts
            barrier.wait()
            for index in range(len(devices[0].batches)):
                for device in devices:
                    body = device.batches[index]
                    headers = sign_request(device.key, device.device_id, "POST", JOURNAL_PATH, body, int(time.time()))
                    headers["Content-Type"] = "application/json"
                    response = client.post(JOURNAL_PATH, content=body, headers=headers)
                    statuses = {r["status"] for r in response.json().get("results", [])} if response.status_code == 200 else set()
                    if statuses != {expect}:
                        errors.append(f"{device.device_id} batch {index}: {response.status_code} {response.text[:300]}")
                        return

    threads = [threading.Thread(target=run, args=(devices,)) for devices in clients]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed_s = time.perf_counter() - started
    if errors:
        raise SystemExit("ingest failed: " + "; ".join(errors[:3]))
    return elapsed_s


def ingest_phases(db_url: str, data_dir: Path, clients: int, batches: int) -> dict[str, float]:
    spread_locations = [f"loc-{i}" for i in range(clients * DEVICES_PER_CLIENT)]
    prepare_central(db_url, data_dir, [*spread_locations, "loc-hot"])
    verify = tls_verify(data_dir)
    with central_server(db_url, data_dir) as base_url, httpx.Client(base_url=base_url, verify=verify, timeout=30) as client:
        progress(f"central up at {base_url}; enrolling devices and signing batches")
        spread = [[enroll(client, db_url, spread_locations[c * DEVICES_PER_CLIENT + d]) for d in range(DEVICES_PER_CLIENT)]
                  for c in range(clients)]
        hot = [[enroll(client, db_url, "loc-hot") for _ in range(DEVICES_PER_CLIENT)] for _ in range(clients)]
        per_device = max(1, batches // DEVICES_PER_CLIENT)
        for device in [d for group in spread + hot for d in group]:
            build_batches(device, per_device)
        entries = clients * DEVICES_PER_CLIENT * per_device * BATCH_ENTRIES
        progress(f"new entries, spread over {len(spread_locations)} locations: {entries} entries")
        new_s = push_all(base_url, verify, spread, "applied")
        progress(f"duplicate replay of the same {entries} entries")
        duplicate_s = push_all(base_url, verify, spread, "duplicate")
        progress(f"new entries, all at one location (hot float account): {entries} entries")
        hot_s = push_all(base_url, verify, hot, "applied")
    return {"entries": entries, "new_per_s": entries / new_s, "duplicate_per_s": entries / duplicate_s, "hot_per_s": entries / hot_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres",
                        help="central's database (pgbench always uses PostgreSQL)")
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL admin URL (databases are created and dropped)")
    parser.add_argument("--clients", type=int, default=2, help="concurrent device clients, and pgbench clients")
    parser.add_argument("--batches", type=int, help=f"batches of {BATCH_ENTRIES} per client per phase (default 30, quick 8)")
    parser.add_argument("--pgbench-s", type=int, help="pgbench duration in seconds (default 20, quick 5)")
    parser.add_argument("--quick", action="store_true", help="a run under a minute")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = parser.parse_args(argv)
    batches = args.batches or (8 if args.quick else 30)
    pgbench_s = args.pgbench_s or (5 if args.quick else 20)
    if args.clients < 1 or batches < 1 or pgbench_s < 1:
        parser.error("--clients, --batches and --pgbench-s must be at least 1")

    with scratch_database(args.pg, "cafe_pgbench") as pgbench_url:
        tps = pgbench_tps(pgbench_url, args.clients, pgbench_s)
    progress(f"pgbench: {tps:.0f} tps")
    data_dir = Path(tempfile.mkdtemp(prefix="cafe-ingest-bench-"))
    try:
        if args.db == "sqlite":
            figures = ingest_phases(f"sqlite:///{data_dir / 'central.db'}", data_dir, args.clients, batches)
        else:
            with scratch_database(args.pg, "cafe_bench") as central_url:
                figures = ingest_phases(central_url, data_dir, args.clients, batches)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    result = {
        "db": args.db, "clients": args.clients, "batch_entries": BATCH_ENTRIES, "entries_per_phase": int(figures["entries"]),
        "pgbench_tps": round(tps, 1),
        "entries_per_s": round(figures["new_per_s"], 1),
        "duplicate_entries_per_s": round(figures["duplicate_per_s"], 1),
        "hot_entries_per_s": round(figures["hot_per_s"], 1),
        "ratio_vs_pgbench": round(figures["new_per_s"] / tps, 3),
        "duplicate_ratio": round(figures["duplicate_per_s"] / figures["new_per_s"], 3),
        "hot_account_ratio": round(figures["hot_per_s"] / figures["new_per_s"], 3),
    }
    result["targets_met"] = (result["ratio_vs_pgbench"] >= TARGET_VS_PGBENCH and result["duplicate_ratio"] >= TARGET_DUPLICATE
                             and result["hot_account_ratio"] >= TARGET_HOT)
    print(f"pgbench TPC-B (scale {PGBENCH_SCALE}, {args.clients} clients): {result['pgbench_tps']:.0f} tps")
    print(f"ingest on {args.db}, batches of {BATCH_ENTRIES}, {args.clients} clients: {result['entries_per_s']:.0f} entries/s "
          f"= {result['ratio_vs_pgbench']:.2f}x pgbench (target >= {TARGET_VS_PGBENCH}x)")
    print(f"duplicate replay: {result['duplicate_entries_per_s']:.0f} entries/s = {result['duplicate_ratio']:.2f}x new "
          f"(target >= {TARGET_DUPLICATE}x)")
    print(f"hot account: {result['hot_entries_per_s']:.0f} entries/s = {result['hot_account_ratio']:.2f}x spread "
          f"(target >= {TARGET_HOT}x)")
    if args.json:
        print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
