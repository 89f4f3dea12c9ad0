"""Scheduled jobs that run once per slot across every central instance (DESIGN §8).

Each instance runs the same APScheduler ``BackgroundScheduler``; when a job fires, the
instances race for its slot (the day of a daily job, the hour of an hourly one …) and
only one runs it:

* PostgreSQL: ``pg_try_advisory_xact_lock`` on the job's key, held by the transaction
  that then records the slot in ``job_runs``. A killed instance's transaction dies with
  it, so the lock is released and the slot stays free for the next firing.
* SQLite (one host, possibly several processes): the ``job_runs`` row itself is the
  claim, made with ``INSERT … ON CONFLICT DO NOTHING``; a claim left ``running`` by a
  killed process is taken over with a guarded ``UPDATE`` once it is older than
  ``STALE_CLAIM_S``.

A slot that ran (``done``) or failed is not retried in the same slot: a failure is
logged with its reason and the next slot tries again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection, Engine

from central_server.db import insert_ignoring_conflict
from central_server.tables import job_runs, request_nonces
from shared.protocol import MAX_CLOCK_SKEW_S

log = logging.getLogger("cafesuite.jobs")

STALE_CLAIM_S = 6 * 3600        # a SQLite claim older than this is a dead instance's
NONCE_PRUNE_BATCH = 10_000      # one DELETE removes at most this many rows …
NONCE_PRUNE_MAX_BATCHES = 100   # … and one run at most this many DELETEs
DETAIL_MAX = 500
FAST_JOBS_ENV = "CAFE_OPS_JOB_PERIOD_S"
"""Drills and tests: run every job every N seconds instead of on its daily/hourly schedule."""
BACKUP_DIR_ENV = "CAFE_OPS_BACKUP_DIR"
"""Where the daily backup goes (default: ``<data dir>-backups`` beside the data directory)."""
JOBS_ENV = "CAFE_OPS_JOBS"
"""Comma list of the jobs this instance schedules (default: all); ``none`` for none."""


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    period_s: int
    offset_s: int             # fires at offset_s past each multiple of period_s (UTC epoch)
    run: Callable[[], str]    # returns one line for the log and job_runs.detail


def slot_of(now_s: float, period_s: int, offset_s: int) -> str:
    """The slot a firing at ``now_s`` belongs to: every instance computes the same one (pure)."""
    start = int((now_s - offset_s) // period_s) * period_s + offset_s
    return datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a job name."""
    return int.from_bytes(hashlib.sha256(f"cafesuite-job:{name}".encode()).digest()[:8], "big", signed=True)


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_once(engine: Engine, job: str, slot: str, work: Callable[[], str], *, instance: str | None = None,
             now_s: float | None = None) -> str | None:
    """Run ``work`` unless another instance runs or ran this (job, slot); its detail line, or None when skipped."""
    instance = instance or instance_name()
    if engine.dialect.name == "postgresql":
        return _run_once_postgres(engine, job, slot, work, instance)
    return _run_once_claimed(engine, job, slot, work, instance, now_s or time.time())


def _run_once_postgres(engine: Engine, job: str, slot: str, work: Callable[[], str], instance: str) -> str | None:
    with engine.begin() as conn:
        if not conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _lock_key(job)}).scalar_one():
            return None  # another instance is running this job right now
        if conn.execute(sa.select(job_runs.c.status).where(job_runs.c.job == job, job_runs.c.slot == slot)).first():
            return None
        started = int(time.time())
        status, detail = _attempt(job, slot, work)
        conn.execute(sa.insert(job_runs).values(job=job, slot=slot, instance=instance, status=status, started_at_s=started,
                                                finished_at_s=int(time.time()), detail=detail[:DETAIL_MAX]))
        return detail


def _run_once_claimed(engine: Engine, job: str, slot: str, work: Callable[[], str], instance: str, now_s: float) -> str | None:
    with engine.begin() as conn:
        claimed = insert_ignoring_conflict(conn, job_runs, {
            "job": job, "slot": slot, "instance": instance, "status": "running", "started_at_s": int(now_s),
            "finished_at_s": None, "detail": "",
        }, "job", "slot")
        if not claimed:
            claimed = _take_over_stale(conn, job, slot, instance, now_s)
    if not claimed:
        return None
    status, detail = _attempt(job, slot, work)
    with engine.begin() as conn:
        conn.execute(sa.update(job_runs).where(job_runs.c.job == job, job_runs.c.slot == slot, job_runs.c.instance == instance)
                     .values(status=status, finished_at_s=int(time.time()), detail=detail[:DETAIL_MAX]))
    return detail


def _take_over_stale(conn: Connection, job: str, slot: str, instance: str, now_s: float) -> bool:
    result = conn.execute(
        sa.update(job_runs)
        .where(job_runs.c.job == job, job_runs.c.slot == slot, job_runs.c.status == "running",
               job_runs.c.started_at_s < int(now_s) - STALE_CLAIM_S)
        .values(instance=instance, started_at_s=int(now_s))
    )
    return result.rowcount == 1


def _attempt(job: str, slot: str, work: Callable[[], str]) -> tuple[str, str]:
    try:
        detail = work()
    except Exception as exc:  # a job's failure is recorded and logged, it must not kill the scheduler
        log.exception("job %s slot %s failed", job, slot)
        return "failed", f"{type(exc).__name__}: {exc}"
    log.info("job %s slot %s ran on %s: %s", job, slot, instance_name(), detail,
             extra={"job": job, "slot": slot, "instance": instance_name()})
    return "done", detail


# -- the jobs ----------------------------------------------------------------------------


def prune_nonces(engine: Engine, now_s: float | None = None) -> str:
    """Forget request nonces that can never pass the freshness check again (bounded batches)."""
    before_s = int(now_s or time.time()) - 2 * MAX_CLOCK_SKEW_S
    removed = 0
    for _ in range(NONCE_PRUNE_MAX_BATCHES):
        with engine.begin() as conn:
            victims = (sa.select(request_nonces.c.device_id, request_nonces.c.nonce)
                       .where(request_nonces.c.seen_at_s < before_s).limit(NONCE_PRUNE_BATCH))
            # PostgreSQL has no DELETE … LIMIT: bound the batch through the keys it selects.
            result = conn.execute(sa.delete(request_nonces).where(
                sa.tuple_(request_nonces.c.device_id, request_nonces.c.nonce).in_(victims)))
            count = max(result.rowcount, 0)
        removed += count
        if count < NONCE_PRUNE_BATCH:
            break
    return f"pruned {removed} request nonce(s) older than {2 * MAX_CLOCK_SKEW_S} s"


NIGHTLY_REPORT_DAYS = 2  # a location behind UTC finishes its day after 01:00 UTC: yesterday's copy is redone next night


def nightly_reports(engine: Engine, now: datetime | None = None) -> str:
    """Keep the reports of the last ``NIGHTLY_REPORT_DAYS`` UTC days (generation is idempotent)."""
    from central_server.reports.service import generate_nightly_reports

    today = (now or datetime.now(UTC)).date()
    lines = []
    for back in range(NIGHTLY_REPORT_DAYS, 0, -1):
        result = generate_nightly_reports(engine, today - timedelta(days=back))
        lines.append(f"{result.day}: {len(result.inserted)} new, {len(result.updated)} updated, "
                     f"{len(result.unchanged)} unchanged, {len(result.failed)} failed")
        if result.failed:
            log.warning("nightly reports for %s failed for %s", result.day, sorted(result.failed))
    return "nightly reports " + "; ".join(lines)


def default_jobs(engine: Engine, data_dir: Path, backup_dir: Path | None = None) -> list[Job]:
    """Daily backup (03:00 UTC, then retention), nonce pruning (hourly), nightly reports (01:00 UTC)."""
    from central_server.ops import backup

    # Beside the data directory, not in it: whoever copies the data directory (keys included)
    # must not get the backups with it, and the backups must not carry the key.
    target = backup_dir or Path(os.environ.get(BACKUP_DIR_ENV) or data_dir.parent / f"{data_dir.name}-backups")

    def daily_backup() -> str:
        result = backup.backup(engine, data_dir, target)
        removed = backup.apply_retention(target)
        return f"backup {result.path.name} ({result.manifest.encrypted_bytes} bytes), retention removed {len(removed)}"

    jobs = [
        Job("backup", 86_400, 3 * 3600, daily_backup),
        Job("prune_nonces", 3600, 0, lambda: prune_nonces(engine)),
    ]
    jobs.append(Job("nightly_reports", 86_400, 3600, lambda: nightly_reports(engine)))
    return jobs


def _selected(jobs: list[Job]) -> list[Job]:
    wanted = os.environ.get(JOBS_ENV, "").strip()
    if not wanted:
        return jobs
    names = {name.strip() for name in wanted.split(",")}
    return [job for job in jobs if job.name in names]


def start_scheduler(engine: Engine, jobs: list[Job]) -> BackgroundScheduler:
    """Schedule every job on its UTC-aligned period; every instance fires together, one runs each slot."""
    fast = os.environ.get(FAST_JOBS_ENV)
    scheduler = BackgroundScheduler(timezone=UTC)
    for job in _selected(jobs):
        period_s, offset_s = (int(fast), 0) if fast else (job.period_s, job.offset_s)
        first = datetime.fromtimestamp(offset_s % period_s, UTC)

        def fire(job: Job = job, period_s: int = period_s, offset_s: int = offset_s) -> None:
            # A firing a little early (clock jitter) must not land in the previous slot.
            run_once(engine, job.name, slot_of(time.time() + 0.5, period_s, offset_s), job.run)

        scheduler.add_job(fire, IntervalTrigger(seconds=period_s, start_date=first, timezone=UTC), id=job.name,
                          max_instances=1, coalesce=True, misfire_grace_time=max(1, period_s // 2))
    scheduler.start()
    return scheduler


def job_history(engine: Engine, job: str | None = None, limit: int = 100) -> list[Any]:
    with engine.connect() as conn:
        query = sa.select(job_runs).order_by(job_runs.c.started_at_s.desc()).limit(limit)
        if job is not None:
            query = query.where(job_runs.c.job == job)
        return list(conn.execute(query).all())
