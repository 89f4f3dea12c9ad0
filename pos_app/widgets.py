"""Reusable counter widgets: panels, the keypad, the drawer counter, the manager approval dialog."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
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
    layout.setContentsMargins(18, 14, 18, 14)
    layout.setSpacing(8)
    return frame, layout


def label(text: str, name: str = "", *, wrap: bool = False) -> QLabel:
    widget = QLabel(text)
    if name:
        widget.setObjectName(name)
    widget.setWordWrap(wrap)
    return widget


SCREEN_BUTTON_KEYS = ("F10", "F11", "F12")


def button(text: str, name: str = "", *, key: str = "") -> QPushButton:
    """A button that shows its keyboard shortcut, e.g. "Sell  [F1]"."""
    widget = QPushButton(f"{text}   [{key}]" if key else text)
    # F1–F9 are the window's navigation keys (a button showing one leads to that screen) and Enter/Esc
    # are the screens' own; F10–F12 belong to one button on one screen, shown only with it.
    if key in SCREEN_BUTTON_KEYS:
        widget.setShortcut(QKeySequence(key))
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
        grid.setSpacing(6)
        grid.setContentsMargins(0, 0, 0, 0)
        keys = ["7", "8", "9", "4", "5", "6", "1", "2", "3", "00", "0", "⌫"]
        for i, key in enumerate(keys):
            b = button(key, "key")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            # KEY_PX tall at 1366x768; the keys take whatever height the window has beyond that.
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
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
    """One row per note and coin (pieces counted and the row's value) under a caption with the total.

    The rows sit in one column when the height allows it and in two when it does not (1366x768
    with the offline banner); below that they scroll. The rows live in a scroll area, so the count
    never makes the window taller than the screen."""

    sig_changed = Signal(int)
    """The counted total in minor units."""

    def __init__(self, currency: str, caption: str = "COUNT THE DRAWER BY DENOMINATION", parent: QWidget | None = None):
        super().__init__(parent)
        self.currency = currency
        self.spins: dict[int, QSpinBox] = {}
        self.values: dict[int, QLabel] = {}
        self._build_ui(caption)

    def _build_ui(self, caption: str) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        head = QHBoxLayout()
        head.addWidget(label(caption, "caption"), 1, Qt.AlignmentFlag.AlignVCenter)
        self.total = label("", "amount")
        self.total.setStyleSheet("font-size: 30px;")
        self.total.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        head.addWidget(self.total)
        layout.addLayout(head)
        self.rows = _CounterRows()
        for denom in rules.DENOMINATIONS_UNITS:
            spin = QSpinBox()
            spin.setRange(0, 9999)
            # Counts are typed (or stepped with the arrow keys): the theme hides the spin arrows, too small
            # to touch. NoButtons would do the same, but under a style sheet it leaves no room for the text.
            spin.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            spin.setMinimumWidth(96)
            spin.setMaximumWidth(240)
            spin.valueChanged.connect(self._changed)
            value = label("0.00")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.spins[denom] = spin
            self.values[denom] = value
            self.rows.add(label(format_units(denom, self.currency)), spin, value)
        self.rows.arrange(1)
        self.area = _FitArea(self.rows)
        layout.addWidget(self.area, 1)
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


class _CounterRows(QWidget):
    """The counter's grid: (denomination, pieces, value) rows in one or two column groups."""

    HEADERS = ("", "PIECES", "VALUE")  # the denominations name themselves
    MAX_COLUMNS = 2
    GROUP_GAP_PX = 40
    ROW_GAP_PX = 8
    COLUMN_STRETCH = (2, 3, 2)  # denomination, pieces, value
    MAX_EXTRA_GAP_PX = 16  # spare height opens the rows up to this much, then stays below them

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("counterRows")
        self.columns = 0
        self.rows_per_column = 0
        self.cells: list[tuple[QLabel, QSpinBox, QLabel]] = []
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(14)
        self.grid.setVerticalSpacing(self.ROW_GAP_PX)
        self.headers = [[label(text, "caption") for text in self.HEADERS] for _ in range(self.MAX_COLUMNS)]
        for header in (h for group in self.headers for h in group):
            header.setParent(self)  # a parentless label shown later would open as a window of its own

    def add(self, denomination: QLabel, spin: QSpinBox, value: QLabel) -> None:
        self.cells.append((denomination, spin, value))

    def arrange(self, columns: int) -> None:
        assert 1 <= columns <= self.MAX_COLUMNS, columns
        if columns == self.columns:
            return
        while self.grid.count():
            self.grid.takeAt(0)  # the widgets stay children of this one; they are placed again below
        for c in range(4 * self.MAX_COLUMNS):
            self.grid.setColumnStretch(c, 0)
            self.grid.setColumnMinimumWidth(c, 0)
        for r in range(len(self.cells) + 2):
            self.grid.setRowStretch(r, 0)
        per_column = -(-len(self.cells) // columns)
        middle = Qt.AlignmentFlag.AlignVCenter
        for group, headers in enumerate(self.headers):
            for i, header in enumerate(headers):
                header.setVisible(group < columns)
                if group < columns:
                    across = Qt.AlignmentFlag.AlignRight if i == 2 else Qt.AlignmentFlag.AlignLeft
                    self.grid.addWidget(header, 0, 4 * group + i, Qt.AlignmentFlag.AlignBottom | across)
        for i, (denomination, spin, value) in enumerate(self.cells):
            group, row = divmod(i, per_column)
            self.grid.addWidget(denomination, 1 + row, 4 * group, middle)
            self.grid.addWidget(spin, 1 + row, 4 * group + 1, middle)
            self.grid.addWidget(value, 1 + row, 4 * group + 2, middle | Qt.AlignmentFlag.AlignRight)
        for group in range(columns):
            for i, stretch in enumerate(self.COLUMN_STRETCH):
                self.grid.setColumnStretch(4 * group + i, stretch)
            if group:
                self.grid.setColumnMinimumWidth(4 * group - 1, self.GROUP_GAP_PX)
                self.grid.setColumnStretch(4 * group - 1, 1)
        self.grid.setRowStretch(1 + per_column, 1)
        self.columns = columns
        self.rows_per_column = per_column

    def fit(self, width_px: int, height_px: int) -> None:
        """One column if it fits the height, else two if they fit the width, else one that scrolls;
        then the rows spread into some of the spare height."""
        self.grid.setVerticalSpacing(self.ROW_GAP_PX)
        self.arrange(1)
        if self.grid.minimumSize().height() > height_px:
            self.arrange(2)
            if self.grid.minimumSize().width() > width_px:
                self.arrange(1)
        spare_px = height_px - self.grid.minimumSize().height()
        if spare_px > 0:
            self.grid.setVerticalSpacing(self.ROW_GAP_PX + min(self.MAX_EXTRA_GAP_PX, spare_px // (self.rows_per_column + 1)))


class _FitArea(QScrollArea):
    """Holds the counter rows; each new height re-arranges them to fit it."""

    def __init__(self, rows: _CounterRows):
        super().__init__()
        self.setObjectName("fit")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the spin boxes take the focus, not their frame
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setWidget(rows)
        self.rows = rows
        self._fitted_size = (-1, -1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        size = event.size().toTuple()
        if size != self._fitted_size:
            self._fitted_size = size
            self.rows.fit(*size)


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
