"""``cafe central backup|restore|jobs``, and what ``cafe central serve`` runs beside the app."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from shared.errors import CafeError

Action = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def register_ops(action: Action) -> None:
    """Add the operations actions through ``central_server.cli``'s ``action`` helper (--db, --data-dir)."""
    backup = action("backup", run_backup, "encrypted backup of the database (--to DIR), or check one (--verify FILE)")
    what = backup.add_mutually_exclusive_group(required=True)
    what.add_argument("--to", type=Path, metavar="DIR", help="write a backup here (not the data directory: the key lives there)")
    what.add_argument("--verify", type=Path, metavar="FILE", help="restore FILE into a scratch database and run verify on it")
    backup.add_argument("--key", type=Path, help="backup key file (default: backup.key in the data directory)")
    backup.add_argument("--keep-daily", type=int, default=7, help="retention: newest backup of each of the last N days")
    backup.add_argument("--keep-weekly", type=int, default=4, help="retention: newest backup of each of the last N weeks")
    restore = action("restore", run_restore, "restore a backup into an EMPTY database (--db), then run verify")
    restore.add_argument("--from", dest="source", type=Path, required=True, metavar="FILE")
    restore.add_argument("--key", type=Path, help="backup key file (default: backup.key in the data directory)")
    jobs = action("jobs", run_jobs, "recent runs of the scheduled jobs (backup, nonce pruning, nightly reports)")
    jobs.add_argument("--limit", type=int, default=20)


def _settings(args: argparse.Namespace) -> Any:
    from central_server.settings import load_settings

    return load_settings(db_url=args.db, data_dir=args.data_dir)


def _key(args: argparse.Namespace, data_dir: Path) -> bytes:
    from central_server.ops import backup

    return backup.read_key(args.key) if args.key else backup.read_key(backup.key_path(data_dir))


def run_backup(args: argparse.Namespace) -> int:
    from central_server.cli import _engine, _safe_url
    from central_server.ops import backup

    settings = _settings(args)
    if args.verify is not None:
        outcome = backup.verify_backup(args.verify, _key(args, settings.data_dir),
                                       settings.database_url if backup.db_kind(settings.database_url) == "postgresql" else None)
        m = outcome.manifest
        print(f"backup {args.verify.name}: {m.db_kind}, made {m.created_at}, schema {m.schema_head}, "
              f"checksum ok, decrypted and restored into a scratch database")
        print(f"{outcome.entries} journal entries, {outcome.transactions} ledger transactions")
        print(outcome.summary)
        return 0 if outcome.ok else 1
    if args.keep_daily < 1 or args.keep_weekly < 0:
        raise CafeError("--keep-daily must be at least 1 and --keep-weekly at least 0")
    with _engine(settings) as engine:
        result = backup.backup(engine, settings.data_dir, args.to)
    removed = backup.apply_retention(args.to, args.keep_daily, args.keep_weekly)
    m = result.manifest
    print(f"backup of {_safe_url(settings.database_url)} written: {result.path}")
    print(f"  {m.db_kind}, schema {m.schema_head}, {m.plain_bytes} bytes dumped, {m.encrypted_bytes} encrypted, sha256 {m.sha256}")
    print(f"  key {backup.key_path(settings.data_dir)} (id {m.key_id}) — keep a copy apart from the backups")
    if removed:
        old = len([path for path in removed if path.suffix == backup.SUFFIX])
        print(f"  retention ({args.keep_daily} daily, {args.keep_weekly} weekly) removed {old} old backup(s)")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from central_server.audit.service import verify
    from central_server.cli import _engine, _safe_url
    from central_server.migrate import current_revision, head_revision
    from central_server.ops import backup

    settings = _settings(args)
    manifest = backup.restore(args.source, _key(args, settings.data_dir), settings.database_url)
    print(f"restored {args.source.name} (made {manifest.created_at}) into {_safe_url(settings.database_url)}")
    with _engine(settings) as engine:
        at = current_revision(engine)
        with engine.connect() as conn:
            report = verify(conn)
    if at != head_revision():
        print(f"schema is at {at}; run `cafe central migrate` before serving (this server needs {head_revision()})")
    print(report.summary())
    print("devices resend what central lost since the backup on their next push or heartbeat (docs/operations.md)")
    return 0 if report.ok else 1


def run_jobs(args: argparse.Namespace) -> int:
    from central_server.cli import _engine
    from central_server.ops.jobs import job_history

    with _engine(_settings(args)) as engine:
        rows = job_history(engine, limit=max(1, min(args.limit, 1000)))
    if not rows:
        print("no scheduled job has run yet")
    for row in rows:
        print(f"{row.job:16} {row.slot}  {row.status:8} {row.instance:28} {row.detail}")
    return 0


@contextmanager
def serving(engine: Engine, data_dir: Path) -> Iterator[None]:
    """Around ``uvicorn.run`` in ``cafe central serve``: JSON logs and the scheduled jobs."""
    from central_server.ops.jobs import JOBS_ENV, default_jobs, start_scheduler
    from central_server.ops.observability import configure_json_logging

    configure_json_logging()
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per firing is noise; jobs log their own result
    scheduler = None
    if os.environ.get(JOBS_ENV, "").strip().lower() != "none":
        scheduler = start_scheduler(engine, default_jobs(engine, data_dir))
    try:
        yield
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        sys.stderr.flush()
