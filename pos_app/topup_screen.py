"""The online top-up screen (F9): the player pays by card link or crypto on their phone and
central credits the wallet when the provider confirms; the cashier takes no money.

Start asks central for the payment (lookup lane), then the screen follows its status by long
poll on the worker's ``watch`` lane, so it hears the verdict at once without polling fast and
never holds up a search or the status bar. Leaving the screen stops following; the payment
itself stays at central and is credited there whether or not anyone watches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QKeyEvent, QPixmap
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QRadioButton, QVBoxLayout

from pos_app.screens import Screen, credits
from pos_app.service import Player
from pos_app.widgets import Keypad, button, label, panel, set_message
from shared.errors import CafeError
from shared.money import CREDITS, format_units
from shared.qr import qr_png
from sync.payments import SETTLED, Payment, Provider

if TYPE_CHECKING:
    from pos_app.window import MainWindow

QR_PX = 240  # scannable from a phone held at the counter, and fits 1366x768 with the banner
FOLLOW_GAP_MS = 500  # between long polls: they pace themselves, this only stops a hot loop on a bad answer
OFFLINE_RETRY_MS = 5000
MAX_POLLS = 360  # about an hour of long polls; a provider's link expires well before that
PROVIDER_LABELS: dict[Provider, str] = {"stripe": "Card link (Stripe)", "btcpay": "Crypto (BTCPay)"}
DEFAULT_PRESETS_UNITS = (1000, 2000, 5000, 10000)


def qr_pixmap(text: str, size_px: int = QR_PX) -> QPixmap:
    pixmap = QPixmap()
    if not pixmap.loadFromData(qr_png(text, size_px), "PNG"):
        raise CafeError("the QR code could not be drawn")
    return pixmap


def describe(payment: Payment) -> tuple[str, str, str]:
    """(headline, label style, detail) a cashier reads for a top-up's status."""
    amount = credits(payment.amount_units)
    balance = f"Wallet balance now {credits(payment.wallet_units)}."
    reasons = "; ".join(payment.review_reasons) or "a risk rule"
    return {
        "pending": ("Waiting for payment…", "warn",
                    f"{amount} for {format_units(payment.fiat_units, payment.currency)} {payment.currency}. "
                    "The credits appear the moment the provider confirms."),
        "credited": ("Credited", "good", f"{amount} added to the wallet. {balance}"),
        "review": ("In review", "warn", f"Paid, but it waits for a manager's review in the console ({reasons}). "
                                        f"Nothing is in the wallet until it is approved. {balance}"),
        "rejected": ("Rejected", "bad", f"The review rejected this payment: nothing credited, the money goes back "
                                        f"to the payer. {balance}"),
        "refunded": ("Refunded", "bad", f"The money went back to the payer and the credits were taken back. {balance}"),
        "failed": ("Payment failed", "bad", f"The provider declined or cancelled it: nothing credited. {balance}"),
        "expired": ("Link expired", "bad", f"Not paid in time: nothing credited. Start again if the player still wants "
                                           f"to pay. {balance}"),
        "partial": ("Paid only in part", "bad", f"Less than {amount} arrived: nothing credited. A manager refunds it "
                                                f"in the console. {balance}"),
    }.get(payment.status, (payment.status.capitalize(), "warn", balance))


class TopupScreen(Screen):
    title = "Online top-up"
    sig_payment_changed = Signal(object)
    """The top-up on screen was started or changed status (the new ``Payment``)."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.payment: Payment | None = None
        self._shown_player: Player | None = None
        self._token = 0  # bumped when following stops: answers of an older poll are dropped
        self._polls = 0
        self._build_ui()
        window.sig_state_changed.connect(self._state_changed)

    def _build_ui(self) -> None:
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(16)
        left = QVBoxLayout()
        left.setSpacing(10)
        self.header(left, "The player pays on their phone; central credits the wallet when the provider confirms.")
        abox, al = panel()
        al.addWidget(label("PLAYER", "caption"))
        self.player_name = label("No player selected", "subtitle", wrap=True)
        self.player_name.setStyleSheet("font-size: 22px; font-weight: 700;")
        al.addWidget(self.player_name)
        amount_row = QHBoxLayout()
        amount_row.addWidget(label("CREDITS", "caption"), 0, Qt.AlignmentFlag.AlignVCenter)
        self.amount = label("", "bigAmount")
        self.amount.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        amount_row.addWidget(self.amount, 1)
        al.addLayout(amount_row)
        self.preset_row = QHBoxLayout()
        al.addLayout(self.preset_row)
        self.keypad = Keypad()
        self.keypad.sig_changed.connect(lambda units: self.amount.setText(credits(units)))
        al.addWidget(self.keypad, 1)
        left.addWidget(abox, 1)
        outer.addLayout(left, 3)

        pbox, pl = panel()
        pl.addWidget(label("HOW THE PLAYER PAYS", "caption"))
        self.providers: dict[Provider, QRadioButton] = {}
        group = QButtonGroup(self)
        radios = QHBoxLayout()
        for provider, text in PROVIDER_LABELS.items():
            radio = QRadioButton(text)
            radio.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the keypad
            group.addButton(radio)
            radios.addWidget(radio)
            self.providers[provider] = radio
        self.providers["stripe"].setChecked(True)
        pl.addLayout(radios)
        actions = QHBoxLayout()
        self.cancel = button("Leave", key="Esc")
        self.cancel.clicked.connect(lambda: self.win.go("sell"))
        self.start = button("Start top-up", "primary", key="Enter")
        self.start.clicked.connect(self.do_start)
        for b in (self.cancel, self.start):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            actions.addWidget(b)
        pl.addLayout(actions)
        self.qr = QLabel()
        self.qr.setFixedSize(QR_PX, QR_PX)
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pl.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignHCenter)
        self.link = label("", "caption", wrap=True)
        self.link.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        pl.addWidget(self.link)
        self.status = label("", "warn")
        self.status.setStyleSheet("font-size: 30px;")
        pl.addWidget(self.status)
        self.detail = label("", "subtitle", wrap=True)
        pl.addWidget(self.detail)
        self.message = label("", "message", wrap=True)
        pl.addWidget(self.message)
        pl.addStretch()
        outer.addWidget(pbox, 2)
        self.keypad.set_amount(0)
        self._clear_payment()

    # -- coming and going ------------------------------------------------------------------------

    def shown(self) -> None:
        self._refresh_presets()
        player = self.win.player
        if self.payment is not None and (player is None or player.player_id != self.payment.player_id):
            self._clear_payment()  # another player now: their top-up starts from an empty screen
        self._show_player(player)
        if self.payment is not None and self.payment.status not in SETTLED and self.payment.status != "review":
            self._polls = 0
            self._follow()
        elif self.payment is None:
            set_message(self.message, "" if player else "Choose the player first (scan the card or press F2).",
                        error=player is None)
        self._offer_providers()
        self.setFocus()

    def hideEvent(self, event: QHideEvent) -> None:
        self._token += 1  # stop following; central keeps the payment and credits it regardless
        super().hideEvent(event)

    def _state_changed(self) -> None:
        player = self.win.player
        if self.isVisible() and player != self._shown_player and (self.payment is None or self.payment.status in SETTLED):
            self._show_player(player)

    def _show_player(self, player: Player | None) -> None:
        self._shown_player = player
        if player is None:
            self.player_name.setText("No player selected (scan the card or press F2)")
        else:
            excluded = "  ·  SELF-EXCLUDED: no top-ups" if player.self_excluded else ""
            self.player_name.setText(f"{player.name}  ·  card {player.card_number}  ·  balance "
                                     f"{credits(player.balance_units)}{excluded}")
        self._enable_start()

    def _enable_start(self) -> None:
        """Start works for a player who may buy, with a way to pay this counter still offers."""
        player = self.win.player
        self.start.setEnabled(player is not None and not player.self_excluded
                              and any(radio.isEnabled() for radio in self.providers.values()))

    def _offer_providers(self) -> None:
        """Only the ways to pay this location offers at the counter (central checks again at Start)."""
        config = self.win.config
        offered: set[str] = set(config.topup_providers) if config is not None else set(PROVIDER_LABELS)
        for provider, radio in self.providers.items():
            radio.setEnabled(provider in offered)
        if not self.provider_offered(offered):
            first = next((p for p in self.providers if p in offered), None)
            if first is not None:
                self.providers[first].setChecked(True)
        if not offered and self.payment is None:
            set_message(self.message, "Online top-ups are not offered at this location's counter.", error=True)
        self._enable_start()

    def provider_offered(self, offered: set[str]) -> bool:
        return self.provider() in offered

    def _refresh_presets(self) -> None:
        while self.preset_row.count():
            item = self.preset_row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        config = self.win.config
        for units in (config.sale_presets_units if config else DEFAULT_PRESETS_UNITS):
            b = button(format_units(units, CREDITS), "preset")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _=False, u=units: self.keypad.set_amount(u))
            self.preset_row.addWidget(b)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.do_start()
        elif not self.keypad.handle_key(event):
            super().keyPressEvent(event)

    # -- starting ----------------------------------------------------------------------------------

    def provider(self) -> Provider:
        return next(p for p, radio in self.providers.items() if radio.isChecked())

    def do_start(self) -> None:
        player, amount, provider, cashier = self.win.player, self.keypad.amount_units, self.provider(), self.win.cashier
        if cashier is None:
            set_message(self.message, "Sign in first.", error=True)
            return
        if player is None:
            set_message(self.message, "Choose the player first (scan the card or press F2).", error=True)
            return
        if amount <= 0:
            set_message(self.message, "Key the credits to buy first.", error=True)
            return
        if not self.providers[provider].isEnabled():
            set_message(self.message, "Online top-ups are not offered at this counter right now.", error=True)
            return
        if not self.start.isEnabled():
            return  # a top-up is being asked for already (Enter pressed twice), or the player may not buy
        self._token += 1  # a new top-up: whatever was followed before is no longer on screen
        self._clear_payment()
        self.start.setEnabled(False)
        set_message(self.message, "Asking central…")

        def failed(exc: CafeError) -> None:
            # Central's word is newer than the pulled config: take away what it refused until the config
            # offers it again (the next pull runs _offer_providers), so the cashier is not invited to retry.
            if exc.code == "topup_channel_off":
                for radio in self.providers.values():
                    radio.setEnabled(False)
            elif exc.code == "topup_provider_off":
                self.providers[provider].setEnabled(False)
                other = next((p for p, radio in self.providers.items() if radio.isEnabled()), None)
                if other is not None:
                    self.providers[other].setChecked(True)
            self._enable_start()
            self.fail(self.message)(exc)
        self.win.worker.run(lambda: self.win.service.start_topup(cashier, player, amount, provider), self._started, failed,
                            lane="lookup")

    def _started(self, payment: Payment) -> None:
        self.start.setEnabled(True)
        self.payment = payment
        self._polls = 0
        if payment.checkout_url:
            self.qr.setPixmap(qr_pixmap(payment.checkout_url))
            self.qr.show()
            self.link.setText(payment.checkout_url)
            set_message(self.message, "The player scans the code and pays on their phone.")
        else:
            set_message(self.message, "No link for this payment: the player pays on the card terminal.")
        self._show_status(payment)
        self._follow()

    def _clear_payment(self) -> None:
        self.payment = None
        self.qr.clear()
        self.qr.hide()  # no empty square where a code would be: a card payment has none
        self.link.setText("")
        self.status.setText("")
        self.detail.setText("")

    # -- following ----------------------------------------------------------------------------------

    def _follow(self, token: int | None = None) -> None:
        """Ask for the next status; ``token`` is the following a timer belongs to (a stale one does nothing)."""
        if token is not None and token != self._token:
            return
        payment, token = self.payment, self._token
        if payment is None or payment.status in SETTLED or payment.status == "review" or not self.isVisible():
            return
        if self._polls >= MAX_POLLS:
            set_message(self.message, "Stopped following this top-up; central still credits it when it is paid. "
                                      "Check the player's balance later.", error=True)
            return
        self._polls += 1
        self.win.worker.run(lambda: self.win.service.topup_status(payment.id, payment.status),
                            lambda answer: self._followed(token, answer), lambda exc: self._follow_failed(token, exc),
                            lane="watch")

    def _followed(self, token: int, payment: Payment) -> None:
        if token != self._token:
            return
        changed = self.payment is None or payment.status != self.payment.status
        self.payment = payment
        if changed:
            self._show_status(payment)
            if payment.status != "pending":
                set_message(self.message, "")
                self.win.load_player(payment.player_id)  # the window's player shows the new balance
        QTimer.singleShot(FOLLOW_GAP_MS, lambda: self._follow(token))

    def _follow_failed(self, token: int, exc: CafeError) -> None:
        if token != self._token:
            return
        if exc.code == "offline":
            set_message(self.message, "Central is unreachable; still waiting. The payment goes on at central.", error=True)
            QTimer.singleShot(OFFLINE_RETRY_MS, lambda: self._follow(token))
            return
        self.fail(self.message)(exc)

    def _show_status(self, payment: Payment) -> None:
        headline, style, detail = describe(payment)
        self.status.setText(headline)
        self.status.setObjectName(style)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
        self.detail.setText(detail)
        self.sig_payment_changed.emit(payment)
