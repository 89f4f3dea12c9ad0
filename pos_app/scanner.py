"""A barcode/QR scanner that types like a keyboard: a fast burst of characters ending in Enter.

Installed as an application-wide event filter, it watches every key press. When Enter
ends a burst (at least ``MIN_CHARS`` characters, each within ``MAX_GAP_S`` of the last)
that looks like something we scan (a voucher QR, a player card), it swallows the Enter,
removes the burst from the line edit it landed in, and emits ``sig_scanned``. Anything a
person types at human speed passes through untouched.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget

MIN_CHARS = 6
MAX_GAP_S = 0.035
CARD_RE = re.compile(r"^[A-Za-z0-9-]{6,64}$")


def scan_kind(text: str) -> str | None:
    """``voucher``, ``card`` or None for text that is not something a counter scans."""
    if text.startswith("CAFEV1|"):
        return "voucher"
    if CARD_RE.match(text) and any(c.isdigit() for c in text):
        return "card"
    return None


class ScannerFilter(QObject):
    sig_scanned = Signal(str, str)
    """(kind, text): a complete scan, ``kind`` is ``voucher`` or ``card``."""

    def __init__(self, parent: QObject | None = None, clock: Callable[[], float] = time.monotonic,
                 active: Callable[[], bool] = lambda: True):
        super().__init__(parent)
        self._clock = clock
        self._active = active
        self._burst = ""
        self._last_s = 0.0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent) or event.isAutoRepeat():
            return False
        # An application filter sees one key press once per object it propagates through (window,
        # focus widget, its parents): count it only at its first widget receiver.
        focus = QApplication.focusWidget()
        if watched is not focus and not (focus is None and isinstance(watched, QWidget) and watched.isWindow()):
            return False
        now = self._clock()
        fast = now - self._last_s <= MAX_GAP_S
        self._last_s = now
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            burst, self._burst = self._burst, ""
            kind = scan_kind(burst) if fast and len(burst) >= MIN_CHARS and self._active() else None
            if kind is None:
                return False
            self._strip(burst)
            self.sig_scanned.emit(kind, burst)
            return True
        text = event.text()
        if text and text.isprintable():
            self._burst = (self._burst if fast else "") + text
            self._burst = self._burst[-512:]
        return False

    @staticmethod
    def _strip(burst: str) -> None:
        """The scanned characters already reached the focused line edit: take them back out."""
        focus = QApplication.focusWidget()
        if isinstance(focus, QLineEdit) and focus.text().endswith(burst):
            focus.setText(focus.text()[: -len(burst)])
