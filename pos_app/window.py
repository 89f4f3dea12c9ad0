"""The POS main window: top bar (who, shift, sync), the offline banner, the F-key navigation
and the screens. It keeps what every screen needs (cashier, player, shift, config) and runs
every service call through the worker."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from pos_app import rules, theme
from pos_app.report_screen import ReportScreen
from pos_app.scanner import ScannerFilter
from pos_app.screens import (
    AdjustScreen,
    EnrollScreen,
    LoginScreen,
    PayoutScreen,
    PlayersScreen,
    Screen,
    SellScreen,
    ShiftScreen,
    credits,
)
from pos_app.service import Done, Player, PosService, Snapshot
from pos_app.topup_screen import TopupScreen
from pos_app.widgets import ApprovalDialog, button, label, set_message
from pos_app.worker import Worker
from shared.bodies import Sale
from shared.device_config import DeviceConfig, Limits, StaffMember
from shared.errors import CafeError
from sync.status import SyncStatus

NAV = (  # (screen, label, key, roles allowed; empty = everyone)
    ("sell", "Sell", "F1", ()),
    ("players", "Players", "F2", ()),
    ("payout", "Pay out", "F3", ()),
    ("void", "Void last sale", "F4", ()),
    ("shift", "Shift", "F5", ()),
    ("report", "Day report", "F6", ("manager", "owner")),
    ("adjust", "Adjust drawer", "F7", ()),
    ("lock", "Lock", "F8", ()),
    ("topup", "Online top-up", "F9", ()),
)
NEEDS_SHIFT = ("sell", "payout", "adjust")
STATUS_REFRESH_MS = 1000


class MainWindow(QMainWindow):
    sig_state_changed = Signal()
    """Cashier, player, shift or sync status changed (the frame and screens redraw)."""

    def __init__(self, service: PosService, *, idle_clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.service = service
        self.worker = Worker(self)
        self.scanner = ScannerFilter(self, active=lambda: self.cashier is not None)
        self.idle_clock = idle_clock
        self.last_input_s = idle_clock()
        self.cashier: StaffMember | None = None
        self.player: Player | None = None
        self.snap: Snapshot | None = None
        self.opened = False
        self.dialog: ApprovalDialog | None = None
        self._refreshing = False
        self._build_ui()
        self.scanner.sig_scanned.connect(self.on_scan)

    # -- what screens read ---------------------------------------------------------------------

    @property
    def config(self) -> DeviceConfig | None:
        return self.snap.config if self.snap else None

    @property
    def limits(self) -> Limits:
        return self.config.limits if self.config else Limits()

    @property
    def currency(self) -> str:
        return self.config.currency if self.config else "USD"

    @property
    def staff(self) -> tuple[StaffMember, ...]:
        return self.config.staff if self.config else ()

    @property
    def shift(self) -> Any:
        return self.snap.shift if self.snap else None

    # -- building ------------------------------------------------------------------------------

    def _build_ui(self) -> None:
        self.setWindowTitle("cafesuite POS")
        self.setStyleSheet(theme.STYLE)
        root = QWidget()
        outer = QVBoxLayout(root)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        top = QFrame()
        top.setObjectName("topbar")
        tl = QHBoxLayout(top)
        tl.setContentsMargins(20, 10, 20, 10)
        tl.addWidget(label("cafesuite POS", "brand"))
        self.location = label("", "subtitle")
        tl.addWidget(self.location)
        tl.addStretch()
        self.who = label("", "subtitle")
        tl.addWidget(self.who)
        self.shift_label = label("", "subtitle")
        tl.addWidget(self.shift_label)
        self.sync_label = label("", "good")
        tl.addWidget(self.sync_label)
        outer.addWidget(top)
        self.banner = QFrame()
        self.banner.setObjectName("banner")
        bl = QHBoxLayout(self.banner)
        bl.setContentsMargins(20, 8, 20, 8)
        self.banner_text = label("", wrap=True)  # wraps rather than widening the window
        bl.addWidget(self.banner_text)
        self.banner.hide()
        outer.addWidget(self.banner)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        self.nav = QFrame()
        self.nav.setObjectName("nav")
        self.nav.setFixedWidth(230)
        nl = QVBoxLayout(self.nav)
        nl.setContentsMargins(10, 14, 10, 14)
        nl.setSpacing(6)
        self.nav_buttons: dict[str, QPushButton] = {}
        for name, text, key, _roles in NAV:
            b = button(f"{key}   {text}", "nav")
            b.setCheckable(name not in ("void", "lock"))
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _=False, n=name: self.go(n))
            nl.addWidget(b)
            self.nav_buttons[name] = b
            QShortcut(QKeySequence(key), self, lambda n=name: self.go(n))
        nl.addStretch()
        self.busy = label("", "caption")
        nl.addWidget(self.busy)
        body.addWidget(self.nav)
        self.stack = QStackedWidget()
        content = QWidget()
        cl = QVBoxLayout(content)
        cl.setContentsMargins(20, 12, 20, 12)
        cl.addWidget(self.stack)
        body.addWidget(content, 1)
        outer.addLayout(body, 1)
        self.setCentralWidget(root)
        self.screens: dict[str, Screen] = {}
        for name, cls in (("enroll", EnrollScreen), ("login", LoginScreen), ("sell", SellScreen), ("players", PlayersScreen),
                          ("payout", PayoutScreen), ("shift", ShiftScreen), ("adjust", AdjustScreen), ("report", ReportScreen),
                          ("topup", TopupScreen)):
            screen = cls(self)
            self.screens[name] = screen
            self.stack.addWidget(screen)
        self.enroll_screen.sig_enrolled.connect(self.open_station)
        self.login_screen.sig_logged_in.connect(self.logged_in)
        self.worker.sig_busy_changed.connect(lambda n: self.busy.setText("Working…" if n else ""))
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.escape)
        self.timer = QTimer(self)
        self.timer.setInterval(STATUS_REFRESH_MS)
        self.timer.timeout.connect(self.tick)

    @property
    def enroll_screen(self) -> EnrollScreen:
        screen = self.screens["enroll"]
        assert isinstance(screen, EnrollScreen)
        return screen

    @property
    def login_screen(self) -> LoginScreen:
        screen = self.screens["login"]
        assert isinstance(screen, LoginScreen)
        return screen

    # -- life ----------------------------------------------------------------------------------

    def start(self) -> None:
        """First screen: enrollment on a new station, else open it and show the login."""
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.scanner)
            app.installEventFilter(self)
        self.timer.start()
        if not self.service.enrolled:
            self._show("enroll")
            self._frame()
            return
        self.open_station()

    def open_station(self) -> None:
        self._show("login")
        set_message(self.login_screen.message, "Opening the station…")
        self.worker.run(self.service.open, lambda _: self._opened(), self._open_failed)

    def _opened(self) -> None:
        self.opened = True
        set_message(self.login_screen.message, "")
        self.refresh(then=self.login_screen.shown)

    def _open_failed(self, exc: CafeError) -> None:
        set_message(self.login_screen.message, exc.message, error=True)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.scanner)
            app.removeEventFilter(self)
        self.worker.shutdown()
        self.service.close()
        super().closeEvent(event)

    def refresh(self, then: Callable[[], None] | None = None) -> None:
        """Re-read config, shift and sync status off the GUI thread, then redraw."""
        if not self.opened:
            return
        self._refreshing = True

        def done(snap: Snapshot) -> None:
            self._refreshing = False
            self.snap = snap
            self._frame()
            self.sig_state_changed.emit()
            if then is not None:
                then()

        def failed(_exc: CafeError) -> None:
            self._refreshing = False
        self.worker.run(self.service.snapshot, done, failed, lane="lookup")

    def after_money_change(self, then: Callable[[], None] | None = None) -> None:
        def redraw() -> None:
            current = self.stack.currentWidget()
            if isinstance(current, ShiftScreen):
                current.refresh()
            if then is not None:
                then()
        self.refresh(then=redraw)

    def tick(self) -> None:
        if self.cashier is not None and self.idle_clock() - self.last_input_s > self.limits.screen_lock_s:
            self.lock()
        if self.opened and not self._refreshing:
            self.refresh()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress):
            self.last_input_s = self.idle_clock()
        return False

    # -- the frame -----------------------------------------------------------------------------

    def _frame(self) -> None:
        self.location.setText(f"·  {self.config.location_name}" if self.config else "")
        self.who.setText(f"{self.cashier.name} ({self.cashier.role})   " if self.cashier else "")
        shift = self.shift
        self.shift_label.setText("Shift open   " if shift else "No shift   ")
        status = self.snap.status if self.snap else SyncStatus()
        if not self.opened:
            self.sync_label.setText("")
        elif status.online and not status.quarantined:
            self.sync_label.setText("● Online" + (f" · {status.pending} to send" if status.pending else ""))
            self.sync_label.setObjectName("good")
        else:
            self.sync_label.setText("● Offline")
            self.sync_label.setObjectName("bad")
        self.sync_label.style().polish(self.sync_label)
        offline = self.opened and (not status.online or status.quarantined)
        self.banner.setVisible(offline)
        if offline and self.snap is not None:
            # banner() already counts what waits when offline; quarantined, it does not
            waiting = [f"{status.pending} waiting to send"] if status.quarantined and status.pending else []
            budget = f"offline budget left: {credits(self.snap.budget_left_units)}"
            self.banner_text.setText("  ·  ".join([status.banner(), *waiting, budget, "wallet payouts need central"]))
        logged = self.cashier is not None
        for name, _text, _key, roles in NAV:
            self.nav_buttons[name].setEnabled(logged and (not roles or (self.cashier is not None and self.cashier.role in roles)))
        self.nav.setVisible(logged)

    # -- navigation ----------------------------------------------------------------------------

    def _show(self, name: str) -> None:
        screen = self.screens[name]
        self.stack.setCurrentWidget(screen)
        for n, b in self.nav_buttons.items():
            b.setChecked(n == name)
        screen.shown()

    def go(self, name: str) -> None:
        if self.cashier is None:
            return
        roles = next(r for n, _t, _k, r in NAV if n == name)
        if roles and self.cashier.role not in roles:
            return
        if name == "lock":
            self.lock()
            return
        if name == "void":
            self.void_last_sale()
            return
        if name in NEEDS_SHIFT and self.shift is None:
            self._show("shift")
            set_message(self.screens["shift"].message, "Open a shift first: no money moves before that.", error=True)  # type: ignore[attr-defined]
            return
        self._show(name)

    def escape(self) -> None:
        if self.cashier is not None and self.stack.currentWidget() is not self.screens["sell"]:
            self.go("sell")

    def logged_in(self, member: StaffMember) -> None:
        self.cashier = member
        self.last_input_s = self.idle_clock()
        self._frame()
        self.go("sell" if self.shift is not None else "shift")

    def lock(self) -> None:
        self.cashier = None
        self.player = None
        if self.dialog is not None:
            self.dialog.reject()
        self._frame()
        self._show("login")
        set_message(self.login_screen.message, "Locked. Sign in to continue.")

    # -- players and scans -----------------------------------------------------------------------

    def set_player(self, player: Player | None) -> None:
        self.player = player
        current = self.stack.currentWidget()
        for screen in (self.screens["sell"], self.screens["players"]):
            if screen is current or isinstance(screen, SellScreen):
                screen.show_player(player)  # type: ignore[attr-defined]
        if isinstance(current, PayoutScreen):
            current.shown()
        self.sig_state_changed.emit()

    def load_player(self, player_id: str) -> None:
        self.worker.run(lambda: self.service.player(player_id), self.set_player, self._player_failed, lane="lookup")

    def load_player_by_card(self, card: str) -> None:
        self.worker.run(lambda: self.service.player_by_card(card), self.set_player, self._player_failed, lane="lookup")

    def _player_failed(self, exc: CafeError) -> None:
        current = self.stack.currentWidget()
        target = getattr(current, "message", None)
        if isinstance(target, QLabel):
            set_message(target, "No player with that card at this location." if exc.code == "unknown_player" else exc.message,
                        error=True)

    def on_scan(self, kind: str, text: str) -> None:
        """A scanner burst: a player card opens the player, a ticket goes to the payout screen."""
        if self.cashier is None:
            return
        if kind == "voucher":
            self.go("payout")
            payout = self.screens["payout"]
            if isinstance(payout, PayoutScreen) and self.stack.currentWidget() is payout:
                payout.check_ticket(text)
        else:
            if self.stack.currentWidget() is not self.screens["sell"]:
                self._show("players")
            self.load_player_by_card(text)

    # -- approvals and voids -----------------------------------------------------------------------

    def approve(self, title: str, detail: str, on_approved: Callable[[StaffMember, str], None], *, need_reason: bool) -> None:
        """Open the manager dialog; the PIN is checked off the GUI thread; ``on_approved`` runs once."""
        dialog = ApprovalDialog(title, detail, need_reason=need_reason, parent=self)
        self.dialog = dialog

        def submitted(pin: str, reason: str) -> None:
            def ok(manager: StaffMember) -> None:
                dialog.accept()
                on_approved(manager, reason)
            self.worker.run(lambda: self.service.approve(pin), ok, lambda exc: dialog.refused(exc.message))
        dialog.sig_submitted.connect(submitted)
        dialog.finished.connect(self._dialog_closed)
        dialog.open()

    def _dialog_closed(self, _result: int) -> None:
        self.dialog = None
        # Keyboard first: the cashier's next key goes to the screen, not nowhere.
        self.activateWindow()
        screen = self.stack.currentWidget()
        if screen is not None:
            screen.setFocus()

    def void_last_sale(self) -> None:
        cashier, state = self.cashier, self.shift
        if cashier is None:
            return
        try:  # the service's own rule, so the screen never offers a void the service would refuse
            last = rules.last_sale_voidable(state, dt.datetime.fromtimestamp(self.service.clock(), dt.UTC), self.limits)
        except rules.Refused as exc:
            self._say(exc.message[0].upper() + exc.message[1:] + ".", error=True)
            return
        sale = last.body
        assert isinstance(sale, Sale), "last_sale_voidable returns a sale"

        def approved(manager: StaffMember, reason: str) -> None:
            def done(result: Done) -> None:
                self._say(f"Voided the sale of {credits(sale.amount_units)}. Refund the player.")
                sell = self.screens["sell"]
                if isinstance(sell, SellScreen):
                    sell.receipt.show_receipt(result.receipt, result.printer_problem)
                self.after_money_change()
            self.worker.run(lambda: self.service.void_last_sale(cashier, manager, reason), done,
                            lambda exc: self._say(exc.message, error=True))
        self.approve("Void the last sale", f"{credits(sale.amount_units)} sold at {last.created_at[11:19]} UTC. "
                     "A manager approves with a reason.", approved, need_reason=True)

    def _say(self, text: str, *, error: bool = False) -> None:
        target = getattr(self.stack.currentWidget(), "message", None)
        if isinstance(target, QLabel):
            set_message(target, text, error=error)
