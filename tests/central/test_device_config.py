"""Devices pull their location's config from a real central (HTTPS, SQLite and PostgreSQL):
staff PIN hashes and limits set through the service functions the CLI and console use,
ETag/304 so an unchanged pull costs no body, limits inherited down the tree, and refusals."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from cafe_cli.main import main
from central_server.admin import service as admin
from central_server.device_config import service as config_service
from central_server.devices import service as devices
from shared.device_config import Limits
from shared.protocol import DEVICE_CONFIG_PATH, sign_request
from sync.central_client import CentralRefused
from sync.device import Device
from tests.central.conftest import LOCATION, Central, tls_context

Make = Callable[..., Path]


class Recording(httpx.HTTPTransport):
    """The real TLS transport, noting the status and body size of every answer."""

    def __init__(self, central: Central):
        super().__init__(verify=tls_context(central.data_dir))
        self.seen: list[tuple[str, int, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        self.seen.append((request.url.path, response.status_code, len(response.content)))
        return response

    def pulls(self) -> list[tuple[int, int]]:
        return [(status, size) for path, status, size in self.seen if path == DEVICE_CONFIG_PATH]


@contextmanager
def opened(data_dir: Path, **client_kwargs: Any) -> Iterator[Device]:
    device = Device.open(data_dir, client_kwargs=client_kwargs or None)
    try:
        yield device
    finally:
        device.close()


def in_tx(central: Central, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with central.engine.begin() as conn:
        return func(conn, *args, **kwargs)


def test_pull_brings_staff_and_limits_then_an_unchanged_pull_is_a_bodiless_304(central: Central, enrolled_device: Make):
    ann = in_tx(central, config_service.add_staff, location_id=LOCATION, name="Ann Cashier", role="cashier", pin="4821")
    bob = in_tx(central, config_service.add_staff, location_id=LOCATION, name="Bob Boss", role="manager", pin="99001122")
    gone = in_tx(central, config_service.add_staff, location_id=LOCATION, name="Gone Gary", role="cashier", pin="1111")
    in_tx(central, config_service.deactivate_staff, gone)
    in_tx(central, config_service.set_limit, LOCATION, "offline_budget_units", 1234_00)
    pos_dir = enrolled_device("pos")
    recording = Recording(central)
    with opened(pos_dir, transport=recording) as pos:
        assert pos.config() is None, "nothing is known before the first pull"
        assert pos.pull_config() is True
        config = pos.config()
        assert config is not None
        assert (config.location_id, config.location_name, config.currency) == (LOCATION, "Cafe One", "USD")
        assert config.limits.offline_budget_units == 1234_00
        assert config.limits.shift_limit_units == Limits().shift_limit_units  # nobody set it: the default
        assert {s.id: (s.name, s.role) for s in config.staff} == {ann: ("Ann Cashier", "cashier"), bob: ("Bob Boss", "manager")}
        # The device can check a PIN with no network: the hash is argon2id of the PIN typed at the CLI.
        hasher = PasswordHasher()
        ann_hash = config.staff_member(ann).pin_hash  # type: ignore[union-attr]
        assert ann_hash.startswith("$argon2id$") and hasher.verify(ann_hash, "4821")
        with pytest.raises(VerifyMismatchError):
            hasher.verify(ann_hash, "4822")
        first_fetch = pos.cache.get("device_config")
        assert first_fetch is not None and first_fetch.etag == config.etag()

        time.sleep(1.1)  # fetched_at has one-second resolution
        assert pos.pull_config() is True
        (status1, size1), (status2, size2) = recording.pulls()
        assert status1 == 200 and size1 > 500
        assert (status2, size2) == (304, 0)
        again = pos.cache.get("device_config")
        assert again is not None and again.etag == first_fetch.etag and again.fetched_at > first_fetch.fetched_at


def test_a_limit_set_up_the_tree_reaches_the_location_and_changes_the_etag(central: Central, enrolled_device: Make):
    for node_id, kind, parent in (("md-1", "master_distributor", admin.HEAD_OFFICE_ID), ("dist-1", "distributor", "md-1"),
                                  ("loc-d", "location", "dist-1")):
        in_tx(central, admin.add_node, node_id=node_id, kind=kind, name=node_id, parent_id=parent)
    with opened(enrolled_device("kiosk", location="loc-d")) as kiosk:
        assert kiosk.pull_config()
        before = kiosk.config()
        assert before is not None and before.limits == Limits()

        in_tx(central, config_service.set_limit, "md-1", "reality_check_minutes", 45)
        in_tx(central, config_service.set_limit, admin.HEAD_OFFICE_ID, "reality_check_minutes", 20)
        in_tx(central, config_service.set_limit, admin.HEAD_OFFICE_ID, "voucher_expiry_days", 30)
        assert kiosk.pull_config()
        after = kiosk.config()
        assert after is not None and after.etag() != before.etag()
        assert after.limits.reality_check_minutes == 45  # the master distributor is nearer than head office
        assert after.limits.voucher_expiry_days == 30

        in_tx(central, config_service.set_limit, "dist-1", "reality_check_minutes", 60)
        assert kiosk.pull_config()
        assert kiosk.config().limits.reality_check_minutes == 60  # type: ignore[union-attr]
        in_tx(central, config_service.set_limit, "loc-d", "reality_check_minutes", 15)
        assert in_tx(central, config_service.effective_limits, "loc-d").reality_check_minutes == 15
    # A sibling location under another branch is not touched by the distributor's limit.
    assert in_tx(central, config_service.effective_limits, LOCATION).reality_check_minutes == 20


def test_revoked_device_is_refused_and_keeps_its_last_config(central: Central, enrolled_device: Make):
    with opened(enrolled_device("pos")) as pos:
        assert pos.pull_config()
        in_tx(central, devices.revoke, pos.device_id)
        with pytest.raises(CentralRefused) as refused:
            pos.pull_config()
        assert refused.value.http_status in (401, 403)
        assert pos.config() is not None and pos.config().location_id == LOCATION  # type: ignore[union-attr]
        pos.engine.run_pulls()  # the scheduled job logs the refusal instead of dying
    with opened(enrolled_device("pos")) as other:
        assert other.pull_config()
        assert other.config().revoked_devices == (pos.device_id,)  # type: ignore[union-attr]


def test_if_none_match_variants_and_a_stale_tag(central: Central):
    test_device = central.enroll("pos")

    def get(if_none_match: str | None) -> httpx.Response:
        headers = sign_request(test_device.key, test_device.device_id, "GET", DEVICE_CONFIG_PATH, b"", int(time.time()))
        if if_none_match is not None:
            headers["If-None-Match"] = if_none_match
        return central.client.get(DEVICE_CONFIG_PATH, headers=headers)

    first = get(None)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"') and len(etag) == 66
    assert get(etag).status_code == 304
    assert get(f'"stale", W/{etag}').status_code == 304
    assert get('"0000"').status_code == 200
    assert get("*").status_code == 304



def test_cli_adds_staff_and_sets_limits_and_bad_input_is_one_line_exit_2(central: Central, enrolled_device: Make,
                                                                           capsys: pytest.CaptureFixture[str]):
    db = ("--db", central.db_url)
    assert main(["central", "add-staff", *db, "--location", LOCATION, "--name", "Cara Counter", "--role", "cashier",
                 "--pin", "246810"]) == 0
    staff_id = capsys.readouterr().out.strip()
    assert main(["central", "set-limit", *db, "--node", admin.HEAD_OFFICE_ID, "pin_max_failures", "3"]) == 0
    assert "pin_max_failures = 3" in capsys.readouterr().out
    with opened(enrolled_device("pos")) as pos:
        assert pos.pull_config()
        config = pos.config()
        assert config is not None and config.limits.pin_max_failures == 3
        member = config.staff_member(staff_id)
        assert member is not None and member.name == "Cara Counter"
        assert PasswordHasher().verify(member.pin_hash, "246810")

    bad_inputs = [
        (["add-staff", "--location", LOCATION, "--name", "X", "--role", "cashier", "--pin", "12"], "PIN is 4 to 8 digits"),
        (["add-staff", "--location", LOCATION, "--name", "X", "--role", "cashier", "--pin", "12a4"], "PIN is 4 to 8 digits"),
        (["add-staff", "--location", LOCATION, "--name", "X", "--role", "janitor", "--pin", "1234"], "invalid choice"),
        (["add-staff", "--location", LOCATION, "--name", "   ", "--role", "cashier", "--pin", "1234"], "needs a name"),
        (["set-limit", "--node", LOCATION, "no_such_limit", "5"], "invalid choice"),
        (["set-limit", "--node", LOCATION, "pin_max_failures", "-1"], "whole number"),
        (["set-limit", "--node", LOCATION, "pin_max_failures", "2.5"], "whole number"),
    ]
    for argv, reason in bad_inputs:
        with pytest.raises(SystemExit) as exited:
            main(["central", argv[0], *db, *argv[1:]])
        err = capsys.readouterr().err
        assert exited.value.code == 2, argv
        assert reason in err and len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err
    # Well-formed but naming something that does not exist: one line, exit 1, nothing written.
    assert main(["central", "set-limit", *db, "--node", "nowhere", "pin_max_failures", "4"]) == 1
    assert capsys.readouterr().err.strip() == "cafe: there is no node 'nowhere'"
    assert main(["central", "add-staff", *db, "--location", "nowhere", "--name", "X", "--role", "owner", "--pin", "1234"]) == 1
    assert capsys.readouterr().err.strip() == "cafe: there is no location 'nowhere'"
    assert central.scalar("SELECT count(*) FROM staff") == 1
    assert central.scalar("SELECT count(*) FROM node_limits") == 1


def test_expired_nonces_are_pruned_on_heartbeat_and_in_bounded_batches(central: Central, monkeypatch: pytest.MonkeyPatch):
    from shared.protocol import HEARTBEAT_PATH

    monkeypatch.setattr(devices, "NONCE_PRUNE_ONE_IN_HEARTBEATS", 1)  # the all-devices prune on every heartbeat
    a, b = central.enroll("pos"), central.enroll("kiosk")
    now = int(time.time())
    old = now - 2 * 300 - 5

    def add_nonces(device: Any, *seen_at_s: int, first: int = 0) -> None:
        for n, seen in enumerate(seen_at_s, start=first):
            central.execute("INSERT INTO request_nonces (device_id, nonce, seen_at_s) VALUES (:d, :n, :s)",
                            d=device.device_id, n=f"{n:032x}", s=seen)

    def nonces(device: Any) -> set[str]:
        return {r.nonce for r in central.rows("SELECT nonce FROM request_nonces WHERE device_id = :d", d=device.device_id)}

    for device in (a, b):
        add_nonces(device, old, old - 100, now - 100)
    recent = f"{2:032x}"
    report = {"app_version": "test", "outbox_depth": 0, "oldest_unacked_age_s": 0, "last_sync_result": "ok"}
    assert a.request("POST", HEARTBEAT_PATH, report).status_code == 200
    for device in (a, b):  # a's own sweep, and the bounded sweep of everyone's (b has been silent)
        assert recent in nonces(device), "a nonce still inside the window must be kept"
        assert not {f"{0:032x}", f"{1:032x}"} & nonces(device)
    # Replaying a forgotten nonce with its old timestamp is still refused: the timestamp is stale.
    replay = a.request("POST", HEARTBEAT_PATH, report, now_s=old, nonce=f"{0:032x}")
    assert replay.status_code == 401 and replay.json()["code"] == "stale_request"

    add_nonces(b, old, old, old, first=10)
    assert in_tx(central, devices.prune_nonces, now_s=int(time.time()), limit=2) == 2
    assert len(nonces(b)) == 2
    assert in_tx(central, devices.prune_nonces, now_s=int(time.time()), limit=1000) == 1
    assert in_tx(central, devices.prune_nonces, now_s=int(time.time()), limit=1000) == 0
    assert nonces(b) == {recent}


def wait_for(condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_engine_pulls_on_start_and_on_its_interval(central: Central, enrolled_device: Make):
    data_dir = enrolled_device("kiosk")
    device = Device.open(data_dir, engine_kwargs={"config_interval_s": 0.5, "interval_s": 30})
    try:
        device.start()
        wait_for(lambda: device.config() is not None)
        dee = in_tx(central, config_service.add_staff, location_id=LOCATION, name="Dee Tech", role="technician", pin="5555")
        wait_for(lambda: device.config().staff_member(dee) is not None)  # type: ignore[union-attr]
        in_tx(central, config_service.deactivate_staff, dee)
        wait_for(lambda: device.config().staff_member(dee) is None)  # type: ignore[union-attr]
    finally:
        device.close()


def test_offline_keeps_the_last_config_across_restarts_and_it_is_encrypted(central: Central, enrolled_device: Make):
    in_tx(central, config_service.add_staff, location_id=LOCATION, name="Zora Pemberton-Vance", role="owner", pin="8642")
    data_dir = enrolled_device("pos")
    with opened(data_dir) as pos:
        assert pos.pull_config()
        pulled = pos.config()
    # Central moves out of reach: the device.json now names a port where nothing listens.
    identity = json.loads((data_dir / "device.json").read_text())
    identity["central_url"] = "https://127.0.0.1:9"
    (data_dir / "device.json").write_text(json.dumps(identity))
    with opened(data_dir, timeout_s=2) as pos:
        before = pos.cache.get("device_config")
        assert pos.pull_config() is False
        assert pos.config() == pulled and pulled is not None
        assert pulled.staff[0].name == "Zora Pemberton-Vance"
        assert pos.cache.get("device_config") == before, "a failed pull does not even touch fetched_at"
        pos.engine.run_pulls()
        assert pos.config() == pulled
    for path in data_dir.iterdir():
        assert b"Pemberton" not in path.read_bytes(), path.name


def test_new_pin_and_deactivation_reach_the_device(central: Central, enrolled_device: Make):
    from central_server.errors import Conflict, NotFound

    eve = in_tx(central, config_service.add_staff, location_id=LOCATION, name="Eve", role="cashier", pin="1357")
    with opened(enrolled_device("pos")) as pos:
        assert pos.pull_config()
        old_hash = pos.config().staff_member(eve).pin_hash  # type: ignore[union-attr]
        in_tx(central, config_service.set_pin, eve, "24680")
        assert pos.pull_config()
        new_hash = pos.config().staff_member(eve).pin_hash  # type: ignore[union-attr]
        assert new_hash != old_hash and PasswordHasher().verify(new_hash, "24680")
        with pytest.raises(VerifyMismatchError):
            PasswordHasher().verify(new_hash, "1357")
        in_tx(central, config_service.deactivate_staff, eve)
        assert pos.pull_config()
        assert pos.config().staff == ()  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        in_tx(central, config_service.set_pin, eve, "9999")
    with pytest.raises(NotFound):
        in_tx(central, config_service.deactivate_staff, "no-such-staff")
    with pytest.raises(NotFound):
        in_tx(central, config_service.add_staff, location_id=admin.HEAD_OFFICE_ID, name="X", role="owner", pin="1234")


class Tampering(Recording):
    """A network that alters the config on its way to the device (one field, same length)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path != DEVICE_CONFIG_PATH or response.status_code != 200:
            return response
        body = response.content.replace(b"Cafe One", b"Cafe 0ne")
        return httpx.Response(200, headers=response.headers, content=body)


def test_a_config_that_does_not_hash_to_its_etag_is_never_cached(central: Central, enrolled_device: Make):
    from shared.errors import ValidationError

    data_dir = enrolled_device("pos")
    with opened(data_dir) as pos:
        assert pos.pull_config()
        good = pos.cache.get("device_config")
    in_tx(central, config_service.set_limit, LOCATION, "screen_lock_s", 120)  # a new version to fetch
    with opened(data_dir, transport=Tampering(central)) as pos:
        with pytest.raises(ValidationError, match="does not match its ETag"):
            pos.pull_config()
        assert pos.cache.get("device_config") == good
        assert pos.config().location_name == "Cafe One"  # type: ignore[union-attr]
