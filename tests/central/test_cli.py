"""`cafe central …` commands, `verify` on good and tampered data, and the schema's single source."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cafe_cli.main import main
from central_server.db import make_engine
from central_server.migrate import upgrade
from central_server.tables import metadata
from tests.central.conftest import Central, Device


def _cafe(*args: str) -> int:
    return main(list(args))


def test_init_migrate_enroll_code_verify(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.delenv("CAFE_ADMIN_PASSWORD", raising=False)
    assert _cafe("central", "init", "--db", db_url, "--data-dir", str(data_dir)) == 0
    out = capsys.readouterr().out
    assert "password (shown once" in out and "CA fingerprint" in out
    for name in ("central_signing_key.pem", "ca_key.pem", "tls_key.pem"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT password_hash FROM admin_users WHERE username = 'admin'").scalar()
        assert str(stored).startswith("$argon2id$")
    finally:
        engine.dispose()
    assert _cafe("central", "init", "--db", db_url, "--data-dir", str(data_dir)) == 1
    assert "already initialised" in capsys.readouterr().err
    assert _cafe("central", "migrate", "--db", db_url, "--data-dir", str(data_dir)) == 0
    assert _cafe("central", "add-node", "--db", db_url, "--id", "loc-9", "--kind", "location") == 0
    capsys.readouterr()
    assert _cafe("central", "enroll-code", "--db", db_url, "--location", "loc-9", "--role", "kiosk") == 0
    code = capsys.readouterr().out.strip().splitlines()[-1]
    assert len(code) == 14 and code.count("-") == 2
    assert _cafe("central", "enroll-code", "--db", db_url, "--location", "nowhere", "--role", "kiosk") == 1
    assert "no location 'nowhere'" in capsys.readouterr().err
    assert _cafe("central", "verify", "--db", db_url) == 0
    assert "OK:" in capsys.readouterr().out


def test_admin_password_from_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAFE_ADMIN_PASSWORD", "a-long-enough-password")
    assert _cafe("central", "init", "--data-dir", str(tmp_path / "d")) == 0
    out = capsys.readouterr().out
    assert "a-long-enough-password" not in out and "CAFE_ADMIN_PASSWORD" in out
    assert (tmp_path / "d" / "central.db").is_file()  # SQLite in the data directory by default


@pytest.mark.parametrize("url", ["mysql://x@localhost/db", "not a url", "postgresql://postgres@127.0.0.1:1/none",
                                 "sqlite:////nonexistent-dir/x/central.db"])
def test_bad_db_url_is_one_line(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cafe("central", "migrate", "--db", url, "--data-dir", str(tmp_path)) == 1
    err = capsys.readouterr().err
    assert err.startswith("cafe: ") and err.count("\n") == 1, err


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    from central_server.keys import create_keys

    create_keys(data_dir)
    result = subprocess.run(
        [sys.executable, "-m", "cafe_cli", "central", "serve", "--data-dir", str(data_dir), "--port", "0"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "CAFE_CONFIG": ""},
    )
    assert result.returncode == 1
    assert "cafe central migrate" in result.stderr and "Traceback" not in result.stderr


def test_settings_come_from_toml_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from central_server.settings import load_settings

    config = tmp_path / "central.toml"
    config.write_text('port = 9001\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("CAFE_CONFIG", str(config))
    monkeypatch.setenv("CAFE_PORT", "9002")
    settings = load_settings()
    assert (settings.host, settings.port) == ("0.0.0.0", 9002)
    assert load_settings(port=9003).port == 9003
    monkeypatch.setenv("CAFE_PORT", "not-a-port")
    from shared.errors import CafeError

    with pytest.raises(CafeError, match="port"):
        load_settings()


def test_migrated_schema_matches_the_table_definitions(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_readyz_and_docs(central: Central) -> None:
    assert central.client.get("/healthz").json() == {"status": "ok"}
    assert central.client.get("/readyz").status_code == 200
    spec = central.client.get("/openapi.json").json()
    assert "/api/v1/journal" in spec["paths"] and central.client.get("/docs").status_code == 200
    assert "$defs" not in central.client.get("/openapi.json").text  # every $ref resolves inside the document


def test_verify_fails_after_tampering(central: Central, pos: Device, capsys: pytest.CaptureFixture[str]) -> None:
    pos.sale("player-a", 700)
    pos.sale("player-b", 300)
    assert pos.push(pos.chain).status_code == 200
    assert _cafe("central", "verify", "--db", central.db_url) == 0
    capsys.readouterr()
    central.execute("UPDATE balances SET balance_units = balance_units + 1 WHERE account = 'wallet:player-a'")
    assert _cafe("central", "verify", "--db", central.db_url) == 1
    assert "wallet:player-a" in capsys.readouterr().out
    central.execute("UPDATE balances SET balance_units = balance_units - 1 WHERE account = 'wallet:player-a'")
    assert _cafe("central", "verify", "--db", central.db_url) == 0
    central.execute("UPDATE postings SET amount_units = 301 WHERE account = 'wallet:player-b'")
    assert _cafe("central", "verify", "--db", central.db_url) == 1
    out = capsys.readouterr().out
    assert "does not balance" in out and "FAILED" in out


def test_verify_fails_after_tampering_a_stored_entry(central: Central, pos: Device, capsys: pytest.CaptureFixture[str]) -> None:
    pos.sale("player-a", 700)
    assert pos.push(pos.chain).status_code == 200
    central.execute("UPDATE journal_entries SET data = replace(data, '700', '701')")
    assert _cafe("central", "verify", "--db", central.db_url) == 1
    assert "hash does not match" in capsys.readouterr().out


def test_verify_reads_the_ledger_a_batch_at_a_time_and_names_each_entry_it_disagrees_with(
        central: Central, pos: Device, monkeypatch: pytest.MonkeyPatch) -> None:
    from central_server.audit import repository as audit_repo
    from central_server.audit import service as audit

    monkeypatch.setattr(audit_repo, "READ_BATCH", 2)  # five entries: batches of 2, 2 and 1
    for n in range(5):
        pos.sale(f"player-{n}", 100 + n)
    assert pos.push(pos.chain).status_code == 200

    seen: list[tuple[int, int]] = []

    def problems() -> list[str]:
        seen.clear()
        with central.engine.connect() as conn:
            report = audit.verify(conn, progress=lambda done, total: seen.append((done, total)))
        assert report.entries == 5 and report.transactions_checked == 5
        return report.problems

    assert problems() == []
    assert seen == [(2, 5), (4, 5), (5, 5)]  # progress after each batch read, against every entry central holds
    # Seq 4's credits moved to another player's wallet: every transaction still balances; the entry no longer matches its lines.
    central.execute("UPDATE postings SET account = 'wallet:player-0' WHERE account = 'wallet:player-3'")
    found = [p for p in problems() if "seq" in p]
    assert found == [f"device {pos.device_id} seq 4: ledger postings differ from the entry's postings"], found
    # Seq 5's transaction gone from the ledger.
    entry_id = central.scalar("SELECT id FROM journal_entries WHERE device_id = :d AND seq = 5", d=pos.device_id)
    central.execute("DELETE FROM postings WHERE tx_id IN (SELECT id FROM ledger_transactions WHERE entry_id = :e)", e=entry_id)
    central.execute("DELETE FROM ledger_transactions WHERE entry_id = :e", e=entry_id)
    found = [p for p in problems() if "seq" in p]
    assert found[-1] == f"device {pos.device_id} seq 5: its postings are missing from the ledger" and len(found) == 2, found


def test_add_user_prints_the_password_once_and_the_user_can_sign_in(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from central_server.console.service import sign_in_password

    data_dir = tmp_path / "d"
    monkeypatch.setenv("CAFE_ADMIN_PASSWORD", "a-long-enough-password")
    monkeypatch.delenv("CAFE_USER_PASSWORD", raising=False)
    assert _cafe("central", "init", "--data-dir", str(data_dir)) == 0
    assert _cafe("central", "add-node", "--data-dir", str(data_dir), "--id", "loc-9", "--kind", "location") == 0
    capsys.readouterr()
    assert _cafe("central", "add-user", "--data-dir", str(data_dir), "--username", "olu", "--role", "location_owner",
                 "--node", "loc-9", "--name", "Olu Adams") == 0
    out = capsys.readouterr().out
    assert "'olu' (location_owner at loc-9) added" in out
    password = out.split("store it now): ")[1].strip()
    engine = make_engine(f"sqlite:///{data_dir / 'central.db'}")
    try:
        with engine.begin() as conn:
            assert sign_in_password(conn, username="olu", password=password, ip="127.0.0.1", user_agent="t", now_s=10**9).ok
            assert not sign_in_password(conn, username="olu", password="wrong", ip="127.0.0.1", user_agent="t", now_s=10**9).ok
            audited = conn.exec_driver_sql("SELECT count(*) FROM audit_log").scalar()
        assert audited and int(audited) >= 1  # head office's own tool is audited too
    finally:
        engine.dispose()
    # The same name again, or a node that does not exist: one line, exit 1, nothing added.
    assert _cafe("central", "add-user", "--data-dir", str(data_dir), "--username", "olu", "--role", "cashier",
                 "--node", "loc-9") == 1
    assert _cafe("central", "add-user", "--data-dir", str(data_dir), "--username", "ann", "--role", "cashier",
                 "--node", "nowhere") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and all(line.startswith("cafe: ") for line in err.splitlines()), err
