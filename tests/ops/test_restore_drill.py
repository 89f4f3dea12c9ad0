"""Disaster-recovery drill: a simulated fleet keeps trading while central is backed up, wiped and
restored from that (older) backup; devices resend what central lost and at the end every entry
is at central exactly once, the fleet's balances equal central's and ``verify`` is clean."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import text

from cafe_cli.main import main
from central_server.db import make_engine
from central_server.ops import backup
from sync.sim.plan import PlanConfig, iter_plan
from sync.sim.runner import Simulation

DEVICES, OPS = 5, 450
NETWORK_FAULTS = frozenset({"drop_request", "drop_response", "duplicate", "reorder"})


def _wipe(sim: Simulation) -> None:
    """Lose central's database entirely (the disk died): what is left is the backup."""
    assert sim.engine is not None
    sim.engine.dispose()
    if sim.db_url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(sim.db_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        return
    import psycopg

    server, name = sim.db_url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _held(sim: Simulation) -> int:
    assert sim.engine is not None
    with sim.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM journal_entries")).scalar_one())


def test_restore_from_an_older_backup_then_devices_resend(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = PlanConfig(devices=DEVICES, ops=OPS, seed=11, faults=NETWORK_FAULTS, snapshots=0)
    sim = Simulation(config, tmp_path / "sim", db_url)
    plan = list(iter_plan(config))
    third = len(plan) // 3
    try:
        sim.setup()
        for op in plan[:third]:
            sim._do(op)
        sim._drain_all()
        assert sim.engine is not None and sim.central is not None
        made = backup.backup(sim.engine, sim.central_dir, tmp_path / "backups")

        for op in plan[third:2 * third]:  # the fleet keeps trading after the backup …
            sim._do(op)
        sim._drain_all()
        acked_after_backup = sum(d.journal.acked_seq for d in sim.devices)
        sim.central.kill()  # … then central's database is lost
        _wipe(sim)

        assert main(["central", "restore", "--db", db_url, "--data-dir", str(sim.central_dir), "--from", str(made.path)]) == 0
        assert "OK: every balance" in capsys.readouterr().out
        sim.engine = make_engine(db_url)
        assert _held(sim) < acked_after_backup, "the backup is older than what the devices saw acknowledged"
        sim.central.start()

        # Devices learn from their next heartbeat that central lost entries and resend them from their
        # journals, although those entries were acknowledged long ago and nothing new was written.
        started = time.monotonic()
        for device in sim.devices:
            assert device.engine.send_heartbeat()
            for _ in range(50):
                if device.engine.push_pending().last_error is None:
                    break
        resend_s = time.monotonic() - started
        assert _held(sim) == sum(d.journal.head().seq for d in sim.devices), "central is back up to date before anyone writes"

        for op in plan[2 * third:]:  # and trading goes on
            sim._do(op)
        report = sim._final_check()
    finally:
        for device in sim.devices:
            device.close()
        if sim.central is not None:
            sim.central.stop()
        if sim.engine is not None:
            sim.engine.dispose()
    assert report.all_violations() == [], report.all_violations()[:10]
    assert (report.lost, report.duplicated) == (0, 0)
    assert report.entries > OPS * 0.8
    assert resend_s < 30, f"resending after the restore took {resend_s:.1f} s"
