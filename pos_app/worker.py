"""Running service calls off the GUI thread and reporting back on it (STYLE: Qt shell over services).

Three lanes: ``money`` runs journal-changing calls one at a time in the order asked (a sale
is never overtaken by the void pressed after it); ``lookup`` runs reads from central, so a
slow player search never holds up a sale; ``watch`` runs long polls (an online top-up's
status), which hold their thread for many seconds and would otherwise stall the lookups
and the status refresh behind them. Results come back through a signal of a QObject that
lives on the GUI thread, so callbacks run there.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from PySide6.QtCore import QObject, Qt, Signal, Slot

from shared.errors import CafeError

log = logging.getLogger(__name__)
Lane = Literal["money", "lookup", "watch"]
OnDone = Callable[[Any], None]
OnFailed = Callable[[CafeError], None]


class Worker(QObject):
    sig_finished = Signal(int, bool, object)
    """(ticket, ok, result or CafeError): emitted on a pool thread, delivered on the GUI thread."""
    sig_busy_changed = Signal(int)
    """How many calls are in flight (the screen shows a spinner while > 0); long polls are not counted."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._lanes = {"money": ThreadPoolExecutor(1, thread_name_prefix="pos-money"),
                       "lookup": ThreadPoolExecutor(1, thread_name_prefix="pos-lookup"),
                       "watch": ThreadPoolExecutor(1, thread_name_prefix="pos-watch")}
        self._tickets = itertools.count(1)
        self._callbacks: dict[int, tuple[OnDone | None, OnFailed | None]] = {}
        self._closed = False
        self._watching: set[int] = set()  # a long poll waits on purpose: no "Working…" for it
        self.sig_finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> int:
        return len(self._callbacks) - len(self._watching)

    def run(self, call: Callable[[], Any], on_done: OnDone | None = None, on_failed: OnFailed | None = None,
            *, lane: Lane = "money") -> int:
        ticket = next(self._tickets)
        if self._closed:  # the window is closing: a late answer's follow-up call has nowhere to go
            return ticket
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
            self.sig_finished.emit(ticket, False, exc)
            return
        except Exception as exc:  # a bug reaches the screen as a sentence instead of killing the lane
            log.exception("POS service call failed")
            self.sig_finished.emit(ticket, False, CafeError(f"unexpected problem ({exc.__class__.__name__}: {exc})"))
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
            assert isinstance(payload, CafeError)
            on_failed(payload)

    def shutdown(self) -> None:
        self._closed = True
        for lane in self._lanes.values():
            lane.shutdown(wait=True, cancel_futures=True)
