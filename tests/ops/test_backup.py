"""Backups: encrypted, checksummed, restorable only into an empty database, verified in a scratch one."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cafe_cli.main import main
from central_server.ops import backup
from tests.central.conftest import Central, Device


def _cafe(*args: str) -> int:
    return main(list(args))


def _ledger(url: str) -> tuple[list[tuple[str, str, int]], int]:
    from central_server.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            from sqlalchemy import text

            balances = [(r.account, r.unit, int(r.balance_units))
                        for r in conn.execute(text("SELECT account, unit, balance_units FROM balances ORDER BY account, unit"))]
            entries = int(conn.execute(text("SELECT count(*) FROM journal_entries")).scalar_one())
        return balances, entries
    finally:
        engine.dispose()


def _empty_target(central: Central, tmp_path: Path, name: str) -> str:
    if central.db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / name}.db"
    import psycopg

    base = central.db_url.rsplit("/", 1)[0]
    db = f"{central.db_url.rsplit('/', 1)[1]}_{name}"
    with psycopg.connect(central.db_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    return f"{base}/{db}"


def _drop(url: str) -> None:
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def test_backup_restore_verify_round_trip(central: Central, pos: Device, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    for amount in (700, 300, 1250):
        pos.sale("player-a", amount, cash_units=amount)
    assert pos.push(pos.chain).status_code == 200
    before = _ledger(central.db_url)
    assert before[1] == 3
    data_dir, out = central.data_dir, tmp_path / "backups"

    assert _cafe("central", "backup", "--db", central.db_url, "--data-dir", str(data_dir), "--to", str(out)) == 0
    files = sorted(out.glob("*.cbak"))
    assert len(files) == 1
    key_file = backup.key_path(data_dir)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not list(out.glob("*.key")), "the key is never written next to the backups"
    raw = files[0].read_bytes()
    assert b"wallet:player-a" not in raw and b"journal_entries" not in raw, "the dump is encrypted"
    manifest = backup.read_manifest(files[0])
    assert manifest.db_kind == ("sqlite" if central.db_url.startswith("sqlite") else "postgresql")
    assert manifest.schema_head and manifest.encrypted_bytes == len(raw) and len(manifest.sha256) == 64
    capsys.readouterr()

    assert _cafe("central", "backup", "--db", central.db_url, "--data-dir", str(data_dir), "--verify", str(files[0])) == 0
    said = capsys.readouterr().out
    assert "3 journal entries" in said and "OK: every balance" in said

    target = _empty_target(central, tmp_path, "restored")
    try:
        assert _cafe("central", "restore", "--db", target, "--data-dir", str(data_dir), "--from", str(files[0])) == 0
        assert _ledger(target) == before, "the restored ledger is identical"
        capsys.readouterr()
        # A second restore would overwrite data: refused in one line.
        assert _cafe("central", "restore", "--db", target, "--data-dir", str(data_dir), "--from", str(files[0])) == 1
        err = capsys.readouterr().err.strip()
        assert "is not empty" in err and len(err.splitlines()) == 1
    finally:
        _drop(target)


def test_damaged_backup_or_wrong_key_is_refused_in_one_line(central: Central, pos: Device, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    pos.sale("player-a", 500)
    assert pos.push(pos.chain).status_code == 200
    result = backup.backup(central.engine, central.data_dir, tmp_path / "b")
    other_key = tmp_path / "other" / "backup.key"
    backup.load_or_create_key(other_key.parent)
    capsys.readouterr()
    args = ("central", "backup", "--db", central.db_url, "--data-dir", str(central.data_dir), "--verify", str(result.path))
    assert _cafe(*args, "--key", str(other_key)) == 1
    assert "not with this key" in capsys.readouterr().err

    data = bytearray(result.path.read_bytes())
    data[len(data) // 2] ^= 0x01
    result.path.write_bytes(bytes(data))
    assert _cafe(*args) == 1
    err = capsys.readouterr().err.strip()
    assert "checksum does not match" in err and len(err.splitlines()) == 1

    # Even with a matching manifest checksum, a flipped bit does not decrypt.
    import hashlib
    import json

    manifest_path = result.manifest_path
    manifest = json.loads(manifest_path.read_text())
    manifest["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    assert _cafe(*args) == 1
    assert "does not authenticate" in capsys.readouterr().err


def test_truncated_backup_does_not_decrypt(tmp_path: Path) -> None:
    import io

    key = backup.load_or_create_key(tmp_path)
    plain = bytes(range(256)) * (backup.CHUNK_BYTES // 256 * 2 + 7)  # three chunks
    sealed = io.BytesIO()
    backup.encrypt_stream(key, {"key_id": backup.key_id(key)}, io.BytesIO(plain), sealed)
    out = io.BytesIO()
    backup.decrypt_stream(key, io.BufferedReader(io.BytesIO(sealed.getvalue())), out, tmp_path)
    assert out.getvalue() == plain
    # Cut after the second chunk, exactly at a chunk boundary: the last chunk left was not sealed as the last.
    first_len = backup.CHUNK_BYTES + 16 + 4
    header_end = sealed.getvalue().index(b"}") + 1
    cut = sealed.getvalue()[: header_end + 2 * first_len]
    with pytest.raises(backup.BackupError, match="does not authenticate"):
        backup.decrypt_stream(key, io.BufferedReader(io.BytesIO(cut)), io.BytesIO(), tmp_path)


def test_retention_keeps_last_day_seven_daily_and_four_weekly() -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    names = []
    for day in range(60):  # two backups a day (03:00 and a manual one at 15:00) for 60 days
        for hour in (3, 15):
            when = (now - timedelta(days=day)).replace(hour=hour)
            if when <= now:
                names.append((f"b-{when:%Y%m%dT%H}", when))
    keep = backup.to_keep(names, now, daily=7, weekly=4)
    # 2026-11-25 is a Wednesday. Kept: the last 24 h (yesterday 15:00, today 03:00), the newest of each
    # of the 7 newest days (Nov 19-25), and the newest of the 4 newest ISO weeks: weeks 48 and 47 are
    # already among those days, weeks 46 and 45 add their Sundays (Nov 15 and Nov 8).
    expected = {"b-20261125T03", *(f"b-202611{day:02d}T15" for day in (8, 15, 19, 20, 21, 22, 23, 24))}
    assert keep == expected


def test_backup_retention_on_disk_leaves_foreign_files(tmp_path: Path) -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    for day in range(20):
        name = f"cafe-central-{now - timedelta(days=day):%Y%m%dT%H%M%SZ}-abcdef.sqlite.cbak"
        (tmp_path / name).write_bytes(b"x")
        (tmp_path / (name + backup.MANIFEST_SUFFIX)).write_text("{}")
    (tmp_path / "notes.txt").write_text("keep me")
    removed = backup.apply_retention(tmp_path, now=now)
    left = sorted(p.name for p in tmp_path.glob("*.cbak"))
    assert len(left) == len(backup.to_keep([(n, backup.backup_time(n)) for n in left], now))  # type: ignore[misc]
    assert len(left) < 20 and len(removed) == 2 * (20 - len(left))
    assert (tmp_path / "notes.txt").exists()


def test_backup_to_the_key_folder_is_refused(central: Central, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cafe("central", "backup", "--db", central.db_url, "--data-dir", str(central.data_dir),
                 "--to", str(central.data_dir)) == 1
    assert "where the backup key lives" in capsys.readouterr().err


def test_the_scheduled_daily_backup_runs_once_per_slot_and_keeps_what_retention_says(central: Central, pos: Device,
                                                                                     tmp_path: Path) -> None:
    from central_server.ops import jobs

    pos.sale("player-a", 900, cash_units=900)
    assert pos.push(pos.chain).status_code == 200
    out = tmp_path / "nightly"
    [job] = [j for j in jobs.default_jobs(central.engine, central.data_dir, out) if j.name == "backup"]
    assert (job.period_s, job.offset_s) == (86_400, 3 * 3600)  # daily at 03:00 UTC
    slot = jobs.slot_of(1_800_000_000, job.period_s, job.offset_s)
    first = jobs.run_once(central.engine, job.name, slot, job.run, instance="central-a")
    assert first is not None and first.startswith("backup ") and "retention removed 0" in first
    assert jobs.run_once(central.engine, job.name, slot, job.run, instance="central-b") is None  # the other instance skips
    [made] = list(out.glob("*.cbak"))
    assert backup.read_manifest(made).encrypted_bytes == made.stat().st_size
    pg = None if central.db_url.startswith("sqlite") else central.db_url
    verified = backup.verify_backup(made, backup.read_key(backup.key_path(central.data_dir)), pg)
    assert verified.ok and verified.entries == 1, verified.summary
