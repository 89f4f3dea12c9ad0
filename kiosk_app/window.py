"""The kiosk window: kiosk mode (no way out without a technician PIN), the screens, the
timers, and the glue from what a person does to service calls on the worker.

Kiosk mode: the window is full-screen, frameless and on top; its close event is ignored
and the usual key combinations (Alt+F4, Esc, Ctrl+Q/W, the Windows key, Alt+Tab and
Ctrl+Esc where the window system lets an application see them) are swallowed by an
application-wide event filter. Ctrl+Alt+Del (Windows secure attention) and the window
manager's own grabs can never reach an application: lock those down in the OS kiosk
profile (a dedicated user with a shell that runs only this app).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from kiosk_app import session_model as model
from kiosk_app import theme
from kiosk_app.game_views import GameView
from kiosk_app.printer import Ticket
from kiosk_app.screens import (
    AttractScreen,
    ChoiceScreen,
    EnrollScreen,
    GameScreen,
    GoodbyeScreen,
    LobbyScreen,
    LoginScreen,
    MetersScreen,
    PinScreen,
    RecallScreen,
    SessionBar,
    TechScreen,
    TopupScreen,
    WalletScreen,
    label,
    qr_pixmap,
)
from kiosk_app.service import KioskService, RecalledGame
from kiosk_app.sounds import Sounds
from kiosk_app.worker import Worker
from shared.device_config import Limits, StaffMember
from shared.games.builtin import rtp_percent
from shared.games.round import RoundResult, rtp
from shared.money import format_units
from sync.payments import SETTLED, Payment
from sync.status import SyncStatus

BLOCKED_KEYS = {Qt.Key.Key_Escape, Qt.Key.Key_Meta, Qt.Key.Key_Super_L, Qt.Key.Key_Super_R, Qt.Key.Key_F11, Qt.Key.Key_Menu}
BLOCKED_WITH_CTRL = {Qt.Key.Key_Q, Qt.Key.Key_W, Qt.Key.Key_Escape}
BLOCKED_WITH_ALT = {Qt.Key.Key_F4, Qt.Key.Key_Tab, Qt.Key.Key_Escape, Qt.Key.Key_Space}
STAFF_ROLES = ("technician", "cashier", "manager", "owner")
NO_SESSION_IDLE_S = 60  # a logged-in player who walks away without playing is logged out
GOODBYE_S = 12
TOPUP_IDLE_S = 600  # paying on a phone takes a while, but an account must not stay open all day
IDLE_LOGOUT_S = {"login": NO_SESSION_IDLE_S, "wallet": NO_SESSION_IDLE_S, "topup": TOPUP_IDLE_S}
TOPUP_FOLLOW_GAP_MS = 500  # between long polls: they pace themselves, this only stops a hot loop
TOPUP_RETRY_MS = 5000  # after a failed status read (line down): the payment goes on at central
TOPUP_MAX_POLLS = 360  # about an hour of long polls; a checkout link expires well before that
TOPUP_CREDITED_MS = 4000  # long enough to read "Paid", then back to the wallet with the new balance
INPUT_EVENTS = {QEvent.Type.MouseButtonPress, QEvent.Type.KeyPress, QEvent.Type.TouchBegin}


def blocked_key(event: QKeyEvent) -> bool:
    """True for the key combinations that would leave or hide the kiosk."""
    key, mods = Qt.Key(event.key()), event.modifiers()
    if key in BLOCKED_KEYS:
        return True
    if mods & Qt.KeyboardModifier.ControlModifier and key in BLOCKED_WITH_CTRL:
        return True
    return bool(mods & Qt.KeyboardModifier.AltModifier and key in BLOCKED_WITH_ALT)


class KioskLock(QObject):
    """Application-wide filter: swallows the escape keys and notes every touch (idle timers)."""

    def __init__(self, on_input: Callable[[], None], parent: QObject | None = None):
        super().__init__(parent)
        self.on_input = on_input
        self.swallowed = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride) and isinstance(event, QKeyEvent) and blocked_key(event):
            if kind == QEvent.Type.KeyPress:
                self.swallowed += 1
            return True
        if kind in INPUT_EVENTS:
            self.on_input()
        return False


class KioskWindow(QWidget):
    """The one window of the kiosk."""

    sig_sync_status = Signal(object)
    """A ``SyncStatus`` from the sync engine's thread, delivered on the GUI thread."""
    sig_round_shown = Signal(object)
    """A round's outcome is fully on screen (the ``RoundResult``)."""
    sig_screen = Signal(str)
    """The screen now showing, by name."""
    sig_exit = Signal()
    """A technician left kiosk mode."""
    sig_topup_changed = Signal(object)
    """The top-up on screen was started or changed status (the ``Payment``)."""

    def __init__(self, service: KioskService, *, windowed: bool = False, sounds: Sounds | None = None,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.service = service
        self.windowed = windowed
        self.sounds = sounds
        self.clock = clock
        self.worker = Worker(self)
        self.player: model.Player | None = None
        self.session: model.Session | None = None
        self.shown_escrow_units = 0
        self.bets: dict[str, int] = {}
        self.game_id: str | None = None
        self.staff: StaffMember | None = None
        self._pin_purpose = "staff"
        self._exit_allowed = False
        self._last_input_s = clock()
        self._round_pending = False
        self._screen_before_reality = "lobby"
        self._choice_mode = "cashout"
        self._config_pending = False
        self._cashing_out = False
        self.limits = Limits()
        self._status = SyncStatus(online=True)
        self.last_ticket: Ticket | None = None
        self.last_error = ""
        self.topup_payment: Payment | None = None
        self._topup_token = 0  # bumped when following stops: answers of an older poll are dropped
        self._topup_polls = 0
        self.setWindowTitle("Lucky Cafe kiosk")
        self.setStyleSheet(theme.STYLE)
        self._build_ui()
        self.lock = KioskLock(self._touched, self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.lock)
        self.sig_sync_status.connect(self._show_status)
        self.ticker = QTimer(self)
        self.ticker.setInterval(1000)
        self.ticker.timeout.connect(self.tick)
        self.ticker.start()
        self.goodbye_timer = QTimer(self)
        self.goodbye_timer.setSingleShot(True)
        self.goodbye_timer.timeout.connect(self.to_attract)

    # -- building -----------------------------------------------------------------------

    def _build_ui(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.banner = QFrame()
        self.banner.setObjectName("banner")
        banner_row = QHBoxLayout(self.banner)
        banner_row.setContentsMargins(20, 6, 20, 6)
        self.banner_text = label("", "bannerText")
        banner_row.addWidget(self.banner_text)
        self.banner.hide()
        root.addWidget(self.banner)
        self.session_bar = SessionBar()
        self.session_bar.hide()
        root.addWidget(self.session_bar)
        self.stack = QStackedWidget()
        root.addWidget(self.stack, 1)
        self.screens: dict[str, QWidget] = {}
        self.enroll_screen = self._add("enroll", EnrollScreen())
        self.attract = self._add("attract", AttractScreen(clock=self.clock))
        self.login_screen = self._add("login", LoginScreen())
        self.wallet = self._add("wallet", WalletScreen())
        self.topup = self._add("topup", TopupScreen())
        self.lobby = self._add("lobby", LobbyScreen())
        self.game = self._add("game", GameScreen(self.sounds))
        self.choice = self._add("choice", ChoiceScreen())
        self.goodbye = self._add("goodbye", GoodbyeScreen())
        self.pin = self._add("pin", PinScreen())
        self.tech = self._add("tech", TechScreen())
        self.meters_screen = self._add("meters", MetersScreen())
        self.recall_screen = self._add("recall", RecallScreen())
        self._wire()

    def _add(self, name: str, screen: Any) -> Any:
        self.screens[name] = screen
        self.stack.addWidget(screen)
        return screen

    def _wire(self) -> None:
        self.enroll_screen.sig_fetch.connect(self._fetch_fingerprint)
        self.enroll_screen.sig_enroll.connect(self._enroll)
        self.attract.sig_touched.connect(self._to_login)
        self.attract.sig_scanned.connect(self._scanned_on_attract)
        self.attract.sig_staff.connect(lambda: self._ask_pin("staff"))
        self.login_screen.sig_login.connect(self._login)
        self.login_screen.sig_ticket.connect(self._ticket_in)
        self.login_screen.sig_back.connect(self.to_attract)
        self.wallet.sig_start.connect(self._start_session)
        self.wallet.sig_logout.connect(self.to_attract)
        self.wallet.sig_topup.connect(self._open_topup)
        self.topup.sig_amount.connect(self._start_topup)
        self.topup.sig_cancel.connect(self._leave_topup)
        self.lobby.sig_game.connect(self._open_game)
        self.game.sig_play.connect(self._play)
        self.game.sig_lobby.connect(lambda: self.show_screen("lobby"))
        self.game.sig_bet_step.connect(self._step_bet)
        self.session_bar.sig_cash_out.connect(self._ask_cash_out)
        self.choice.sig_choice.connect(self._choice)
        self.goodbye.sig_done.connect(self.to_attract)
        self.pin.sig_submit.connect(self._pin_entered)
        self.pin.sig_cancel.connect(self._pin_cancelled)
        self.tech.sig_action.connect(self._tech_action)
        self.meters_screen.sig_back.connect(lambda: self.show_screen("tech"))
        self.recall_screen.sig_back.connect(lambda: self.show_screen("tech"))

    # -- kiosk mode ---------------------------------------------------------------------

    def enter_kiosk_mode(self) -> None:
        if self.windowed:
            self.resize(1366, 768)
            self.show()
            return
        self.setWindowFlags(Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint | Qt.WindowType.Window)
        self.showFullScreen()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._exit_allowed:
            event.ignore()  # only a technician's PIN ends kiosk mode
            return
        self.ticker.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.lock)
        self.worker.shutdown()
        event.accept()

    def _touched(self) -> None:
        now = self.clock()
        self._last_input_s = now
        if self.session is not None:
            self.session = self.session.touched(now)

    # -- start --------------------------------------------------------------------------

    def start(self) -> None:
        """Open the device (or ask for enrollment) and show the first screen."""
        if not self.service.enrolled:
            self.show_screen("enroll")
            return
        self.worker.run(self._open_device, self._opened, self._open_failed)

    def _open_device(self) -> tuple[Any, ...]:
        self.service.open()
        recovered = self.service.recover_session()
        status = self.service.status()
        return recovered, self.service.display_config(), status

    def _opened(self, result: tuple[Any, ...]) -> None:
        recovered, (location, self.limits), status = result
        self.attract.location.setText(location or "")
        self._fill_lobby()
        self._show_status(status)
        if recovered is not None:
            self.session = recovered
            self.shown_escrow_units = recovered.escrow_units
            self.show_screen("lobby")
            self.game.message.setText("")
        else:
            self.show_screen("attract")

    def _open_failed(self, message: str) -> None:
        self.goodbye.show_text("Kiosk out of service", "", message, "Call staff.")
        self.show_screen("goodbye")

    def _fill_lobby(self) -> None:
        games = sorted(self.service.games.values(), key=lambda g: ({"reels": 0, "keno": 1}.get(g.engine, 2), g.title))
        available = {g.id: self.service.pool_ready(g) for g in games}
        self.lobby.set_games(games, available, {g.id: rtp_percent(rtp(g)) for g in games})

    def show_screen(self, name: str) -> None:
        shown = self.screens[name]
        if name != "topup":
            self._topup_token += 1  # whatever leaves the top-up screen (cancel, idle) stops following it
        # A stack is as tall as its tallest page, hidden ones included; only the page on screen
        # counts here, so the offline banner and the session bar never push the window past 768 px.
        for screen in self.screens.values():
            policy = QSizePolicy.Policy.Preferred if screen is shown else QSizePolicy.Policy.Ignored
            screen.setSizePolicy(policy, policy)
        self.stack.setCurrentWidget(shown)
        in_session = self.session is not None and name in ("lobby", "game")
        self.session_bar.setVisible(in_session)
        if in_session:
            self._refresh_bar()
        self.sig_screen.emit(name)

    @property
    def current(self) -> str:
        widget = self.stack.currentWidget()
        return next(name for name, screen in self.screens.items() if screen is widget)

    # -- enrollment ---------------------------------------------------------------------

    def _fetch_fingerprint(self, url: str) -> None:
        self.enroll_screen.error.setText("")
        self.worker.run(lambda: self.service.fetch_fingerprint(url), self.enroll_screen.show_fingerprint,
                        self.enroll_screen.show_error)

    def _enroll(self, url: str, code: str, fingerprint: str) -> None:
        self.enroll_screen.enroll.setEnabled(False)
        self.worker.run(lambda: self.service.enroll(url, code, fingerprint), lambda _: self.start(),
                        self.enroll_screen.show_error)

    # -- sync status --------------------------------------------------------------------

    def on_sync_status(self, status: SyncStatus) -> None:
        """Given to the device as its status callback (runs on the sync thread)."""
        self.sig_sync_status.emit(status)

    def _show_status(self, status: SyncStatus) -> None:
        self._status = status
        if self.service.device is not None and not self._config_pending:
            self._config_pending = True
            self.worker.run(self.service.display_config, self._config_read)
        # Before the engine's first run its status says neither success nor error: not known to be
        # offline (the window reads it at start, possibly after the first run's own report arrived).
        untried = status.last_success_at is None and status.last_error is None
        if (status.online or untried) and not status.quarantined:
            self.banner.hide()
            return
        if status.quarantined:
            text = "This kiosk is stopped by central. Please call staff."
        elif self.session is not None:
            text = "OFFLINE · Play continues on this session's credits; cashing out works. New sessions need the connection."
        else:
            text = "OFFLINE · Starting a new session or playing a ticket needs the connection to the cafe's server."
        self.banner_text.setText(text)
        self.banner.show()

    # -- players ------------------------------------------------------------------------

    def _config_read(self, result: tuple[str | None, Limits]) -> None:
        name, self.limits = result
        self._config_pending = False
        if name:
            self.attract.location.setText(name)

    def _to_login(self) -> None:
        self.login_screen.reset()
        self.show_screen("login")

    def _scanned_on_attract(self, text: str) -> None:
        """A card or ticket scanned without touching first: handled as if scanned at the login screen."""
        self._to_login()
        self.login_screen.scan(text)

    def to_attract(self) -> None:
        self.goodbye_timer.stop()
        if self.session is not None:
            self.show_screen("lobby")
            return
        self.player = None
        self.staff = None
        self.show_screen("attract")

    def _login(self, card: str, pin: str) -> None:
        self.login_screen.set_busy(True)
        self.worker.run(lambda: self.service.login(card, pin), self._logged_in, self._login_failed)

    def _ticket_in(self, qr_text: str) -> None:
        self.worker.run(lambda: self.service.ticket_in(qr_text), self._ticket_accepted, self._login_failed)

    def _ticket_accepted(self, session: model.Session) -> None:
        self.login_screen.set_busy(False)
        self.player = None  # a ticket has no account behind it
        self._session_started((session, 0))

    def _logged_in(self, player: model.Player) -> None:
        self.player = player
        self.login_screen.set_busy(False)
        self.wallet.show_player(player)
        self.show_screen("wallet")

    def _login_failed(self, message: str) -> None:
        self.login_screen.set_busy(False)
        self.login_screen.error.setText(message)
        self.last_error = message

    def _start_session(self, amount_units: int | None) -> None:
        player = self.player
        if player is None:
            return
        self.wallet.set_busy(True)
        self.worker.run(lambda: self.service.start_session(player, amount_units), self._session_started, self._session_refused)

    def _session_started(self, result: tuple[model.Session, int]) -> None:
        self.session, _ = result
        self.shown_escrow_units = self.session.escrow_units
        self._play_sound("cashout")
        self.show_screen("lobby")

    def _session_refused(self, message: str) -> None:
        self.wallet.set_busy(False)
        self.wallet.error.setText(message)
        self.last_error = message

    # -- online top-up (issue 8) --------------------------------------------------------

    def _open_topup(self) -> None:
        if self.player is None:
            return
        self.topup_payment = None
        self.topup.reset(self.player.balance_units)
        self.show_screen("topup")
        self.worker.run(self.service.topup_providers, self._topup_offered, self._topup_refused)

    def _topup_offered(self, providers: tuple[str, ...]) -> None:
        if self.current == "topup" and self.topup_payment is None:
            self.topup.offer(providers)

    def _start_topup(self, amount_units: int) -> None:
        player, provider = self.player, self.topup.provider()
        if player is None or provider is None:
            return
        self.topup.set_busy(True)
        self.worker.run(lambda: self.service.start_topup(player, amount_units, provider), self._topup_started,
                        self._topup_refused)

    def _topup_refused(self, message: str) -> None:
        self.topup.show_error(message)
        self.last_error = message

    def _topup_started(self, payment: Payment) -> None:
        if self.current != "topup" or payment.checkout_url is None:
            return  # the player left while central answered; the payment stays there, unpaid, until it expires
        self.topup_payment = payment
        self._topup_token += 1
        self._topup_polls = 0
        self.topup.show_payment(payment.amount_units, qr_pixmap(payment.checkout_url), provider=payment.provider,
                                price=f"{format_units(payment.fiat_units, payment.currency)} {payment.currency}")
        self._topup_changed(payment)

    def _follow_topup(self, token: int) -> None:
        """The next status by long poll on the watch lane, so a slow answer never holds up a login or a checkout."""
        payment = self.topup_payment
        if token != self._topup_token or payment is None or payment.status in SETTLED or payment.status == "review":
            return
        if self._topup_polls >= TOPUP_MAX_POLLS:
            self.topup.show_error("Stopped waiting here; the cafe still credits your payment when it arrives.")
            return
        self._topup_polls += 1
        self.worker.run(lambda: self.service.topup_status(payment.id, payment.status),
                        lambda answer: self._topup_followed(token, answer),
                        lambda message: self._topup_follow_failed(token, message), lane="watch")

    def _topup_followed(self, token: int, payment: Payment) -> None:
        if token != self._topup_token:
            return
        changed = self.topup_payment is None or payment.status != self.topup_payment.status
        self.topup_payment = payment
        if changed:
            self._topup_changed(payment)
        else:
            self.topup.error.setText("")  # a poll that simply timed out: the line works again
            QTimer.singleShot(TOPUP_FOLLOW_GAP_MS, lambda: self._follow_topup(token))

    def _topup_follow_failed(self, token: int, message: str) -> None:
        if token != self._topup_token:
            return
        self.topup.error.setText(message)
        QTimer.singleShot(TOPUP_RETRY_MS, lambda: self._follow_topup(token))

    def _topup_changed(self, payment: Payment) -> None:
        self.topup.error.setText("")
        self.topup.show_status(payment.status, payment.amount_units, payment.wallet_units)
        if self.player is not None and self.player.player_id == payment.player_id:
            # Central's answer carries the wallet balance: the wallet screen shows it without another call.
            self.player = replace(self.player, balance_units=payment.wallet_units)
            self.wallet.show_player(self.player)
        self.sig_topup_changed.emit(payment)
        token = self._topup_token
        if payment.status == "credited":
            QTimer.singleShot(TOPUP_CREDITED_MS, lambda: self._topup_credited_shown(token))
        else:
            QTimer.singleShot(TOPUP_FOLLOW_GAP_MS, lambda: self._follow_topup(token))

    def _topup_credited_shown(self, token: int) -> None:
        if token == self._topup_token and self.current == "topup":
            self._leave_topup()

    def _leave_topup(self) -> None:
        if self.player is None:
            self.to_attract()
            return
        self._last_input_s = self.clock()  # paying on the phone touched nothing here: the wallet's idle clock starts now
        self.wallet.show_player(self.player)
        self.show_screen("wallet")

    # -- playing ------------------------------------------------------------------------

    def _open_game(self, game_id: str) -> None:
        definition = self.service.games[game_id]
        self.game_id = game_id
        view = self.game.open_game(definition, rtp_percent(rtp(definition)))
        view.sig_shown.connect(self._round_shown)
        view.sig_picks_changed.connect(self._update_play_button)
        escrow = self.session.escrow_units if self.session else 0
        self.bets[game_id] = model.initial_bet(definition, escrow, self.bets.get(game_id))
        self.game.set_bet(self.bets[game_id])
        self._update_play_button()
        self.show_screen("game")

    @property
    def view(self) -> GameView | None:
        return self.game.view

    def _step_bet(self, direction: int) -> None:
        if self.game_id is None or self.session is None:
            return
        definition = self.service.games[self.game_id]
        self.bets[self.game_id] = model.step_bet(definition, self.bets[self.game_id], direction, self.session.escrow_units)
        self.game.set_bet(self.bets[self.game_id])
        self._play_sound("click")
        self._update_play_button()

    def _update_play_button(self) -> None:
        if self.game_id is None or self.session is None or self.view is None:
            return
        definition = self.service.games[self.game_id]
        reason = model.can_play(definition, self.bets[self.game_id], self.session.escrow_units) or self.view.ready_reason()
        busy = self._round_pending or self.view.animating
        self.game.play.setEnabled(reason is None and not busy)
        if reason and not busy:
            self.game.message.setText(reason)

    def _play(self) -> None:
        session, game_id, view = self.session, self.game_id, self.view
        if session is None or game_id is None or view is None or self._round_pending or view.animating:
            return
        bet = self.bets[game_id]
        picks = view.picks()
        self._round_pending = True
        self.game.set_busy(True)
        self.shown_escrow_units = session.escrow_units - bet
        self._refresh_bar()
        self.game.message.setText("Good luck!")
        self.worker.run(lambda: self.service.play(session, game_id, bet, picks=picks), self._round_done, self._round_failed)

    def _round_done(self, result: tuple[model.Session, RoundResult]) -> None:
        self.session, outcome = result  # journaled by now: safe to show
        if self.view is not None:
            self.view.show_result(outcome)

    def _round_failed(self, message: str) -> None:
        self._round_pending = False
        self.game.set_busy(False)
        if self.session is not None:
            self.shown_escrow_units = self.session.escrow_units
        self._refresh_bar()
        self.game.message.setText(message)
        self.last_error = message
        self._update_play_button()

    def _round_shown(self) -> None:
        view = self.view
        if view is None or view.result is None or self.session is None:
            return
        self._round_pending = False
        self.shown_escrow_units = self.session.escrow_units
        self.game.set_busy(False)
        self._refresh_bar()
        self.game.show_outcome(view.result)
        if view.result.win_units:
            self._play_sound("bigwin" if view.result.win_units >= 20 * view.result.bet_units else "win")
        self._update_play_button()
        self.sig_round_shown.emit(view.result)

    def _refresh_bar(self) -> None:
        if self.session is not None:
            self.session_bar.show_session(self.session, shown_escrow_units=self.shown_escrow_units, now_s=self.clock())

    # -- timers: clock, reality check, idle ---------------------------------------------

    def tick(self) -> None:
        """Once a second: the session clock, the reality check, the idle timeouts."""
        now = self.clock()
        busy = self._round_pending or self._cashing_out or (self.view is not None and self.view.animating)
        if self.session is not None:
            self._refresh_bar()
            if busy or self.current not in ("lobby", "game", "choice"):
                return
            if model.idle_cashout_due(self.session, now, self.limits.kiosk_idle_cashout_s):
                self._cash_out(self.session.idle_cash_out(), timed_out=True)
            elif self.current != "choice" and model.reality_check_due(self.session, now, self.limits.reality_check_minutes):
                self._reality_check()
        elif self.current in IDLE_LOGOUT_S and now - self._last_input_s >= IDLE_LOGOUT_S[self.current]:
            self.to_attract()

    def _reality_check(self) -> None:
        assert self.session is not None
        s = self.session
        self._screen_before_reality = self.current
        net = s.won_units - s.wagered_units
        self._choice_mode = "reality"
        self.choice.ask(
            "Time for a break?",
            f"You have been playing for {model.clock_text(s.elapsed_s(self.clock()))}.\n"
            f"Wagered {model.credits(s.wagered_units)} · Won {model.credits(s.won_units)} · "
            f"{'Up' if net >= 0 else 'Down'} {model.credits(abs(net))} credits",
            "", [("continue", "Keep playing", "primary"), ("cashout", "Cash out", "danger")])
        self.show_screen("choice")

    # -- cash out -----------------------------------------------------------------------

    def _ask_cash_out(self) -> None:
        if self.session is None or self._round_pending or (self.view is not None and self.view.animating):
            return
        self._screen_before_reality = self.current
        self._choice_mode = "cashout"
        question = "Your credits go onto a new ticket." if self.session.from_ticket else "Where should your credits go?"
        self.choice.ask("Cash out", question, model.credits(self.session.escrow_units), self.session.cash_out_choices())
        self.show_screen("choice")

    def _choice(self, key: str) -> None:
        if self.session is None:
            return
        if key == "continue":
            self.session = self.session.reality_checked(self.clock()) if self._choice_mode == "reality" else self.session
            self.show_screen(self._screen_before_reality if self._screen_before_reality in ("lobby", "game") else "lobby")
        elif key == "cashout":
            self.session = self.session.reality_checked(self.clock())
            self._ask_cash_out()
        elif key == "ticket" or (key == "wallet" and not self.session.from_ticket):
            self._cash_out(key)

    def _cash_out(self, where: str, *, timed_out: bool = False) -> None:
        session = self.session
        if session is None or self._cashing_out:
            return
        self._cashing_out = True
        self.choice.set_busy(True)
        if session.escrow_units == 0:
            self._session_over(None, "Thanks for playing!", "", "Your session is closed.")
            return
        if where == "wallet":
            self.worker.run(lambda: self.service.cash_out_to_wallet(session),
                            lambda _: self._session_over(None, "Credits returned to your account" if not timed_out
                                                         else "Session timed out", model.credits(session.escrow_units),
                                                         "Your credits are back in your account. Thanks for playing!"),
                            self._cash_out_failed)
        else:
            self.worker.run(lambda: self.service.cash_out_to_ticket(session), self._ticket_printed, self._cash_out_failed)

    def _ticket_printed(self, result: tuple[model.Session, Ticket]) -> None:
        _, ticket = result
        self.last_ticket = ticket
        self._session_over(ticket, "Take your ticket", model.credits(ticket.amount_units),
                           f"Validation number {ticket.validation_number}\nRedeem it at the counter within {ticket.expiry_days} days.")

    def _cash_out_failed(self, message: str) -> None:
        self._cashing_out = False
        self.last_error = message
        if "ticket is recorded" in message:  # journaled but the printer failed: the session is over
            self._session_over(None, "Ticket recorded", "", "", message)
            return
        self.choice.set_busy(False)
        self.choice.error.setText(message)

    def _session_over(self, ticket: Ticket | None, title: str, value: str, body: str, error: str = "") -> None:
        self._cashing_out = False
        self.session = None
        self.player = None
        self.game_id = None
        self._play_sound("cashout")
        self.goodbye.show_text(title, value, body, error)
        self.show_screen("goodbye")
        self._show_status(self._status)
        self.goodbye_timer.start(GOODBYE_S * 1000)

    # -- staff --------------------------------------------------------------------------

    def _ask_pin(self, purpose: str) -> None:
        self._pin_purpose = purpose
        self.pin.reset("Technician, cashier or manager PIN")
        self.show_screen("pin")

    def _pin_entered(self, pin: str) -> None:
        self.worker.run(lambda: self.service.staff_for_pin(pin, STAFF_ROLES), self._staff_in,
                        lambda m: self.pin.error.setText(m))

    def _pin_cancelled(self) -> None:
        self.to_attract()

    def _staff_in(self, member: StaffMember) -> None:
        self.staff = member
        info = "" if member.role == "technician" else "Only a technician can leave kiosk mode."
        self.tech.show_staff(member.name, member.role, info)
        self.show_screen("tech")

    def _tech_action(self, action: str) -> None:
        if action == "back":
            self.staff = None
            self.to_attract()
        elif action == "meters":
            self.worker.run(self.service.meters, self._show_meters)
        elif action == "recall":
            self.worker.run(self.service.recall, self._show_recall)
        elif action == "exit" and self.staff is not None and self.staff.role == "technician":
            self._exit_allowed = True
            self.sig_exit.emit()
            self.close()

    def _show_meters(self, meters: model.Meters) -> None:
        self.meters_screen.show_meters(meters)
        self.show_screen("meters")

    def _show_recall(self, rounds: list[RecalledGame]) -> None:
        self.recall_screen.show_rounds(rounds)
        self.show_screen("recall")

    def _play_sound(self, name: str) -> None:
        if self.sounds is not None:
            self.sounds.play(name)
