"""Running service calls off the GUI thread and reporting back on it.

One worker thread runs the calls in the order they were asked for (a round is never
overtaken by the cash-out the player pressed after it). Results come back through a
signal of a QObject that lives on the GUI thread, so the callbacks run there.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, Signal, Slot

from shared.errors import CafeError

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[str], None]


class Worker(QObject):
    """Serial background runner; ``busy`` counts calls not yet answered."""

    sig_finished = Signal(int, bool, object)
    """(ticket, ok, result or message): emitted on the worker thread, delivered on the GUI thread."""
    sig_busy_changed = Signal(int)
    """How many calls are in flight."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-service")
        self._tickets = itertools.count(1)
        self._callbacks: dict[int, tuple[Done | None, Failed | None]] = {}
        self.sig_finished.connect(self._deliver)

    @property
    def busy(self) -> int:
        return len(self._callbacks)

    def run(self, call: Callable[[], Any], on_done: Done | None = None, on_failed: Failed | None = None) -> int:
        ticket = next(self._tickets)
        self._callbacks[ticket] = (on_done, on_failed)
        self.sig_busy_changed.emit(self.busy)
        self._pool.submit(self._call, ticket, call)
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
        self.sig_busy_changed.emit(self.busy)
        if ok and on_done is not None:
            on_done(payload)
        elif not ok and on_failed is not None:
            on_failed(str(payload))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)


_loop: list[QEventLoop] = []


def pump_events() -> None:
    """Process pending events once: the one way our own loops (smoke start, tests, bench) pump Qt.

    PySide6 6.12 dropped a reference to ``None`` on every static ``processEvents()`` call;
    the suite now stays below 6.12 (decision 0006), and an instance ``QEventLoop`` is safe on both.
    """
    if not _loop:
        _loop.append(QEventLoop())
    _loop[0].processEvents()
