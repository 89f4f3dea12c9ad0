"""Scheduled jobs run once per slot however many central instances fire them."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from central_server.db import make_engine
from central_server.migrate import upgrade
from central_server.ops import jobs
from central_server.tables import job_runs
from tests.central.conftest import Central, Device


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def test_slot_is_the_same_for_every_instance_within_a_period() -> None:
    day, three_am = 86_400, 3 * 3600
    base = 1_795_000_000 - 1_795_000_000 % day  # a UTC midnight
    assert jobs.slot_of(base + three_am, day, three_am) == jobs.slot_of(base + three_am + 5000, day, three_am)
    assert jobs.slot_of(base + three_am - 1, day, three_am) != jobs.slot_of(base + three_am, day, three_am)
    assert jobs.slot_of(base + three_am, day, three_am).endswith("T03:00:00Z")


def test_racing_instances_run_a_slot_once(engine: Engine) -> None:
    ran: Counter[str] = Counter()
    answers: list[str | None] = []

    def work(instance: str) -> str:
        ran[instance] += 1
        time.sleep(0.3)  # long enough that every other instance fires while it runs
        return f"done by {instance}"

    def instance(name: str) -> None:
        answers.append(jobs.run_once(engine, "backup", "2026-11-25T03:00:00Z", lambda: work(name), instance=name))

    threads = [threading.Thread(target=instance, args=(f"central-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(ran.values()) == 1
    winner = next(iter(ran))
    assert sorted(a for a in answers if a) == [f"done by {winner}"] and answers.count(None) == 3
    with engine.connect() as conn:
        rows = conn.execute(sa.select(job_runs)).all()
    assert [(r.job, r.instance, r.status) for r in rows] == [("backup", winner, "done")]
    # A later firing in the same slot does nothing; the next slot runs again.
    assert jobs.run_once(engine, "backup", "2026-11-25T03:00:00Z", lambda: work("late")) is None
    assert jobs.run_once(engine, "backup", "2026-11-26T03:00:00Z", lambda: work("next")) == "done by next"


def test_a_failing_job_is_recorded_and_not_retried_in_its_slot(engine: Engine) -> None:
    def broken() -> str:
        raise RuntimeError("disk full")

    assert jobs.run_once(engine, "backup", "s1", broken) == "RuntimeError: disk full"
    with engine.connect() as conn:
        row = conn.execute(sa.select(job_runs)).one()
    assert row.status == "failed" and "disk full" in row.detail
    assert jobs.run_once(engine, "backup", "s1", lambda: "again") is None


def test_sqlite_claim_of_a_killed_instance_is_taken_over_when_stale(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    upgrade(engine)
    now = time.time()
    with engine.begin() as conn:
        conn.execute(sa.insert(job_runs).values(job="backup", slot="fresh", instance="dead-1", status="running",
                                                started_at_s=int(now) - 60, finished_at_s=None, detail=""))
        conn.execute(sa.insert(job_runs).values(job="backup", slot="stale", instance="dead-2", status="running",
                                                started_at_s=int(now) - jobs.STALE_CLAIM_S - 60, finished_at_s=None, detail=""))
    assert jobs.run_once(engine, "backup", "fresh", lambda: "ran", instance="me") is None  # maybe still running elsewhere
    assert jobs.run_once(engine, "backup", "stale", lambda: "ran", instance="me") == "ran"
    with engine.connect() as conn:
        row = conn.execute(sa.select(job_runs).where(job_runs.c.slot == "stale")).one()
    assert (row.instance, row.status) == ("me", "done")
    engine.dispose()


def test_postgres_lock_of_a_killed_instance_is_released_with_its_connection(pg_only_url: str) -> None:
    import psycopg

    engine = make_engine(pg_only_url)
    upgrade(engine)
    other = psycopg.connect(pg_only_url)  # another instance, in the middle of running the job
    other.execute("SELECT pg_advisory_xact_lock(%s)", (jobs._lock_key("backup"),))
    try:
        assert jobs.run_once(engine, "backup", "slot-a", lambda: "ran") is None
    finally:
        other.close()  # the instance dies: its transaction and the lock go with it
    assert jobs.run_once(engine, "backup", "slot-a", lambda: "ran") == "ran"
    engine.dispose()


def test_nonce_pruning_forgets_only_expired_nonces(central: Central, pos: Device) -> None:
    from shared.protocol import MAX_CLOCK_SKEW_S

    now = int(time.time())
    for index in range(30):
        central.execute("INSERT INTO request_nonces (device_id, nonce, seen_at_s) VALUES (:d, :n, :s)",
                        d=pos.device_id, n=f"old-{index}", s=now - 2 * MAX_CLOCK_SKEW_S - 10 - index)
    central.execute("INSERT INTO request_nonces (device_id, nonce, seen_at_s) VALUES (:d, 'recent', :s)", d=pos.device_id, s=now - 5)
    detail = jobs.prune_nonces(central.engine, now_s=now)
    assert detail.startswith("pruned 30 ")
    assert central.scalar("SELECT count(*) FROM request_nonces WHERE nonce LIKE 'old-%'") == 0
    assert central.scalar("SELECT count(*) FROM request_nonces WHERE nonce = 'recent'") == 1
