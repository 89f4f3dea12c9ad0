"""Running service calls off the GUI thread and reporting back on it.

The ``play`` lane runs the calls in the order they were asked for (a round is never
overtaken by the cash-out the player pressed after it). The ``watch`` lane runs long
polls (an online top-up's status, issue 8): such a call holds its thread for up to
``TOPUP_WAIT_S`` on purpose, and on the play lane it would hold up a login, a checkout or
the config read behind it. Watch calls are not counted in ``busy``: they wait by design,
and nothing on screen is "working" meanwhile. Results come back through a signal of a
QObject that lives on the GUI thread, so the callbacks run there.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from PySide6.QtCore import QEventLoop, QObject, Signal, Slot

from shared.errors import CafeError

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[str], None]
Lane = Literal["play", "watch"]


class Worker(QObject):
    """Background runner, serial per lane; ``busy`` counts calls not yet answered, long polls aside."""

    sig_finished = Signal(int, bool, object)
    """(ticket, ok, result or message): emitted on the worker thread, delivered on the GUI thread."""
    sig_busy_changed = Signal(int)
    """How many calls are in flight."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._lanes: dict[Lane, ThreadPoolExecutor] = {
            "play": ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-service"),
            "watch": ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-watch"),
        }
        self._tickets = itertools.count(1)
        self._callbacks: dict[int, tuple[Done | None, Failed | None]] = {}
        self._watching: set[int] = set()
        self.sig_finished.connect(self._deliver)

    @property
    def busy(self) -> int:
        return len(self._callbacks) - len(self._watching)

    def run(self, call: Callable[[], Any], on_done: Done | None = None, on_failed: Failed | None = None,
            *, lane: Lane = "play") -> int:
        ticket = next(self._tickets)
        self._callbacks[ticket] = (on_done, on_failed)
        if lane == "watch":
            self._watching.add(ticket)
        self.sig_busy_changed.emit(self.busy)
        self._lanes[lane].submit(self._call, ticket, call)
        return ticket

    def _call(self, ticket: int, call: Callable[[], Any]) -> None:
        try:
            result = call()
        except CafeError as exc:
            self.sig_finished.emit(ticket, False, exc.message)
            return
        except Exception as exc:  # a bug must reach the screen as a sentence, not kill the thread
            log.exception("kiosk service call failed")
            self.sig_finished.emit(ticket, False, f"Something went wrong ({exc.__class__.__name__}). Please call staff.")
            return
        self.sig_finished.emit(ticket, True, result)

    @Slot(int, bool, object)
    def _deliver(self, ticket: int, ok: bool, payload: object) -> None:
        on_done, on_failed = self._callbacks.pop(ticket, (None, None))
        self._watching.discard(ticket)
        self.sig_busy_changed.emit(self.busy)
        if ok and on_done is not None:
            on_done(payload)
        elif not ok and on_failed is not None:
            on_failed(str(payload))

    def shutdown(self) -> None:
        # A long poll in flight ends within its wait (TOPUP_WAIT_S); a queued one is not worth starting.
        self._lanes["watch"].shutdown(wait=True, cancel_futures=True)
        self._lanes["play"].shutdown(wait=True, cancel_futures=False)


_loop: list[QEventLoop] = []


def pump_events() -> None:
    """Process pending events once: the one way our own loops (smoke start, tests, bench) pump Qt.

    PySide6 6.12 dropped a reference to ``None`` on every static ``processEvents()`` call;
    the suite now stays below 6.12 (decision 0006), and an instance ``QEventLoop`` is safe on both.
    """
    if not _loop:
        _loop.append(QEventLoop())
    _loop[0].processEvents()
