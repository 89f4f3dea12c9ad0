"""Reusable counter widgets: panels, the keypad, the drawer counter, the manager approval dialog."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from pos_app import rules
from shared.money import format_units


def panel(parent: QWidget | None = None) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame(parent)
    frame.setObjectName("panel")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(20, 18, 20, 18)
    layout.setSpacing(12)
    return frame, layout


def label(text: str, name: str = "", *, wrap: bool = False) -> QLabel:
    widget = QLabel(text)
    if name:
        widget.setObjectName(name)
    widget.setWordWrap(wrap)
    return widget


def button(text: str, name: str = "", *, key: str = "") -> QPushButton:
    """A button that shows its keyboard shortcut, e.g. "Sell  [F1]"."""
    widget = QPushButton(f"{text}   [{key}]" if key else text)
    if name:
        widget.setObjectName(name)
    widget.setCursor(Qt.CursorShape.PointingHandCursor)
    return widget


def set_message(widget: QLabel, text: str, *, error: bool = False) -> None:
    widget.setObjectName("error" if error else "message")
    widget.setText(text)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class Keypad(QWidget):
    """Digits typed as a till does (cents first): the amount in minor units."""

    sig_changed = Signal(int)
    """The amount in minor units after each key."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.digits = ""
        self._build_ui()

    def _build_ui(self) -> None:
        grid = QGridLayout(self)
        grid.setSpacing(8)
        grid.setContentsMargins(0, 0, 0, 0)
        keys = ["7", "8", "9", "4", "5", "6", "1", "2", "3", "00", "0", "⌫"]
        for i, key in enumerate(keys):
            b = button(key, "key")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _=False, k=key: self.press(k))
            grid.addWidget(b, i // 3, i % 3)

    def press(self, key: str) -> None:
        if key == "⌫":
            self.digits = self.digits[:-1]
        elif key == "C":
            self.digits = ""
        elif key.isdigit() and len(self.digits + key) <= rules.MAX_KEYPAD_DIGITS:
            self.digits = (self.digits + key).lstrip("0")
        self.sig_changed.emit(self.amount_units)

    def set_amount(self, units: int) -> None:
        self.digits = str(units) if units > 0 else ""
        self.sig_changed.emit(self.amount_units)

    @property
    def amount_units(self) -> int:
        return rules.keypad_amount(self.digits)

    def handle_key(self, event: QKeyEvent) -> bool:
        """Digits and Backspace typed on the keyboard drive the keypad too."""
        text = event.text()
        if text.isdigit():
            self.press(text)
            return True
        if event.key() == Qt.Key.Key_Backspace:
            self.press("⌫")
            return True
        if event.key() == Qt.Key.Key_Delete:
            self.press("C")
            return True
        return False


class DenominationCounter(QWidget):
    """One row per note and coin: pieces counted, the row's value, and the total."""

    sig_changed = Signal(int)
    """The counted total in minor units."""

    def __init__(self, currency: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.currency = currency
        self.spins: dict[int, QSpinBox] = {}
        self.values: dict[int, QLabel] = {}
        self._build_ui()

    def _build_ui(self) -> None:
        grid = QGridLayout(self)
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(6)
        grid.setContentsMargins(0, 0, 0, 0)
        for col, text in enumerate(("Denomination", "Pieces", "Value")):
            grid.addWidget(label(text.upper(), "caption"), 0, col)
        for row, denom in enumerate(rules.DENOMINATIONS_UNITS, start=1):
            grid.addWidget(label(format_units(denom, self.currency)), row, 0)
            spin = QSpinBox()
            spin.setRange(0, 9999)
            spin.setMinimumWidth(130)
            spin.valueChanged.connect(self._changed)
            self.spins[denom] = spin
            grid.addWidget(spin, row, 1)
            value = label("0.00")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.values[denom] = value
            grid.addWidget(value, row, 2)
        self.total = label("", "amount")
        self.total.setAlignment(Qt.AlignmentFlag.AlignRight)
        grid.addWidget(label("TOTAL COUNTED", "caption"), len(rules.DENOMINATIONS_UNITS) + 1, 0)
        grid.addWidget(self.total, len(rules.DENOMINATIONS_UNITS) + 1, 1, 1, 2)
        self._changed()

    def counts(self) -> dict[int, int]:
        return {denom: spin.value() for denom, spin in self.spins.items()}

    def set_counts(self, counts: dict[int, int]) -> None:
        for denom, spin in self.spins.items():
            spin.setValue(counts.get(denom, 0))

    def total_units(self) -> int:
        return rules.count_total(self.counts())

    def _changed(self) -> None:
        for denom, spin in self.spins.items():
            self.values[denom].setText(format_units(denom * spin.value(), self.currency))
        self.total.setText(f"{format_units(self.total_units(), self.currency)} {self.currency}")
        self.sig_changed.emit(self.total_units())


class ApprovalDialog(QDialog):
    """A manager types their PIN (and a reason where one is needed) to approve one action."""

    sig_submitted = Signal(str, str)
    """(PIN, reason) when the manager presses Approve or Enter."""

    def __init__(self, title: str, detail: str, *, need_reason: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        self.need_reason = need_reason
        self._build_ui(title, detail)

    def _build_ui(self, title: str, detail: str) -> None:
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(14)
        layout.addWidget(label(title, "title"))
        layout.addWidget(label(detail, "subtitle", wrap=True))
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Reason (required)")
        self.reason.setVisible(self.need_reason)
        layout.addWidget(self.reason)
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText("Manager PIN")
        self.pin.returnPressed.connect(self.submit)
        layout.addWidget(self.pin)
        self.message = label("", "error", wrap=True)
        layout.addWidget(self.message)
        row = QHBoxLayout()
        cancel = button("Cancel", key="Esc")
        cancel.clicked.connect(self.reject)
        self.approve = button("Approve", "primary", key="Enter")
        self.approve.clicked.connect(self.submit)
        for b in (cancel, self.approve):
            b.setAutoDefault(False)  # Enter submits through the PIN field once, never via a default button
            row.addWidget(b)
        layout.addLayout(row)
        (self.reason if self.need_reason else self.pin).setFocus()

    def submit(self) -> None:
        if self.need_reason and not self.reason.text().strip():
            set_message(self.message, "Type a reason first.", error=True)
            self.reason.setFocus()
            return
        if not self.pin.text():
            set_message(self.message, "The manager types their PIN.", error=True)
            self.pin.setFocus()
            return
        self.approve.setEnabled(False)
        set_message(self.message, "Checking…")
        self.sig_submitted.emit(self.pin.text(), self.reason.text().strip())

    def refused(self, text: str) -> None:
        self.approve.setEnabled(True)
        self.pin.clear()
        self.pin.setFocus()
        set_message(self.message, text, error=True)


def hline() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setStyleSheet("color: #334155;")
    return line


def vbox(*widgets: QWidget, spacing: int = 12) -> QVBoxLayout:
    layout = QVBoxLayout()
    layout.setSpacing(spacing)
    for w in widgets:
        layout.addWidget(w)
    return layout
