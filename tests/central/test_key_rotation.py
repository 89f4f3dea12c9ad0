"""`cafe central rotate-data-key`: every sealed value moves to a new data key in batches, reads back
unchanged (profiles, blind-index search, TOTP, provider credentials), the old key is retired, and a
rotation killed midway resumes and finishes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import Engine

from cafe_cli.main import main
from central_server import sealing
from central_server.console import service as console_service
from central_server.devices.service import AuthedDevice
from central_server.payments import service as payments_service
from central_server.payments.providers import StripeProvider
from central_server.players import service as players_service
from central_server.players.schemas import RegisterPlayerBody
from central_server.sealing import DataKeys, SealingError
from tests.central.conftest import LOCATION, prepare_central

POS = AuthedDevice(id="pos-1", location_id=LOCATION, role="pos")
PLAYERS = [(f"Player{i} Surname{i}", f"+1 555 010 {2000 + i}", f"ID{i}" if i % 2 else None) for i in range(7)]
PLAYER_FIELDS = 7 * 3 + 3  # name, birth date and phone of each, and three ID numbers
PROGRESS = re.compile(r"resealed ([\d,]+)/([\d,]+) player fields…")
STRIPE = {"secret_key": "sk_test_rotation", "webhook_secrets": ["whsec_one", "whsec_two"]}


@dataclass
class World:
    data_dir: Path
    url: str
    engine: Engine
    player_ids: list[str]
    user_id: int
    account_id: str


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Any:
    data_dir = tmp_path / "data"
    engine = prepare_central(data_dir, db_url)
    keys = DataKeys.load_or_create(data_dir)  # what the server does at start
    with engine.begin() as conn:
        ids = [players_service.register_profile(conn, POS, RegisterPlayerBody(
            full_name=name, date_of_birth="1990-12-10", phone=phone, id_number=id_number), keys).player_id
            for name, phone, id_number in PLAYERS]
        user_id = int(conn.exec_driver_sql("SELECT id FROM admin_users WHERE username = 'admin'").scalar_one())
        console_service.enrolment(conn, keys, _session(user_id))
        account_id = payments_service.add_account(conn, keys, node_id=LOCATION, provider="stripe",
                                                  base_url="https://stripe.test", credentials=STRIPE)
    yield World(data_dir, db_url, engine, ids, user_id, account_id)
    engine.dispose()


def _session(user_id: int) -> console_service.Session:
    return console_service.Session(id_sha256="s", user_id=user_id, username="admin", display_name="", role="head_office_admin",
                                   node_id="head-office", stage="enrol", csrf_token="", flash=None, totp_enabled=False)


def _cafe_rotate(w: World, *extra: str) -> int:
    return main(["central", "rotate-data-key", "--db", w.url, "--data-dir", str(w.data_dir), *extra])


def _sealed_values(w: World) -> list[tuple[str, str]]:
    """(where, token) of every sealed value in the database."""
    found: list[tuple[str, str]] = []
    with w.engine.connect() as conn:
        for spec in sealing.sealed_columns():
            for row in conn.execute(spec.table.select()):
                found += [(f"{spec.table.name}.{c}", row._mapping[c]) for c in spec.columns if row._mapping[c] is not None]
    return found


def _read_back(w: World, keys: DataKeys) -> dict[str, Any]:
    """Everything the sealed values mean, read through the areas' own services."""
    with w.engine.begin() as conn:
        profiles = [players_service.profile_view(conn, POS, pid, keys) for pid in w.player_ids]
        found = {q: [p.player_id for p in players_service.search(conn, POS, q, keys)]
                 for q in ("+15550102003", "555-010-2005", "player4 surname4", "Surname6")}
        secret, _svg = console_service.enrolment(conn, keys, _session(w.user_id))
        provider = payments_service.provider_for(conn, keys, w.account_id)
        assert isinstance(provider, StripeProvider)
    return {"profiles": [(p.full_name, p.phone, p.date_of_birth, p.id_number) for p in profiles], "found": found,
            "totp": secret, "stripe": (provider._client.headers["Authorization"], provider._webhook_secrets)}


def _assert_all_under(w: World, kid: str) -> None:
    values = _sealed_values(w)
    assert len(values) == PLAYER_FIELDS + 1 + 1  # and the TOTP secret, and the provider credentials
    assert all(token.startswith(f"v1:{kid}:") for _where, token in values), values
    with w.engine.connect() as conn:
        assert {r[0] for r in conn.exec_driver_sql("SELECT key_id FROM player_profiles")} == {kid}


def test_rotation_reseals_everything_keeps_it_readable_and_retires_the_old_key(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    old_keys = DataKeys.load(world.data_dir)
    before = _read_back(world, old_keys)
    assert before["found"]["+15550102003"] == [world.player_ids[3]] and before["found"]["Surname6"] == [world.player_ids[6]]
    _assert_all_under(world, "k1")

    assert _cafe_rotate(world, "--batch-rows", "3") == 0
    out = capsys.readouterr().out
    assert "new data key k2; k1 kept for reading" in out
    progress = [(int(done), int(total)) for done, total in PROGRESS.findall(out)]
    assert len(progress) == 3 and progress[-1] == (PLAYER_FIELDS, PLAYER_FIELDS)  # 7 rows in batches of 3
    assert [d for d, _ in progress] == sorted({d for d, _ in progress}) and {t for _, t in progress} == {PLAYER_FIELDS}
    assert "resealed 1/1 TOTP secrets…" in out and "resealed 1/1 payment credentials…" in out
    assert "retired k1" in out

    keys = DataKeys.load(world.data_dir)
    assert keys.current == "k2" and set(keys.keys) == {"k2"} and keys.index_key == old_keys.index_key
    _assert_all_under(world, "k2")
    after = _read_back(world, keys)
    assert after == before
    assert pyotp.TOTP(after["totp"]).verify(pyotp.TOTP(before["totp"]).now())
    with pytest.raises(SealingError, match="unknown key 'k2'"):  # the old key alone opens nothing any more
        _read_back(world, old_keys)

    # Again over the finished state: nothing to reseal, not a byte changes, no key appears or goes.
    snapshot = _sealed_values(world)
    result = sealing.reseal_database(world.engine, keys, say=lambda _line: None)
    assert result.finished and set(result.resealed.values()) == {0} and result.retired == ()
    assert _sealed_values(world) == snapshot and set(DataKeys.load(world.data_dir).keys) == {"k2"}


def test_interrupted_rotation_resumes_without_a_new_key_and_finishes(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    before = _read_back(world, DataKeys.load(world.data_dir))
    keys, new = sealing.begin_rotation(DataKeys.load(world.data_dir))
    assert new and keys.current == "k2"
    stopped = sealing.reseal_database(world.engine, keys, batch_rows=2, max_batches=1, say=lambda _line: None)
    first = stopped.resealed["player fields"]
    assert not stopped.finished and 6 <= first <= 8 and stopped.remaining == PLAYER_FIELDS + 2 - first  # 2 rows of 3-4
    assert set(DataKeys.load(world.data_dir).keys) == {"k1", "k2"}  # the old key stays while values need it
    assert _read_back(world, DataKeys.load(world.data_dir)) == before  # half-way, everything still reads

    assert _cafe_rotate(world, "--batch-rows", "2") == 0
    out = capsys.readouterr().out
    assert "resuming the rotation to k2 (k1 still in the key file)" in out
    assert (str(PLAYER_FIELDS - first),) * 2 == PROGRESS.findall(out)[-1] and "retired k1" in out
    _assert_all_under(world, "k2")
    keys = DataKeys.load(world.data_dir)
    assert set(keys.keys) == {"k2"} and _read_back(world, keys) == before


def test_rotation_killed_between_batches_is_resumed(world: World, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    before = _read_back(world, DataKeys.load(world.data_dir))
    real, calls = sealing.reseal_batch, []

    def killed_on_the_second_batch(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(sealing, "reseal_batch", killed_on_the_second_batch)
    assert _cafe_rotate(world, "--batch-rows", "4") == 130
    assert len(PROGRESS.findall(capsys.readouterr().out)) == 1  # one batch committed, then killed
    monkeypatch.setattr(sealing, "reseal_batch", real)
    with world.engine.connect() as conn:
        assert sorted(r[0] for r in conn.exec_driver_sql("SELECT key_id FROM player_profiles")) == ["k1"] * 3 + ["k2"] * 4

    assert _cafe_rotate(world, "--batch-rows", "4") == 0
    assert "resuming the rotation to k2" in capsys.readouterr().out
    _assert_all_under(world, "k2")
    keys = DataKeys.load(world.data_dir)
    assert set(keys.keys) == {"k2"} and _read_back(world, keys) == before


def test_missing_or_damaged_key_file_is_one_line_and_changes_nothing(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    key_file = world.data_dir / sealing.DATA_KEYS_FILE
    saved = key_file.read_bytes()
    key_file.unlink()
    assert _cafe_rotate(world) == 1
    err = capsys.readouterr().err
    assert err.startswith("cafe: no data key file") and err.count("\n") == 1
    assert not key_file.exists()  # never a fresh key that could not open the database
    key_file.write_text("{not json")
    assert _cafe_rotate(world) == 1
    err = capsys.readouterr().err
    assert "is not a readable data key file" in err and err.count("\n") == 1
    key_file.write_bytes(saved)
    _assert_all_under(world, "k1")
