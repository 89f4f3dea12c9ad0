"""Two real central processes on one PostgreSQL database receive the same batches at once:
each entry is applied exactly once, and neither answers 500."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from central_server.audit.service import verify
from shared.protocol import ENROLL_PATH, JOURNAL_PATH, sign_request
from shared.signing import DeviceKey
from tests.central.conftest import Central, Device, prepare_central, tls_context

ROUNDS, BATCH = 6, 40
START_TIMEOUT_S = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def two_servers(pg_url: str, tmp_path: Path) -> Iterator[tuple[list[httpx.Client], Central]]:
    data_dir = tmp_path / "central-data"
    engine = prepare_central(data_dir, pg_url)
    ports = [_free_port(), _free_port()]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "cafe_cli", "central", "serve", "--db", pg_url, "--data-dir", str(data_dir), "--port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "CAFE_CONFIG": ""},
        )
        for port in ports
    ]
    clients = [httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=tls_context(data_dir), timeout=60) for port in ports]
    try:
        for client, proc in zip(clients, procs, strict=True):
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "server exited"
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "central did not become ready"
                time.sleep(0.1)
        yield clients, Central(str(clients[0].base_url), engine, data_dir, pg_url, clients[0])
    finally:
        for client in clients:
            client.close()
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=15)
        engine.dispose()


def _send(client: httpx.Client, device: Device, payload: bytes) -> httpx.Response:
    """Send once; a clean 'conflict, retry' (409 conflict / 503) is retried, as the sync client does."""
    for _ in range(5):
        headers = sign_request(device.key, device.device_id, "POST", JOURNAL_PATH, payload, int(time.time()))
        response = client.post(JOURNAL_PATH, content=payload, headers={**headers, "Content-Type": "application/json"})
        if response.status_code == 503 or (response.status_code == 409 and response.json().get("code") == "conflict"):
            continue
        return response
    return response


def test_same_batch_to_two_processes_is_applied_once(two_servers: tuple[list[httpx.Client], Central]) -> None:
    import json

    clients, central = two_servers
    key = DeviceKey.generate()
    enrolled = clients[0].post(ENROLL_PATH, json={
        "code": central.enroll_code("pos"), "public_key": key.public_key_b64(), "role": "pos", "app_version": "race",
    })
    assert enrolled.status_code == 200, enrolled.text
    pos = Device(central, enrolled.json()["device_id"], key, "pos")
    total = 0
    for round_no in range(ROUNDS):
        entries = [pos.sale(f"player-{i % 3}", 100 + round_no) for i in range(BATCH)]
        total += BATCH * (100 + round_no)
        payload = json.dumps(pos.batch(entries)).encode()
        start = threading.Barrier(2)
        responses: list[httpx.Response | None] = [None, None]

        def run(index: int, payload: bytes = payload, start: threading.Barrier = start, responses: list = responses) -> None:
            start.wait()
            responses[index] = _send(clients[index], pos, payload)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        statuses = []
        for response in responses:
            assert response is not None and response.status_code == 200, response.text if response else "no response"
            statuses.append([r["status"] for r in response.json()["results"]])
        # Per entry: applied by exactly one of the two, duplicate at the other.
        for first, second in zip(*statuses, strict=True):
            assert sorted((first, second)) == ["applied", "duplicate"]
    assert central.scalar("SELECT count(*) FROM journal_entries") == ROUNDS * BATCH
    assert central.scalar("SELECT count(*) FROM postings") == 2 * ROUNDS * BATCH
    assert sum(central.balance(f"wallet:player-{i}") for i in range(3)) == total
    with central.engine.connect() as conn:
        assert verify(conn).ok
