"""Central server fixtures: a real server over loopback HTTPS, on SQLite and on PostgreSQL.

``central`` starts uvicorn in a thread on a free port, with the TLS certificate that
``cafe central init`` would make, over a freshly migrated database. ``Device`` is a test
device: an Ed25519 key, a hash chain built with ``shared.entry.make_entry`` (what the
device journal does) and signed requests made with ``shared.protocol.sign_request``.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from central_server.admin import service as admin
from central_server.app import create_app
from central_server.db import make_engine
from central_server.devices import service as devices
from central_server.keys import create_keys, load_keys
from central_server.migrate import upgrade
from shared.bodies import Body, Sale
from shared.entry import GENESIS_HASH, JournalEntry, make_entry
from shared.ledger import Posting
from shared.protocol import ENROLL_PATH, JOURNAL_PATH, sign_request
from shared.signing import DeviceKey
from sync.sim.runner import CentralProcess, free_port

LOCATION = "loc-1"
ADMIN_PASSWORD = "correct horse battery staple"
SERVER_START_TIMEOUT_S = 20


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each central test runs on SQLite and on PostgreSQL (PostgreSQL missing fails, never skips)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'central.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def pg_only_url(pg_url: str) -> str:
    return pg_url


def prepare_central(data_dir: Path, url: str) -> Engine:
    """What `cafe central init` does, plus one location: migrated DB, admin, keys."""
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        admin.init_head_office(conn, admin_username="admin", password=ADMIN_PASSWORD)
        admin.add_node(conn, node_id=LOCATION, kind="location", name="Cafe One", parent_id=admin.HEAD_OFFICE_ID)
    create_keys(data_dir)
    return engine


class ServerThread:
    """uvicorn serving ``app`` on an already bound socket, in a daemon thread."""

    def __init__(self, app: Any, certfile: Path, keyfile: Path):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", ssl_certfile=str(certfile), ssl_keyfile=str(keyfile),
                                limit_concurrency=200, timeout_keep_alive=30)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.server.force_exit = True  # do not wait for clients' idle keep-alive connections
        self.thread.join(timeout=15)
        self.sock.close()


@dataclass
class Device:
    """A test device: its key, its chain, and signed requests to central."""

    central: Central
    device_id: str
    key: DeviceKey
    role: str
    location_id: str = LOCATION
    chain: list[JournalEntry] = field(default_factory=list)

    def request(self, method: str, path: str, payload: Any = None, *, raw: bytes | None = None, now_s: int | None = None,
                nonce: str | None = None, key: DeviceKey | None = None) -> httpx.Response:
        body = raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
        headers = sign_request(key or self.key, self.device_id, method, path, body, now_s or int(time.time()), nonce)
        if body:
            headers["Content-Type"] = "application/json"
        return self.central.client.request(method, path, content=body, headers=headers)

    def append(self, body: Body, postings: list[Posting] | None = None) -> JournalEntry:
        """Add an entry to this device's chain (not sent yet)."""
        seq = len(self.chain) + 1
        prev = self.chain[-1].hash if self.chain else GENESIS_HASH
        entry = make_entry(device_id=self.device_id, seq=seq, prev_hash=prev, body=body, actor="cashier-1", postings=postings)
        self.chain.append(entry)
        return entry

    def batch(self, entries: list[JournalEntry], *, signature: str | None = None) -> dict[str, Any]:
        last = entries[-1]
        return {
            "entries": [e.to_json() for e in entries],
            "head": {"seq": last.seq, "hash": last.hash,
                     "signature": signature or self.key.sign_head(self.device_id, last.seq, last.hash)},
        }

    def push(self, entries: list[JournalEntry], **kwargs: Any) -> httpx.Response:
        return self.request("POST", JOURNAL_PATH, self.batch(entries, **kwargs))

    def sale(self, player_id: str, amount_units: int, cash_units: int = 0) -> JournalEntry:
        return self.append(Sale(player_id=player_id, location_id=self.location_id, pos_id=self.device_id, shift_id="shift-1",
                                amount_units=amount_units, cash_units=cash_units, currency="USD"))


@dataclass
class Central:
    base_url: str
    engine: Engine
    data_dir: Path
    db_url: str
    client: httpx.Client

    def enroll_code(self, role: str = "pos", ttl_s: int = 3600, now_s: int | None = None) -> str:
        with self.engine.begin() as conn:
            code, _ = devices.create_enroll_code(conn, location_id=LOCATION, role=role, ttl_s=ttl_s, now_s=now_s)
        return code

    def enroll(self, role: str = "pos") -> Device:
        key = DeviceKey.generate()
        response = self.client.post(ENROLL_PATH, json={
            "code": self.enroll_code(role), "public_key": key.public_key_b64(), "role": role, "app_version": "test",
        })
        assert response.status_code == 200, response.text
        return Device(self, response.json()["device_id"], key, role)

    def scalar(self, sql: str, **params: Any) -> Any:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    def execute(self, sql: str, **params: Any) -> None:
        from sqlalchemy import text

        with self.engine.begin() as conn:
            conn.execute(text(sql), params)

    def balance(self, account: str, unit: str = "CR") -> int:
        return int(self.scalar("SELECT balance_units FROM balances WHERE account = :a AND unit = :u", a=account, u=unit) or 0)


def tls_context(data_dir: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(data_dir / "ca_cert.pem"))


@pytest.fixture
def central(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Central]:
    """Central in a thread of the test process; with ``@pytest.mark.central_process``, in its own
    ``cafe central serve`` process, as at a cafe, where central's CPU and GIL are not the device's."""
    data_dir = tmp_path / "central-data"
    engine = prepare_central(data_dir, db_url)
    server: ServerThread | CentralProcess
    if request.node.get_closest_marker("central_process"):
        server = CentralProcess(data_dir, db_url, free_port())
        base_url = server.url
        server.start()
    else:
        keys = load_keys(data_dir)
        server = ServerThread(create_app(engine, keys), keys.tls_cert, keys.tls_key)
        server.start()
        base_url = f"https://127.0.0.1:{server.port}"
    client = httpx.Client(base_url=base_url, verify=tls_context(data_dir), timeout=30)
    try:
        yield Central(base_url, engine, data_dir, db_url, client)
    finally:
        client.close()
        server.stop()
        engine.dispose()


@pytest.fixture
def pos(central: Central) -> Device:
    return central.enroll("pos")


@pytest.fixture
def kiosk(central: Central) -> Device:
    return central.enroll("kiosk")


# --- enrolled devices for the app tests (issue 4, PULL helper) ---

@pytest.fixture
def enrolled_device(central: Central, tmp_path: Path) -> Any:
    """A factory: ``make(role="pos"|"kiosk", location="loc-1") -> Path``, the data folder of a
    device really enrolled against ``central`` (one-time code, pinned CA, journal created).

    A location other than ``loc-1`` is created under head office the first time it is named.
    Open it with ``sync.device.Device.open(path)``.
    """
    from central_server.admin import repository as admin_repo
    from central_server.keys import load_keys
    from shared.protocol import DeviceRole
    from sync.enrollment import enroll

    fingerprint = load_keys(central.data_dir).ca_fingerprint
    made: list[Path] = []

    def make(role: DeviceRole = "pos", location: str = LOCATION) -> Path:
        with central.engine.begin() as conn:
            if admin_repo.node(conn, location) is None:
                admin.add_node(conn, node_id=location, kind="location", name=location, parent_id=admin.HEAD_OFFICE_ID)
            code, _ = devices.create_enroll_code(conn, location_id=location, role=role, ttl_s=600)
        data_dir = tmp_path / f"device-{len(made) + 1}-{role}"
        enroll(data_dir, central.base_url, code, role, expected_ca_fingerprint=fingerprint)
        made.append(data_dir)
        return data_dir

    return make
