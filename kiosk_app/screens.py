"""The kiosk's screens. Each builds its widgets in ``_build_ui`` and reports what the
person did through ``sig_*`` signals; none of them does I/O or decides money (the
window drives the service through the worker, ``session_model`` decides)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QIcon,
    QKeyEvent,
    QLinearGradient,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QRadialGradient,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from kiosk_app import session_model as model
from kiosk_app import theme
from kiosk_app.art import draw_symbol, thumbnail
from kiosk_app.game_views import GameView, KenoView, view_for
from kiosk_app.service import RecalledGame
from kiosk_app.sounds import Sounds
from shared.games.definition import GameDefinition
from shared.games.round import RoundResult
from shared.qr import qr_png
from sync.payments import Provider


def label(text: str, name: str = "", align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter) -> QLabel:
    widget = QLabel(text)
    if name:
        widget.setObjectName(name)
    widget.setAlignment(align)
    widget.setWordWrap(True)
    return widget


class Notice(QLabel):
    """A word-wrapped label that takes no room while it has nothing to say (an error under a row of buttons
    would otherwise leave a gap that pushes centred content off centre)."""

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setVisible(bool(text))


def notice(name: str, align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter) -> Notice:
    widget = Notice()
    widget.setObjectName(name)
    widget.setAlignment(align)
    widget.setWordWrap(True)
    widget.hide()
    return widget


def button(text: str, name: str = "", min_width: int = 0) -> QPushButton:
    widget = QPushButton(text)
    if name:
        widget.setObjectName(name)
    if min_width:
        widget.setMinimumWidth(min_width)
    widget.setCursor(Qt.CursorShape.PointingHandCursor)
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return widget


def panel() -> QFrame:
    frame = QFrame()
    frame.setObjectName("panel")
    return frame


class Screen(QWidget):
    """A full-window page over the shared backdrop."""

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        theme.paint_background(self, p)
        p.end()


class Meter(QFrame):
    """A caption over a big gold value: CREDITS 125.00."""

    def __init__(self, caption: str, parent: QWidget | None = None):
        super().__init__(parent)
        self._build_ui(caption)

    def _build_ui(self, caption: str) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 4, 18, 4)
        layout.setSpacing(0)
        self.caption = label(caption.upper(), "meterCaption")
        self.value = label("0.00", "meterValue")
        layout.addWidget(self.caption)
        layout.addWidget(self.value)

    def set_text(self, text: str) -> None:
        self.value.setText(text)


# --- enrollment ----------------------------------------------------------------------


class EnrollScreen(Screen):
    """Technician: central's address, its CA fingerprint to confirm, the one-time code."""

    sig_fetch = Signal(str)
    """Fetch central's CA fingerprint from this URL."""
    sig_enroll = Signal(str, str, str)
    """(url, code, confirmed fingerprint)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(80, 40, 80, 40)
        box = panel()
        box.setMaximumWidth(1100)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(48, 36, 48, 36)
        layout.setSpacing(16)
        layout.addWidget(label("Kiosk setup", "title"))
        layout.addWidget(label("For the technician: connect this kiosk to the cafe's central server.", "subtitle"))
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://central.example:8443")
        self.check = button("Check server", min_width=260)
        row = QHBoxLayout()
        row.addWidget(self.url, 1)
        row.addWidget(self.check)
        layout.addLayout(row)
        self.fingerprint = label("", "message")
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.fingerprint)
        self.confirm = QCheckBox("The fingerprint matches the one central shows")
        self.confirm.setEnabled(False)
        layout.addWidget(self.confirm)
        self.code = QLineEdit()
        self.code.setPlaceholderText("One-time enrollment code")
        layout.addWidget(self.code)
        self.error = label("", "error")
        layout.addWidget(self.error)
        self.enroll = button("Enroll this kiosk", "primary")
        self.enroll.setEnabled(False)
        layout.addWidget(self.enroll)
        outer.addStretch(1)
        outer.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(1)
        self._fp = ""
        self.check.clicked.connect(lambda: self.sig_fetch.emit(self.url.text()))
        self.confirm.toggled.connect(self._update)
        self.code.textChanged.connect(self._update)
        self.url.textChanged.connect(self._url_changed)
        self.enroll.clicked.connect(lambda: self.sig_enroll.emit(self.url.text(), self.code.text(), self._fp))

    def _url_changed(self) -> None:
        self._fp = ""
        self.fingerprint.setText("")
        self.confirm.setChecked(False)
        self.confirm.setEnabled(False)
        self._update()

    def show_fingerprint(self, fingerprint: str) -> None:
        self._fp = fingerprint
        pairs = " ".join(fingerprint[i:i + 4] for i in range(0, len(fingerprint), 4)) if fingerprint else "(plain http: nothing to pin)"
        self.fingerprint.setText(f"CA fingerprint (SHA-256):\n{pairs}")
        self.confirm.setEnabled(True)
        self.error.setText("")
        self._update()

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self._update()

    def _update(self) -> None:
        self.enroll.setEnabled(self.confirm.isChecked() and bool(self.code.text().strip()))


# --- attract -------------------------------------------------------------------------


class AttractScreen(Screen):
    """Idle loop: drifting symbols, a shimmering title and a pulsing call to touch.

    A card reader or QR scanner types like a keyboard: a fast burst of characters, then Enter.
    Such a burst here is a player who scanned without touching first; it is handed on whole
    (``sig_scanned``) for the login screen to treat as if scanned into its card field."""

    sig_touched = Signal()
    """A player touched the screen."""
    sig_staff = Signal()
    """The staff corner was pressed."""
    sig_scanned = Signal(str)
    """A scanner burst ended with Enter: the text scanned (a card number or a ticket's QR text)."""

    SYMBOLS = ("seven", "cherry", "star", "bell", "diamond", "crown", "melon", "gold-bar", "plum", "lemon")
    SCAN_MIN_CHARS = 4  # the shortest card number central issues or accepts
    SCAN_MAX_GAP_S = 0.05  # a scanner's keys come a few ms apart; a person's far slower
    SCAN_MAX_CHARS = 512  # a ticket's QR text is about 200 characters

    def __init__(self, parent: QWidget | None = None, clock: Callable[[], float] = time.monotonic):
        super().__init__(parent)
        self.phase = 0.0
        self._clock = clock
        self._burst = ""
        self._last_key_s = -math.inf
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # key presses (a scanner's) land here, not on the window
        self._build_ui()

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        top = QHBoxLayout()
        top.addStretch(1)
        self.staff = button("Staff")
        self.staff.setObjectName("staffCorner")
        self.staff.setStyleSheet("QPushButton#staffCorner { background: transparent; border: none; color: #4b3a66; }")
        self.staff.setMinimumSize(120, 72)
        top.addWidget(self.staff)
        layout.addLayout(top)
        layout.addStretch(1)
        self.location = label("", "subtitle")
        layout.addWidget(self.location)
        self.timer = QTimer(self)
        self.timer.setInterval(33)
        self.timer.timeout.connect(self._tick)
        self.staff.clicked.connect(self.sig_staff.emit)

    def showEvent(self, event: object) -> None:
        self._burst = ""
        self.setFocus()
        self.timer.start()

    def hideEvent(self, event: object) -> None:
        self.timer.stop()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        now = self._clock()
        fast = now - self._last_key_s <= self.SCAN_MAX_GAP_S
        self._last_key_s = now
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            burst, self._burst = self._burst, ""
            if fast and len(burst) >= self.SCAN_MIN_CHARS:
                self.sig_scanned.emit(burst)
            return
        text = event.text()
        if text and text.isprintable():
            self._burst = ((self._burst if fast else "") + text)[-self.SCAN_MAX_CHARS:]

    def _tick(self) -> None:
        self.phase += 0.033
        self.update()

    def mousePressEvent(self, event: object) -> None:
        self.sig_touched.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        theme.paint_background(self, p)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width(), self.height()
        for i, name in enumerate(self.SYMBOLS * 2):  # symbols drifting up, each on its own sine path
            speed = 0.05 + (i % 5) * 0.012
            y = (1.15 - ((self.phase * speed + i * 0.137) % 1.3)) * h
            x = (0.06 + (i * 0.097) % 0.9) * w + math.sin(self.phase * 0.8 + i) * 30
            size = h * (0.08 + (i % 3) * 0.025)
            p.setOpacity(0.28 + 0.12 * (i % 3))
            draw_symbol(p, QRectF(x, y, size, size), name)
        p.setOpacity(1.0)
        cx, cy = w / 2, h * 0.42
        for k in range(12):  # rotating light rays behind the title
            angle = self.phase * 0.4 + k * math.pi / 6
            ray = QColor(246, 201, 69, 26)
            p.setPen(QPen(ray, h * 0.05))
            p.drawLine(QPointF(cx, cy), QPointF(cx + math.cos(angle) * w, cy + math.sin(angle) * w))
        glow = QRadialGradient(cx, cy, h * 0.45)
        glow.setColorAt(0, QColor(120, 40, 200, 200))
        glow.setColorAt(1, QColor(20, 5, 40, 0))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(glow)
        p.drawEllipse(QPointF(cx, cy), h * 0.5, h * 0.45)
        title = theme.font(int(h * 0.13), theme.QFont.Weight.Black)
        p.setFont(title)
        shimmer = QLinearGradient(cx - w * 0.4 + (self.phase * 300) % (w * 0.8), 0, cx + w * 0.2 + (self.phase * 300) % (w * 0.8), 0)
        shimmer.setColorAt(0, QColor(theme.GOLD_DARK))
        shimmer.setColorAt(0.5, QColor("#fff6c8"))
        shimmer.setColorAt(1, QColor(theme.GOLD_DARK))
        p.setPen(QPen(shimmer, 1))
        p.drawText(QRectF(0, cy - h * 0.16, w, h * 0.2), Qt.AlignmentFlag.AlignCenter, "LUCKY CAFE")
        p.setFont(theme.font(int(h * 0.035)))
        p.setPen(QColor(theme.MUTED))
        p.drawText(QRectF(0, cy + h * 0.04, w, h * 0.06), Qt.AlignmentFlag.AlignCenter, "Slots  ·  Keno  ·  Instant Scratch")
        pulse = 0.55 + 0.45 * math.sin(self.phase * 4)
        call = QRectF(w / 2 - w * 0.22, h * 0.68, w * 0.44, h * 0.12)
        p.setPen(QPen(QColor(255, 241, 184, int(255 * pulse)), 4))
        g = QLinearGradient(call.topLeft(), call.bottomLeft())
        g.setColorAt(0, QColor("#ffe27a"))
        g.setColorAt(1, QColor(theme.GOLD_DARK))
        p.setBrush(g)
        p.drawRoundedRect(call, call.height() / 2, call.height() / 2)
        p.setPen(QColor("#2a1500"))
        p.setFont(theme.font(int(h * 0.05), theme.QFont.Weight.Black))
        p.drawText(call, Qt.AlignmentFlag.AlignCenter, "TOUCH TO PLAY")
        p.end()


# --- PIN and login -------------------------------------------------------------------


class Keypad(QWidget):
    """A touch keypad that types into whichever line edit it is pointed at."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.target: QLineEdit | None = None
        self._build_ui()

    def _build_ui(self) -> None:
        grid = QGridLayout(self)
        grid.setSpacing(12)
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "C"]
        for i, key in enumerate(keys):
            b = button(key, "key")
            b.clicked.connect(lambda _=False, k=key: self._press(k))
            grid.addWidget(b, i // 3, i % 3)

    def _press(self, key: str) -> None:
        if self.target is None:
            return
        if key == "⌫":
            self.target.backspace()
        elif key == "C":
            self.target.clear()
        else:
            self.target.insert(key)


class PinScreen(Screen):
    """Staff PIN entry (technician to leave kiosk mode; technician or cashier for recall)."""

    sig_submit = Signal(str)
    """The PIN typed."""
    sig_cancel = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(60, 40, 60, 40)
        left = QVBoxLayout()
        left.setSpacing(14)
        left.addStretch(1)
        self.title = label("Staff PIN", "title", Qt.AlignmentFlag.AlignLeft)
        left.addWidget(self.title)
        self.prompt = label("Technician or cashier", "subtitle", Qt.AlignmentFlag.AlignLeft)
        left.addWidget(self.prompt)
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pin.setMaxLength(12)
        left.addWidget(self.pin)
        self.error = label("", "error", Qt.AlignmentFlag.AlignLeft)
        left.addWidget(self.error)
        row = QHBoxLayout()
        self.cancel = button("Cancel", min_width=180)
        self.ok = button("Enter", "primary", min_width=240)
        row.addWidget(self.cancel)
        row.addStretch(1)
        row.addWidget(self.ok)
        left.addLayout(row)
        left.addStretch(1)
        outer.addLayout(left, 3)
        outer.addSpacing(50)
        pad = panel()
        pad_layout = QVBoxLayout(pad)
        pad_layout.setContentsMargins(24, 24, 24, 24)
        self.keypad = Keypad()
        self.keypad.target = self.pin
        pad_layout.addWidget(self.keypad)
        outer.addWidget(pad, 2, Qt.AlignmentFlag.AlignVCenter)
        self.ok.clicked.connect(self._submit)
        self.pin.returnPressed.connect(self._submit)
        self.cancel.clicked.connect(self.sig_cancel.emit)

    def reset(self, prompt: str) -> None:
        self.prompt.setText(prompt)
        self.pin.clear()
        self.error.setText("")
        self.pin.setFocus()

    def _submit(self) -> None:
        self.sig_submit.emit(self.pin.text())
        self.pin.clear()


class LoginScreen(Screen):
    """Card number (typed or scanned: a card reader types and presses Enter) and PIN, or a scanned ticket."""

    sig_login = Signal(str, str)
    """(card number, PIN)."""
    sig_ticket = Signal(str)
    """A cash-out ticket's QR text was scanned into the card field: play it, no PIN."""
    sig_back = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(60, 40, 60, 40)
        left = QVBoxLayout()
        left.addStretch(1)
        left.addWidget(label("Welcome", "title", Qt.AlignmentFlag.AlignLeft))
        left.addWidget(label("Scan your player card, or type your card number and PIN.\nGot a ticket? Scan it to play its credits.",
                             "subtitle", Qt.AlignmentFlag.AlignLeft))
        left.addSpacing(20)
        self.card = QLineEdit()
        self.card.setPlaceholderText("Card number")
        self.pin = QLineEdit()
        self.pin.setPlaceholderText("PIN")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        left.addWidget(self.card)
        left.addWidget(self.pin)
        self.error = label("", "error", Qt.AlignmentFlag.AlignLeft)
        left.addWidget(self.error)
        row = QHBoxLayout()
        self.back = button("Back", min_width=180)
        self.ok = button("Log in", "primary", min_width=280)
        row.addWidget(self.back)
        row.addStretch(1)
        row.addWidget(self.ok)
        left.addLayout(row)
        left.addStretch(1)
        outer.addLayout(left, 3)
        outer.addSpacing(50)
        pad = panel()
        pad_layout = QVBoxLayout(pad)
        pad_layout.setContentsMargins(24, 24, 24, 24)
        self.keypad = Keypad()
        self.keypad.target = self.card
        pad_layout.addWidget(self.keypad)
        outer.addWidget(pad, 2, Qt.AlignmentFlag.AlignVCenter)
        self.card.returnPressed.connect(self._card_entered)
        self.pin.returnPressed.connect(self._submit)
        self.ok.clicked.connect(self._submit)
        self.back.clicked.connect(self.sig_back.emit)
        self.card.installEventFilter(self)
        self.pin.installEventFilter(self)

    def eventFilter(self, watched: object, event: object) -> bool:
        from PySide6.QtCore import QEvent

        if isinstance(event, QEvent) and event.type() == QEvent.Type.FocusIn and isinstance(watched, QLineEdit):
            self.keypad.target = watched
        return False

    def reset(self) -> None:
        self.card.clear()
        self.pin.clear()
        self.error.setText("")
        self.set_busy(False)
        self.card.setFocus()
        self.keypad.target = self.card

    def set_busy(self, busy: bool) -> None:
        self.ok.setEnabled(not busy)
        self.ok.setText("Checking…" if busy else "Log in")

    def scan(self, text: str) -> None:
        """What a card reader or QR scanner does here: the text into the card field, then Enter."""
        self.card.setText(text)
        self._card_entered()

    def _card_entered(self) -> None:
        if self._ticket_scanned():
            return
        self.pin.setFocus()
        self.keypad.target = self.pin

    def _submit(self) -> None:
        if self._ticket_scanned():
            return
        self.error.setText("")
        self.sig_login.emit(self.card.text(), self.pin.text())

    def _ticket_scanned(self) -> bool:
        """A scanner types the ticket's QR text and Enter into the card field; such text is no card number."""
        text = self.card.text()
        if model.parse_voucher_qr(text) is None:
            return False
        self.error.setText("")
        self.card.clear()  # the QR text is long and means nothing to a player
        self.set_busy(True)
        self.sig_ticket.emit(text)
        return True


# --- wallet --------------------------------------------------------------------------


class WalletScreen(Screen):
    """The player's account: balance, and how many credits to bring to this kiosk."""

    sig_start = Signal(object)
    """Amount in credit units to check out, or None for the whole wallet."""
    sig_logout = Signal()
    sig_topup = Signal()
    """The player wants to buy credits online (the top-up screen)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(80, 30, 80, 30)
        outer.setSpacing(8)  # the screen must fit 768 px high with everything touch-sized
        outer.addStretch(1)
        self.greeting = label("", "title")
        outer.addWidget(self.greeting)
        self.card_line = label("", "subtitle")
        outer.addWidget(self.card_line)
        box = panel()
        box_layout = QVBoxLayout(box)
        box_layout.setContentsMargins(48, 24, 48, 24)
        box_layout.addWidget(label("YOUR ACCOUNT", "meterCaption"))
        self.balance = label("0.00", "bigValue")
        box_layout.addWidget(self.balance)
        box_layout.addWidget(label("credits", "subtitle"))
        outer.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addSpacing(12)
        # The choices sit in one centred column: a full-width button is a long reach on a wide screen.
        column = QWidget()
        column.setMinimumWidth(860)
        column.setMaximumWidth(1000)
        choices = QVBoxLayout(column)
        choices.setContentsMargins(0, 0, 0, 0)
        choices.setSpacing(18)
        choices.addWidget(label("How many credits do you want to play with?", "subtitle"))
        self.amounts = QHBoxLayout()
        self.amounts.setSpacing(18)
        self.amounts.addStretch(1)  # the buttons go between these two: see show_player
        self.amounts.addStretch(1)
        choices.addLayout(self.amounts)
        self.all = button("Play everything", "primary")
        self.all.setMinimumHeight(96)
        choices.addWidget(self.all)
        self.error = notice("error")
        choices.addWidget(self.error)
        centre = QHBoxLayout()
        centre.addStretch(1)
        centre.addWidget(column, 4)
        centre.addStretch(1)
        outer.addLayout(centre)
        outer.addStretch(1)
        bottom = QHBoxLayout()  # the same row as Log out: the screen must still fit 768 px high
        self.logout = button("Log out", min_width=220)
        bottom.addWidget(self.logout)
        bottom.addStretch(1)
        self.topup = button("Top up", min_width=260)
        self.topup.setMinimumHeight(96)
        bottom.addWidget(self.topup)
        outer.addLayout(bottom)
        self.all.clicked.connect(lambda: self.sig_start.emit(None))
        self.logout.clicked.connect(self.sig_logout.emit)
        self.topup.clicked.connect(self.sig_topup.emit)
        self._amount_buttons: list[QPushButton] = []

    def show_player(self, player: model.Player) -> None:
        title, card_line = model.welcome(player)
        self.greeting.setText(title)
        self.card_line.setText(card_line)
        self.balance.setText(model.credits(player.balance_units))
        self.error.setText("")
        for b in self._amount_buttons:
            self.amounts.removeWidget(b)
            b.deleteLater()
        self._amount_buttons = []
        for amount in model.checkout_choices(player.balance_units):
            b = button(model.credits(amount), min_width=200)
            b.setMinimumHeight(96)
            b.clicked.connect(lambda _=False, a=amount: self.sig_start.emit(a))
            self.amounts.insertWidget(self.amounts.count() - 1, b)  # before the trailing stretch
            self._amount_buttons.append(b)
        self.all.setText(f"Play all {model.credits(player.balance_units)}")
        self.all.setEnabled(player.balance_units > 0)
        self.set_busy(False)

    def set_busy(self, busy: bool) -> None:
        for b in [*self._amount_buttons, self.all, self.topup]:
            b.setEnabled(not busy)


# --- online top-up (issue 8) ---------------------------------------------------------

QR_PX = 380  # big enough for a phone held at arm's length; fits 768 px high with the banner


def qr_pixmap(text: str, size_px: int = QR_PX) -> QPixmap:
    pixmap = QPixmap()
    if not pixmap.loadFromData(qr_png(text, size_px), "PNG"):
        raise ValueError("the QR code could not be drawn")
    return pixmap


METHOD_LABELS: dict[Provider, str] = {"stripe": "Card", "btcpay": "Crypto"}
METHOD_NOTES = {
    "stripe": "You pay by card on your phone, on the payment provider's secure page.",
    "btcpay": "You pay with crypto (Bitcoin via BTCPay) on your phone.",
}
METHOD_PAID_WITH = {"stripe": "by card", "btcpay": "with crypto"}


class TopupScreen(Screen):
    """Buying credits online: choose how to pay (card or crypto, whichever the cafe offers here) and an
    amount, then scan the checkout link's QR with a phone and pay there.

    Both ways open the provider's hosted checkout page on the phone (a Stripe Checkout Session, a
    BTCPay invoice). The screen only shows what the window tells it; the window starts the payment
    and follows its status on the worker.
    """

    sig_amount = Signal(int)
    """The player chose how many credits (units) to buy, with the method chosen (``provider()``)."""
    sig_cancel = Signal()
    """Back to the wallet (a payment already started stays at central)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(80, 24, 80, 24)
        outer.setSpacing(10)
        outer.addWidget(label("Top up your account", "title"))
        self.intro = label("", "subtitle")
        outer.addWidget(self.intro)
        outer.addStretch(1)

        self.choose = QWidget()
        choose = QVBoxLayout(self.choose)
        choose.setContentsMargins(0, 0, 0, 0)
        choose.setSpacing(18)
        self.method_caption = label("How do you want to pay?", "subtitle")
        choose.addWidget(self.method_caption)
        methods = QHBoxLayout()
        methods.setSpacing(18)
        methods.addStretch(1)
        self.methods: dict[Provider, QPushButton] = {}
        group = QButtonGroup(self)
        group.setExclusive(True)
        for provider, text in METHOD_LABELS.items():
            b = button(text, "method", min_width=300)
            b.setCheckable(True)
            b.setMinimumHeight(96)
            b.toggled.connect(lambda on, p=provider: self._method_toggled(p, on))
            group.addButton(b)
            methods.addWidget(b)
            self.methods[provider] = b
        methods.addStretch(1)
        choose.addLayout(methods)
        choose.addSpacing(6)
        self.amount_caption = label("How many credits do you want to buy?", "subtitle")
        choose.addWidget(self.amount_caption)
        row = QHBoxLayout()
        row.setSpacing(18)
        row.addStretch(1)
        self.amount_buttons: list[QPushButton] = []
        for amount in model.TOPUP_CHOICES_UNITS:
            b = button(model.credits(amount), min_width=200)
            b.setMinimumHeight(110)
            b.clicked.connect(lambda _=False, a=amount: self.sig_amount.emit(a))
            row.addWidget(b)
            self.amount_buttons.append(b)
        row.addStretch(1)
        choose.addLayout(row)
        self.method_note = label("", "subtitle")
        choose.addWidget(self.method_note)
        outer.addWidget(self.choose)

        self.pay = QWidget()
        pay = QHBoxLayout(self.pay)
        pay.setContentsMargins(0, 0, 0, 0)
        pay.setSpacing(40)
        pay.addStretch(1)
        self.qr = QLabel()
        self.qr.setFixedSize(QR_PX, QR_PX)
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr.setStyleSheet("background: white; border-radius: 12px;")
        pay.addWidget(self.qr)
        column = QWidget()
        column.setMinimumWidth(560)  # the status words on a line or two, not a narrow ribbon beside the code
        column.setMaximumWidth(640)
        side = QVBoxLayout(column)
        side.setContentsMargins(0, 0, 0, 0)
        side.setSpacing(10)
        side.addStretch(1)
        side.addWidget(label("CREDITS YOU BUY", "meterCaption", Qt.AlignmentFlag.AlignLeft))
        self.amount = label("", "bigValue", Qt.AlignmentFlag.AlignLeft)
        side.addWidget(self.amount)
        self.price = label("", "subtitle", Qt.AlignmentFlag.AlignLeft)
        side.addWidget(self.price)
        self.scan = label("Scan with your phone to pay", "subtitle", Qt.AlignmentFlag.AlignLeft)
        side.addWidget(self.scan)
        side.addSpacing(10)
        self.status = label("", "message", Qt.AlignmentFlag.AlignLeft)
        self.status.setStyleSheet("font-size: 34px; font-weight: 800;")
        side.addWidget(self.status)
        self.detail = label("", "subtitle", Qt.AlignmentFlag.AlignLeft)
        side.addWidget(self.detail)
        side.addStretch(1)
        pay.addWidget(column)
        pay.addStretch(1)
        outer.addWidget(self.pay)

        self.error = notice("error")
        outer.addWidget(self.error)
        outer.addStretch(1)
        bottom = QHBoxLayout()
        self.cancel = button("Cancel", min_width=220)
        bottom.addWidget(self.cancel)
        bottom.addStretch(1)
        self.done = button("Back to my account", "primary", min_width=320)
        bottom.addWidget(self.done)
        outer.addLayout(bottom)
        self.cancel.clicked.connect(self.sig_cancel.emit)
        self.done.clicked.connect(self.sig_cancel.emit)
        self._holds = ""
        self._offered: tuple[Provider, ...] = ()

    def reset(self, balance_units: int) -> None:
        """The choice of method and amount, for a player whose account holds ``balance_units``;
        nothing can be pressed until ``offer`` says which methods this kiosk has."""
        self._holds = f"Your account holds {model.credits(balance_units)} credits."
        self.intro.setText(self._holds)
        self._offered = ()  # until the window has read what this kiosk offers (a local read, off the GUI thread)
        for b in self.methods.values():
            b.hide()
        self.method_caption.hide()
        self.method_note.setText("")
        self.choose.show()
        self.pay.hide()
        self.qr.clear()
        self.status.setText("")
        self.detail.setText("")
        self.error.setText("")
        self.cancel.show()
        self.done.hide()
        self.set_busy(False)

    def offer(self, providers: tuple[Provider, ...] | tuple[str, ...]) -> None:
        """Show the methods the cafe offers at this kiosk; the first is chosen (one alone needs no choosing)."""
        self._offered = tuple(p for p in METHOD_LABELS if p in providers)
        for provider, b in self.methods.items():
            b.setVisible(provider in self._offered and len(self._offered) > 1)
        self.method_caption.setVisible(len(self._offered) > 1)
        offered = bool(self._offered)
        self.amount_caption.setVisible(offered)
        for b in self.amount_buttons:
            b.setVisible(offered)
        if offered:
            self.methods[self._offered[0]].setChecked(True)
            self._method_chosen(self._offered[0])
        else:
            self.method_note.setText("Top-ups are not offered at this kiosk. Please see the cashier to buy credits.")
        self.cancel.setVisible(offered)  # nothing to cancel: one clear way back
        self.done.setVisible(not offered)
        self.set_busy(False)

    def provider(self) -> Provider | None:
        """The chosen method, or None when the cafe offers none here."""
        return next((p for p in self._offered if self.methods[p].isChecked()), None)

    def _method_toggled(self, provider: Provider, on: bool) -> None:
        if on:
            self._method_chosen(provider)

    def _method_chosen(self, provider: Provider) -> None:
        self.method_note.setText(f"{METHOD_NOTES[provider]} To pay with cash, please see the cashier.")

    def set_busy(self, busy: bool) -> None:
        usable = bool(self._offered) and not busy
        for b in [*self.amount_buttons, *self.methods.values()]:
            b.setEnabled(usable)
        self.intro.setText("Asking the cafe's server…" if busy else self._holds)

    def show_error(self, message: str) -> None:
        self.set_busy(False)
        self.error.setText(message)

    def show_payment(self, amount_units: int, qr: QPixmap, *, provider: str = "", price: str = "") -> None:
        """The checkout link as a QR for the player's phone, with what they pay and how."""
        self.error.setText("")
        self.intro.setText("Open the camera on your phone and point it at the code.")
        self.amount.setText(model.credits(amount_units))
        self.price.setText(" ".join(x for x in (f"You pay {price}" if price else "", METHOD_PAID_WITH.get(provider, "")) if x))
        self.qr.setPixmap(qr)
        self.qr.show()
        self.choose.hide()
        self.pay.show()

    def show_status(self, status: str, amount_units: int, wallet_units: int) -> None:
        headline, style, detail = model.topup_words(status, amount_units, wallet_units)
        self.status.setText(headline)
        self.status.setObjectName(style)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
        self.detail.setText(detail)
        self.scan.setVisible(status == "pending")
        self.qr.setVisible(status == "pending")  # a settled code is not to be scanned again
        settled = status != "pending"
        if settled:
            self.intro.setText("")  # no code is left to point a phone at
        self.done.setVisible(settled)  # nothing is left to wait for here: one clear way back
        self.cancel.setVisible(not settled)


# --- session: bar, lobby, game -------------------------------------------------------


class SessionBar(QFrame):
    """Across the top while a session is open: player, credits, last win, clock, cash out."""

    sig_cash_out = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("topbar")
        self._build_ui()

    def _build_ui(self) -> None:
        row = QHBoxLayout(self)
        row.setContentsMargins(24, 8, 24, 8)
        self.player = label("", "subtitle", Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.player.setWordWrap(False)
        row.addWidget(self.player, 1)
        self.credits = Meter("Credits")
        self.win = Meter("Win")
        self.clock = Meter("Session")
        for meter in (self.credits, self.win, self.clock):
            row.addWidget(meter)
        self.cash_out = button("Cash out", "danger", min_width=200)
        row.addWidget(self.cash_out)
        self.cash_out.clicked.connect(self.sig_cash_out.emit)

    def show_session(self, session: model.Session, *, shown_escrow_units: int, now_s: float) -> None:
        self.player.setText(session.player_name)
        self.credits.set_text(model.credits(shown_escrow_units))
        self.win.set_text(model.credits(session.last_win_units))
        self.clock.set_text(model.clock_text(session.elapsed_s(now_s)))


class LobbyScreen(Screen):
    """Game tiles; a pool game that cannot be dealt yet says why."""

    sig_game = Signal(str)
    """The game id the player chose."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.tiles: dict[str, QPushButton] = {}
        self._build_ui()

    def _build_ui(self) -> None:
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(50, 30, 50, 30)
        self.layout_.addWidget(label("Choose a game", "title"))
        self.grid = QHBoxLayout()
        self.grid.setSpacing(36)
        self.layout_.addStretch(1)
        self.layout_.addLayout(self.grid)
        self.notes = label("", "subtitle")
        self.layout_.addWidget(self.notes)
        self.layout_.addStretch(1)

    def set_games(self, games: Sequence[GameDefinition], available: dict[str, bool], rtp_text: dict[str, str]) -> None:
        for tile in self.tiles.values():
            self.grid.removeWidget(tile)
            tile.deleteLater()
        self.tiles = {}
        notes = []
        for definition in games:
            enabled = available.get(definition.id, True)
            tile = QPushButton()
            tile.setObjectName("tile")
            tile.setStyleSheet("QPushButton#tile { background: transparent; border: none; padding: 0; }")
            tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            tile.setMinimumSize(300, 260)
            tile.setProperty("engine", definition.engine)
            tile.setProperty("title", definition.title)
            tile.setProperty("enabled_game", enabled)
            rtp_line = f"Return to player {rtp_text[definition.id]}" if definition.id in rtp_text else ""
            tile.setProperty("rtp", rtp_line)
            tile.setEnabled(enabled)
            tile.setToolTip(" · ".join(t for t in (definition.title, rtp_line) if t))
            tile.clicked.connect(lambda _=False, g=definition.id: self.sig_game.emit(g))
            self.grid.addWidget(tile)
            self.tiles[definition.id] = tile
            if not enabled:
                notes.append(f"{definition.title} needs entries dealt by central; it opens once the pool service is connected.")
        self.notes.setText("\n".join(notes))
        self._paint_tiles()

    def resizeEvent(self, event: object) -> None:
        self._paint_tiles()

    def _paint_tiles(self) -> None:
        for tile in self.tiles.values():
            w = max(300, int(min(self.width() / max(1, len(self.tiles)) - 60, 520)))
            h = int(w * 0.82)
            tile.setIcon(QIcon(thumbnail(str(tile.property("engine")), str(tile.property("title")), w, h,
                                         enabled=bool(tile.property("enabled_game")), subtitle=str(tile.property("rtp")))))
            tile.setIconSize(QSize(w, h))
            tile.setMinimumHeight(h)


class GameScreen(Screen):
    """One game: its view, the bet selector and the play button, a win banner."""

    sig_play = Signal()
    sig_lobby = Signal()
    sig_bet_step = Signal(int)
    """-1 for a smaller bet, +1 for a larger one."""

    def __init__(self, sounds: Sounds | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.sounds = sounds
        self.view: GameView | None = None
        self.definition: GameDefinition | None = None
        self._build_ui()

    def _build_ui(self) -> None:
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(30, 14, 30, 20)
        self.layout_.setSpacing(10)
        header = QHBoxLayout()
        self.title = label("", "title", Qt.AlignmentFlag.AlignLeft)
        self.rtp = label("", "subtitle", Qt.AlignmentFlag.AlignRight)
        self.rtp.setWordWrap(False)
        header.addWidget(self.title, 1)
        header.addWidget(self.rtp)
        self.layout_.addLayout(header)
        self.view_slot = QVBoxLayout()
        self.layout_.addLayout(self.view_slot, 1)
        self.message = label("", "message")
        self.layout_.addWidget(self.message)
        bar = QHBoxLayout()
        bar.setSpacing(16)
        self.lobby = button("◀ Games", min_width=180)
        bar.addWidget(self.lobby)
        self.quick = button("Quick pick", min_width=180)
        self.clear = button("Clear", min_width=140)
        bar.addWidget(self.quick)
        bar.addWidget(self.clear)
        bar.addStretch(1)
        self.bet_down = button("−", min_width=90)
        self.bet = Meter("Bet")
        self.bet_up = button("+", min_width=90)
        bar.addWidget(self.bet_down)
        bar.addWidget(self.bet)
        bar.addWidget(self.bet_up)
        bar.addSpacing(20)
        self.play = button("SPIN", "primary", min_width=280)
        self.play.setMinimumHeight(96)
        bar.addWidget(self.play)
        self.layout_.addLayout(bar)
        self.play.clicked.connect(self.sig_play.emit)
        self.lobby.clicked.connect(self.sig_lobby.emit)
        self.bet_down.clicked.connect(lambda: self.sig_bet_step.emit(-1))
        self.bet_up.clicked.connect(lambda: self.sig_bet_step.emit(1))
        self.quick.clicked.connect(self._quick_pick)
        self.clear.clicked.connect(self._clear)

    def open_game(self, definition: GameDefinition, rtp_text: str) -> GameView:
        if self.view is not None:
            self.view.setParent(None)
            self.view.deleteLater()
        self.definition = definition
        self.view = view_for(definition, self.sounds)
        self.view_slot.addWidget(self.view)
        self.title.setText(definition.title)
        self.rtp.setText(f"Return to player {rtp_text}")
        keno = isinstance(self.view, KenoView)
        self.quick.setVisible(keno)
        self.clear.setVisible(keno)
        self.play.setText({"reels": "SPIN", "keno": "DRAW", "pool": "REVEAL"}.get(definition.engine, "PLAY"))
        self.message.setText("Mark your numbers, then DRAW." if keno else "")
        return self.view

    def _quick_pick(self) -> None:
        if isinstance(self.view, KenoView):
            self.view.quick_pick()

    def _clear(self) -> None:
        if isinstance(self.view, KenoView):
            self.view.set_picks([])

    def set_bet(self, bet_units: int) -> None:
        self.bet.set_text(model.credits(bet_units))

    def set_busy(self, busy: bool) -> None:
        for b in (self.play, self.lobby, self.bet_down, self.bet_up, self.quick, self.clear):
            b.setEnabled(not busy)

    def show_outcome(self, result: RoundResult) -> None:
        if result.win_units:
            self.message.setText(f"WIN  {model.credits(result.win_units)}  credits!")
        else:
            self.message.setText("No win this time. Good luck on the next one!")


# --- cash out, reality check, goodbye ------------------------------------------------


class ChoiceScreen(Screen):
    """A question with up to three big answers (cash out, reality check)."""

    sig_choice = Signal(str)
    """The key of the answer pressed."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.buttons: dict[str, QPushButton] = {}
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(80, 60, 80, 60)
        outer.addStretch(1)
        box = panel()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(50, 40, 50, 40)
        layout.setSpacing(18)
        self.title = label("", "title")
        self.body = label("", "subtitle")
        self.value = label("", "bigValue")
        self.unit = label("credits", "subtitle")
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        amount = QVBoxLayout()  # the amount and its unit read as one: no panel spacing between them
        amount.setSpacing(0)
        amount.addWidget(self.value)
        amount.addWidget(self.unit)
        layout.addLayout(amount)
        layout.addSpacing(6)
        self.row = QHBoxLayout()
        self.row.setSpacing(24)
        layout.addLayout(self.row)
        self.error = notice("error")
        layout.addWidget(self.error)
        outer.addWidget(box)
        outer.addStretch(1)

    def ask(self, title: str, body: str, value: str, answers: Sequence[tuple[str, str, str]]) -> None:
        """answers: (key, text, style)."""
        self.title.setText(title)
        self.body.setText(body)
        self.value.setText(value)
        self.value.setVisible(bool(value))
        self.unit.setVisible(bool(value))
        self.error.setText("")
        for b in self.buttons.values():
            self.row.removeWidget(b)
            b.deleteLater()
        self.buttons = {}
        for key, text, style in answers:
            b = button(text, style)
            b.setMinimumHeight(110)
            b.clicked.connect(lambda _=False, k=key: self.sig_choice.emit(k))
            self.row.addWidget(b)
            self.buttons[key] = b
        self.set_busy(False)

    def set_busy(self, busy: bool) -> None:
        for b in self.buttons.values():
            b.setEnabled(not busy)


# --- technician ----------------------------------------------------------------------


class TechScreen(Screen):
    """Staff menu: game recall, meters, leave kiosk mode (technicians only), back."""

    sig_action = Signal(str)
    """"recall", "meters", "exit" or "back"."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(80, 50, 80, 50)
        self.title = label("Staff menu", "title")
        outer.addWidget(self.title)
        self.who = label("", "subtitle")
        outer.addWidget(self.who)
        self.info = label("", "message")
        outer.addWidget(self.info)
        outer.addStretch(1)
        grid = QGridLayout()
        grid.setSpacing(24)
        self.buttons = {}
        for i, (key, text, style) in enumerate((("recall", "Game recall", ""), ("meters", "Meters", ""),
                                               ("exit", "Exit kiosk mode", "danger"), ("back", "Back to players", "primary"))):
            b = button(text, style)
            b.setMinimumHeight(120)
            b.clicked.connect(lambda _=False, k=key: self.sig_action.emit(k))
            grid.addWidget(b, i // 2, i % 2)
            self.buttons[key] = b
        outer.addLayout(grid)
        outer.addStretch(1)

    def show_staff(self, name: str, role: str, info: str) -> None:
        self.who.setText(f"{name} · {role}")
        self.info.setText(info)
        self.buttons["exit"].setEnabled(role == "technician")


class MetersScreen(Screen):
    """The kiosk's meters from its journal."""

    sig_back = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(80, 40, 80, 40)
        outer.addWidget(label("Kiosk meters", "title"))
        self.box = panel()
        self.grid = QGridLayout(self.box)
        self.grid.setContentsMargins(40, 30, 40, 30)
        self.grid.setHorizontalSpacing(60)
        self.grid.setVerticalSpacing(14)
        outer.addWidget(self.box, 1)
        outer.addSpacing(24)
        self.back = button("Back", "primary", min_width=240)
        outer.addWidget(self.back, 0, Qt.AlignmentFlag.AlignRight)
        self.back.clicked.connect(self.sig_back.emit)
        self.values: dict[str, QLabel] = {}

    def show_meters(self, meters: model.Meters) -> None:
        for i, (name, value) in enumerate(meters.rows()):
            if name not in self.values:
                # Both vertically centred in the row: the caption is smaller than its value.
                self.grid.addWidget(label(name.upper(), "meterCaption", Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), i, 0)
                self.values[name] = label("", "meterValue", Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.grid.addWidget(self.values[name], i, 1)
            self.values[name].setText(value)


class RecallScreen(Screen):
    """The last rounds of this kiosk; the selected one is replayed exactly as it was shown."""

    sig_back = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.rounds: list[RecalledGame] = []
        self.view: GameView | None = None
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(40, 24, 40, 24)
        outer.addWidget(label("Game recall · last 10 rounds", "title"))
        row = QHBoxLayout()
        row.setSpacing(24)
        self.list = QListWidget()
        self.list.setMinimumWidth(480)
        self.list.setMaximumWidth(560)
        row.addWidget(self.list)
        right = QVBoxLayout()
        self.detail = label("", "subtitle", Qt.AlignmentFlag.AlignLeft)
        right.addWidget(self.detail)
        self.view_slot = QVBoxLayout()
        right.addLayout(self.view_slot, 1)
        row.addLayout(right, 1)
        outer.addLayout(row, 1)
        self.back = button("Back", "primary", min_width=240)
        outer.addWidget(self.back, 0, Qt.AlignmentFlag.AlignRight)
        self.back.clicked.connect(self.sig_back.emit)
        self.list.currentRowChanged.connect(self.select)

    def show_rounds(self, rounds: list[RecalledGame]) -> None:
        self.rounds = rounds
        self.list.clear()
        for item in rounds:
            b = item.round.body
            title = item.definition.title if item.definition else b.game_id
            when = model.local_time_text(item.round.created_at)[11:]
            text = f"{when}  {title}\nbet {model.credits(b.bet_units)} · win {model.credits(b.win_units)}"
            QListWidgetItem(text, self.list)
        if rounds:
            self.list.setCurrentRow(0)
        else:
            self.detail.setText("No rounds have been played on this kiosk yet.")

    def select(self, row: int) -> None:
        if not 0 <= row < len(self.rounds):
            return
        item = self.rounds[row]
        body = item.round.body
        if self.view is not None:
            self.view.setParent(None)
            self.view.deleteLater()
            self.view = None
        agree = item.result is not None and item.result.win_units == body.win_units and dict(item.result.outcome) == body.outcome
        self.detail.setText(
            f"{model.local_time_text(item.round.created_at)}  ·  journal #{item.round.seq}\n"
            f"Round {body.round_no} of session {body.session_id[:13]}…\n"
            f"Bet {model.credits(body.bet_units)}  ·  Win {model.credits(body.win_units)}  ·  "
            + ("replay matches the journal" if agree else f"REPLAY DIFFERS: {item.problem or 'outcome mismatch'}"))
        if item.definition is not None and item.result is not None:
            self.view = view_for(item.definition)
            self.view.animation_scale = 0
            self.view_slot.addWidget(self.view)
            self.view.show_result(item.result)


class GoodbyeScreen(Screen):
    """The end of a session: where the credits went (and the ticket to take)."""

    sig_done = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(80, 60, 80, 60)
        outer.addStretch(1)
        outer.setSpacing(14)
        self.title = label("", "title")
        self.value = label("", "bigValue")
        self.unit = label("credits", "subtitle")
        self.body = label("", "subtitle")
        self.error = notice("error")
        outer.addWidget(self.title)
        amount = QVBoxLayout()
        amount.setSpacing(0)
        amount.addWidget(self.value)
        amount.addWidget(self.unit)
        outer.addLayout(amount)
        for w in (self.body, self.error):
            outer.addWidget(w)
        outer.addSpacing(10)
        self.done = button("Done", "primary", min_width=280)
        outer.addWidget(self.done, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(1)
        self.done.clicked.connect(self.sig_done.emit)

    def show_text(self, title: str, value: str, body: str, error: str = "") -> None:
        self.title.setText(title)
        self.value.setText(value)
        self.value.setVisible(bool(value))
        self.unit.setVisible(bool(value))
        self.body.setText(body)
        self.error.setText(error)
