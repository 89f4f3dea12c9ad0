"""The push loop: send the journal's unacknowledged entries to central, in order.

Runs off the GUI thread on an APScheduler interval, and again right after each local
write (``nudge``): both go through one scheduled job with ``max_instances=1``, so a
burst of writes coalesces into one push and two pushes never race. While central is
unreachable the next attempt is pushed back with jittered exponential back-off.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from shared import __version__
from shared.entry import parse_utc_timestamp, utc_timestamp
from shared.errors import CafeError
from shared.protocol import MAX_BATCH_ENTRIES
from shared.signing import DeviceKey
from sync.backoff import Backoff
from sync.central_client import CentralClient, CentralRefused, Offline, encode_push_stored
from sync.journal import Journal
from sync.push_plan import decide
from sync.status import SyncStatus

log = logging.getLogger(__name__)

DEFAULT_BATCH = MAX_BATCH_ENTRIES  # a backlog goes in the largest batches central takes: fewer requests, less overhead each
MAX_BATCHES_PER_RUN = 1000  # bounds one run: 500k entries, then the next run goes on
MAX_NUDGED_RUNS = 100  # bounds back-to-back runs while writes keep arriving during pushes
JOB_ID = "cafesuite-sync"
HEARTBEAT_JOB_ID = "cafesuite-heartbeat"
PULL_JOB_ID = "cafesuite-pull"  # config and other cached documents (Device.pull_*), issue 4


@dataclass(frozen=True, slots=True)
class _Batch:
    """One push, ready to send: entries ``first_seq..last_seq`` and the signed head, encoded."""

    first_seq: int
    last_seq: int
    body: bytes


class SyncEngine:
    """Pushes one journal to central and keeps a status the app can show."""

    def __init__(
        self,
        journal: Journal,
        client: CentralClient,
        device_key: DeviceKey,
        *,
        batch_size: int = DEFAULT_BATCH,
        interval_s: float = 15.0,
        heartbeat_interval_s: float = 60.0,
        config_interval_s: float = 300.0,
        backoff: Backoff | None = None,
        on_status: Callable[[SyncStatus], None] | None = None,
    ):
        assert 0 < batch_size <= MAX_BATCH_ENTRIES, "batches are bounded by the protocol"
        self.journal = journal
        self.client = client
        self._key = device_key
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.heartbeat_interval_s = heartbeat_interval_s
        self.config_interval_s = config_interval_s
        self._pulls: list[Callable[[], object]] = []
        self.backoff = backoff or Backoff()
        self._on_status = on_status
        self._lock = threading.Lock()       # one push at a time, whoever calls
        self._status = SyncStatus(pending=journal.pending_count())
        self._failures = 0
        self._next_seq = journal.acked_seq + 1
        self._scheduler: BackgroundScheduler | None = None
        self._schedule_lock = threading.Lock()  # guards _scheduler and _stopping (see _reschedule)
        self._stopping = False
        self._running = threading.Event()  # a scheduled run is in progress (nudges only set the flag)
        self._nudged = threading.Event()  # a write arrived: push again, even if a push is running now

    # -- status ---------------------------------------------------------------------

    @property
    def status(self) -> SyncStatus:
        return self._status

    def _set_status(self, **changes: Any) -> None:
        self._status = replace(self._status, **changes)
        if self._on_status is not None:
            self._on_status(self._status)

    # -- one run --------------------------------------------------------------------

    def push_pending(self) -> SyncStatus:
        """Push until the outbox is empty, central is unreachable, or the device is stopped."""
        with self._lock:
            if self._status.quarantined:
                return self._status
            if self._next_seq > self.journal.head().seq:
                # Nothing to send, so nothing was learned about the line: online stays as the
                # last contact (a push or a heartbeat) found it.
                self._set_status(pending=self.journal.pending_count())
                return self._status
            try:
                self._push_batches()
            except Offline as exc:
                self._failures += 1
                self._set_status(online=False, last_error=exc.message, pending=self.journal.pending_count())
                return self._status
            except CentralRefused as exc:
                self._failures += 1
                quarantined = exc.http_status == 403
                self._set_status(online=True, last_error=exc.message, quarantined=quarantined,
                                 pending=self.journal.pending_count())
                return self._status
            self._failures = 0
            self._set_status(online=True, last_error=None, last_success_at=utc_timestamp(),
                             pending=self.journal.pending_count())
            return self._status

    def _push_batches(self) -> None:
        """Send batches until the outbox is empty (at most MAX_BATCHES_PER_RUN).

        A backlog (after an outage) is more than one batch. Then the device's own work
        runs on a helper thread while a batch is in flight, so it overlaps central's
        instead of adding to it: the next batch is read, checked and encoded, and the
        acknowledgement of the batch before is written (the marker is only a cursor —
        central answers a resent entry "duplicate" — so it may trail the push by one
        batch). A batch read ahead is used only if it starts exactly where central says
        to go on; otherwise it is dropped and read again.
        """
        backlog = self.journal.head().seq - self._next_seq + 1 > self.batch_size
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-read-ahead") if backlog else nullcontext() as pool:
            ahead: Future[_Batch | None] | None = None
            acking: Future[None] | None = None
            try:
                for _ in range(MAX_BATCHES_PER_RUN):
                    head_seq = self.journal.head().seq
                    if self._next_seq > head_seq:
                        return
                    batch = ahead.result() if ahead is not None else None
                    if batch is None or batch.first_seq != self._next_seq:
                        batch = self._prepare(self._next_seq)
                    if batch is None:
                        return
                    ahead = pool.submit(self._prepare, batch.last_seq + 1) if pool is not None and batch.last_seq < head_seq else None
                    more, ack_through = self._push_one_batch(batch, head_seq)
                    if acking is not None:
                        acking.result()  # the previous marker is written before the next one is queued
                        acking = None
                    if ack_through is not None:
                        if pool is not None and more:
                            acking = pool.submit(self.journal.mark_acked, ack_through)
                        else:
                            self.journal.mark_acked(ack_through)
                    if not more:
                        return
            finally:
                if acking is not None:
                    acking.result()

    def _prepare(self, from_seq: int) -> _Batch | None:
        """Up to ``batch_size`` entries from ``from_seq``, read and checked, with the signed head, as a request body."""
        entries = self.journal.stored_entries(from_seq, self.batch_size)
        if not entries:
            return None
        last = entries[-1]
        signature = self._key.sign_head(self.journal.device_id, last.seq, last.hash)
        signed_head = {"seq": last.seq, "hash": last.hash, "signature": signature}
        return _Batch(entries[0].seq, last.seq, encode_push_stored(entries, signed_head))

    def _push_one_batch(self, batch: _Batch, head_seq: int) -> tuple[bool, int | None]:
        """Send one batch; whether there may be more to send, and the seq to mark acknowledged through."""
        response = self.client.push_encoded(batch.body)
        decision = decide(response, batch.first_seq, batch.last_seq, self.journal.acked_seq)
        ack_through = None if decision.ack_through is None else min(decision.ack_through, head_seq)
        if decision.action == "stop":
            log.error("central rejected batch %s..%s: %s", batch.first_seq, batch.last_seq, decision.reason)
            self._set_status(quarantined=True, last_error=f"central rejected our journal: {decision.reason}")
            return False, ack_through
        self._next_seq = decision.next_seq
        return self._next_seq <= head_seq, ack_through

    # -- heartbeat ------------------------------------------------------------------

    def heartbeat_report(self, now: datetime | None = None) -> dict[str, Any]:
        """What central's fleet view shows about this device."""
        now = now or datetime.now(UTC)
        oldest = self.journal.unacked(1)
        age_s = 0
        if oldest:
            created = parse_utc_timestamp(oldest[0].created_at)
            age_s = max(0, int((now - created).total_seconds()))
        return {
            "app_version": __version__,
            "outbox_depth": self.journal.pending_count(),
            "oldest_unacked_age_s": age_s,
            "last_sync_result": (self._status.last_error or "ok")[:200],
        }

    def send_heartbeat(self) -> bool:
        """Report to central; False (and nothing else) when central cannot be reached."""
        try:
            answer = self.client.heartbeat(self.heartbeat_report())
        except Offline as exc:
            log.info("heartbeat not delivered: %s", exc)
            self._set_status(online=False, last_error=exc.message)  # an idle device notices the line is down
            return False
        except CentralRefused as exc:
            log.info("heartbeat refused: %s", exc)
            return False
        if not self._status.online:
            self._set_status(online=True, last_error=None, last_success_at=utc_timestamp())
        self.resend_if_central_lost(answer.get("last_seq") if isinstance(answer, dict) else None)
        return True

    def resend_if_central_lost(self, central_seq: object) -> bool:
        """Central holds less than it once acknowledged (restored from an older backup): resend from there.

        Acknowledged entries stay in the journal; the marker records what central confirmed
        once, not what it still holds, so it must not stop the resend (DESIGN §8, issue 9).
        """
        if not isinstance(central_seq, int) or isinstance(central_seq, bool) or not 0 <= central_seq < self.journal.acked_seq:
            return False
        with self._lock:
            self._next_seq = min(self._next_seq, central_seq + 1)
        log.warning("central holds this journal only through seq %s (acknowledged through %s): resending from %s",
                    central_seq, self.journal.acked_seq, central_seq + 1)
        self.nudge()
        return True

    # -- pulls ----------------------------------------------------------------------

    def add_pull(self, pull: Callable[[], object]) -> None:
        """Run ``pull`` (e.g. ``Device.pull_config``) on start and every ``config_interval_s``."""
        self._pulls.append(pull)

    def run_pulls(self) -> None:
        """Each pull once; one failing (central refused, bad document) does not stop the others."""
        for pull in list(self._pulls):
            try:
                pull()
            except CafeError as exc:
                log.warning("pull %s failed: %s", getattr(pull, "__name__", pull), exc.message)

    # -- scheduling -----------------------------------------------------------------

    def start(self) -> None:
        """Push now and then every ``interval_s`` on a background scheduler thread."""
        assert self._scheduler is None, "already started"
        scheduler = BackgroundScheduler(timezone=UTC)
        scheduler.add_job(self._scheduled_run, "interval", seconds=self.interval_s, id=JOB_ID,
                          max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
        scheduler.add_job(self.send_heartbeat, "interval", seconds=self.heartbeat_interval_s, id=HEARTBEAT_JOB_ID,
                          max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
        scheduler.add_job(self.run_pulls, "interval", seconds=self.config_interval_s, id=PULL_JOB_ID,
                          max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
        scheduler.start()
        with self._schedule_lock:
            self._scheduler, self._stopping = scheduler, False

    def nudge(self) -> None:
        """Ask for a push as soon as possible (after a local write); never blocks the caller."""
        # While a run is in progress the scheduler skips the job instead of queueing it, so a
        # write that lands after that run's last look at the head would wait a whole
        # interval; the flag makes the running job go round once more instead.
        # (Rescheduling a job that is running only makes APScheduler log a skipped run.)
        self._nudged.set()
        if self._failures == 0 and not self._running.is_set():
            self._reschedule(datetime.now(UTC))

    def _scheduled_run(self) -> None:
        self._running.set()
        try:
            for _ in range(MAX_NUDGED_RUNS):
                self._nudged.clear()
                status = self.push_pending()
                if not self._nudged.is_set() or self._failures or status.quarantined:
                    break
        finally:
            self._running.clear()
        if status.quarantined:
            return
        if self._failures:
            self._reschedule(datetime.now(UTC) + timedelta(seconds=self.backoff.delay_s(self._failures)))
        elif self._nudged.is_set():  # a write after the last look, while nudges were held back
            self._reschedule(datetime.now(UTC))

    def _reschedule(self, when: datetime) -> None:
        # APScheduler's shutdown(wait=True) holds its job-store lock while it waits for running
        # jobs; a job that then calls modify_job waits on that lock forever. So once stop() has
        # begun nobody touches the scheduler, and stop() waits for a modify_job in progress.
        with self._schedule_lock:
            if self._scheduler is not None and not self._stopping:
                self._scheduler.modify_job(JOB_ID, next_run_time=when)

    def stop(self) -> None:
        with self._schedule_lock:
            self._stopping = True
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=True)
