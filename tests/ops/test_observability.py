"""Metrics, request ids and JSON logs on central; rotating device logs; the secret-free support bundle."""

from __future__ import annotations

import io
import json
import logging
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cafe_cli.main import main
from central_server.ops.observability import JsonFormatter
from shared.bodies import SessionCheckout
from shared.entry import make_entry
from shared.protocol import HEARTBEAT_PATH
from sync.logs import setup_device_logging
from tests.central.conftest import Central, Device


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """What is measured does not depend on the database: SQLite keeps these tests quick."""
    return f"sqlite:///{tmp_path / 'central.db'}"


def _metrics(central: Central) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = central.client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def test_metrics_count_ingest_errors_quarantines_and_device_lag(central: Central, pos: Device, kiosk: Device) -> None:
    for amount in (100, 200, 300):
        pos.sale("player-a", amount)
    assert pos.push(pos.chain).status_code == 200
    assert pos.push(pos.chain).status_code == 200          # a replay: three duplicates
    for amount in (1, 2):
        pos.sale("player-a", amount)
    gap = pos.push(pos.chain[-1:])                          # seq 5 where 4 is expected
    assert gap.status_code == 409 and gap.json()["code"] == "gap"
    assert pos.request("POST", HEARTBEAT_PATH, {"app_version": "t", "outbox_depth": 7, "oldest_unacked_age_s": 42,
                                                "last_sync_result": "ok"}).status_code == 200
    bad = pos.request("POST", HEARTBEAT_PATH, {"app_version": "t", "outbox_depth": 0, "oldest_unacked_age_s": 0,
                                               "last_sync_result": "ok"}, key=kiosk.key)
    assert bad.status_code == 401
    kiosk.append(SessionCheckout(session_id="s-1", player_id="player-b", kiosk_id=kiosk.device_id, location_id=kiosk.location_id,
                                 amount_units=50))
    assert kiosk.push(kiosk.chain).status_code == 200
    fork = make_entry(device_id=kiosk.device_id, seq=1, prev_hash=kiosk.chain[0].prev_hash, body=kiosk.chain[0].body,
                      actor="someone-else", postings=list(kiosk.chain[0].postings))
    assert kiosk.push([fork]).json()["code"] == "rejected"

    m = _metrics(central)
    assert m[("cafe_ingest_entries_total", (("result", "applied"),))] == 4
    assert m[("cafe_ingest_entries_total", (("result", "duplicate"),))] == 3
    assert m[("cafe_ingest_batches_total", (("outcome", "ok"),))] == 3
    assert m[("cafe_ingest_batches_total", (("outcome", "gap"),))] == 1
    assert m[("cafe_ingest_batches_total", (("outcome", "rejected"),))] == 1
    assert m[("cafe_ingest_batch_seconds_count", ())] == 5
    assert m[("cafe_quarantines_total", ())] == 1
    assert m[("cafe_http_errors_total", (("code", "gap"),))] == 1
    assert m[("cafe_http_errors_total", (("code", "bad_signature"),))] == 1
    assert m[("cafe_device_outbox_depth", (("device", pos.device_id),))] == 7
    assert m[("cafe_device_lag_seconds", (("device", pos.device_id),))] == 42
    assert 0 <= m[("cafe_device_heartbeat_age_seconds", (("device", pos.device_id),))] < 60


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("cafesuite.access")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def test_request_ids_and_json_access_log(central: Central, access_lines: io.StringIO) -> None:
    given = central.client.get("/healthz", headers={"X-Request-ID": "till-2-abc"})
    assert given.headers["x-request-id"] == "till-2-abc"
    made = central.client.get("/readyz")
    generated = made.headers["x-request-id"]
    assert len(generated) == 32 and generated != "till-2-abc"
    hostile = central.client.get("/healthz", headers={"X-Request-ID": "x\" injected {"})
    assert hostile.headers["x-request-id"] != "x\" injected {"  # not echoed into logs and headers as given
    lines = [json.loads(line) for line in access_lines.getvalue().splitlines()]
    by_id = {line.get("request_id"): line for line in lines}
    assert by_id["till-2-abc"]["path"] == "/healthz" and by_id["till-2-abc"]["status"] == 200
    assert by_id[generated]["path"] == "/readyz" and by_id[generated]["level"] == "info"
    assert all(isinstance(line["duration_ms"], float | int) for line in lines)


def test_device_logs_rotate_in_the_data_dir(tmp_path: Path) -> None:
    path = setup_device_logging(tmp_path, "kiosk", max_bytes=2000, backup_count=2)
    assert setup_device_logging(tmp_path, "kiosk", max_bytes=2000, backup_count=2) == path  # no second handler
    root = logging.getLogger()
    handlers = [h for h in root.handlers if getattr(h, "baseFilename", None) == str(path.resolve())]
    try:
        assert len(handlers) == 1
        log = logging.getLogger("kiosk_app.test")
        for number in range(200):
            log.info("round %s played", number, extra={"round_no": number})
        names = sorted(p.name for p in path.parent.iterdir())
        assert names == ["kiosk.log", "kiosk.log.1", "kiosk.log.2"], names
        assert all(p.stat().st_size <= 2200 for p in path.parent.iterdir())
        last = json.loads(path.read_text().splitlines()[-1])
        assert last["message"] == "round 199 played" and last["round_no"] == 199 and last["logger"] == "kiosk_app.test"
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()


def _secret_spellings(data_dir: Path) -> list[bytes]:
    import base64

    from sync.keystore import KeyStore

    store = KeyStore(data_dir)
    raw = [store.journal_key(), store.device_key().private_bytes()]
    return [s for r in raw for s in (r, r.hex().encode(), base64.b64encode(r), base64.urlsafe_b64encode(r).rstrip(b"="))]


def test_support_bundle_has_logs_and_journal_check_but_no_secret(central: Central, enrolled_device: Any, tmp_path: Path,
                                                                 keyring_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sync.device import Device as AppDevice
    from sync.keystore import KeyStore

    data_dir = enrolled_device("pos")
    device = AppDevice.open(data_dir)
    try:
        pos = Device(central, device.identity.device_id, device.keystore.device_key(), "pos")
        device.journal.append(pos.sale("player-a", 100).body, actor="cashier-1")
    finally:
        device.close()
    log_path = setup_device_logging(data_dir, "pos")
    root = logging.getLogger()
    handler = next(h for h in root.handlers if getattr(h, "baseFilename", None) == str(log_path.resolve()))
    try:
        leaked = KeyStore(data_dir).journal_key().hex()
        logging.getLogger("pos_app").warning("opened journal with key %s", leaked)  # a careless line
        logging.getLogger("pos_app").info("sale recorded")
    finally:
        root.removeHandler(handler)
        handler.close()

    out = tmp_path / "bundle.zip"
    assert main(["support-bundle", "--data-dir", str(data_dir), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "journal verifies" in said and "1 secret(s) redacted" in said
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with zipfile.ZipFile(out) as archive:
        names = sorted(archive.namelist())
        contents = {name: archive.read(name) for name in names}
    assert names == ["about.json", "device.json", "journal-verify.txt", "logs/pos.log"]
    assert b"OK" in contents["journal-verify.txt"] and b"entries   1" in contents["journal-verify.txt"]
    assert json.loads(contents["device.json"])["role"] == "pos"
    assert b"sale recorded" in contents["logs/pos.log"] and b"[REDACTED]" in contents["logs/pos.log"]
    everything = b"".join(contents.values()) + out.read_bytes()
    for secret in _secret_spellings(data_dir):
        assert secret not in everything
    keyring_text = keyring_file.read_bytes()
    assert keyring_text and keyring_text not in everything
    assert not any(name.endswith((".db", ".cfg", ".pem", ".key")) for name in names)


def test_support_bundle_refuses_a_folder_that_is_not_a_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["support-bundle", "--data-dir", str(tmp_path), "--out", str(tmp_path / "b.zip")]) == 1
    err = capsys.readouterr().err.strip()
    assert "not a device data directory" in err and len(err.splitlines()) == 1
