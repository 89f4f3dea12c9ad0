"""The windows of ``cafe demo`` and its scripted day.

``open_stations`` opens the real POS window and the real kiosk window on the demo's
enrolled devices, in one ``QApplication``; the interactive demo hands them to a person,
``play_day`` works them offscreen the way a cashier and two players would.

Every money step of the day goes through the screens' own buttons, so through
``PosService`` and ``KioskService``: the journal first, then the sync engine pushes to the
central the demo started. The script only reads the windows to know when a step is done
and saves each screen a person sees. The outage is real as well: central is SIGKILLed, a
sale is made, central starts again, the POS's sync engine delivers the sale by itself and
central is asked how many copies of it it holds.

Import this module only after ``QT_QPA_PLATFORM`` is settled: it imports Qt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QCoreApplication, QEvent, QMessageLogContext, QPoint, Qt, QtMsgType, qInstallMessageHandler
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from cafe_cli import demo_business as biz
from cafe_cli.demo_setup import DemoWorld, RegisteredPlayer, Say, restart_central
from kiosk_app.game_views import KenoView
from kiosk_app.printer import Ticket, VoucherPrinter
from kiosk_app.service import KioskService
from kiosk_app.sounds import Sounds
from kiosk_app.window import KioskWindow
from kiosk_app.worker import pump_events
from pos_app.receipts import ReceiptPrinter
from pos_app.report_screen import ReportScreen
from pos_app.screens import AdjustScreen, PayoutScreen, PlayersScreen, Screen, SellScreen, ShiftScreen
from pos_app.service import PosService
from pos_app.window import MainWindow
from shared.errors import CafeError
from shared.money import CREDITS, format_units
from shared.reports import DailyReport
from sync.backoff import Backoff

SCREEN_SIZE = (1366, 768)
STEP_TIMEOUT_S = 30.0
SYNC_TIMEOUT_S = 60.0
POLL_S = 0.01
ANIMATION_SCALE = 0.05  # rounds still animate, quickly: a screenshot shows the finished round either way
ATTRACT_TOUCH = QPoint(300, 300)
ESCPOS_PROFILE_NOTE = "The media.width.pixel field of the printer profile is not set."
QT_OFFSCREEN_NOTES = frozenset({"This plugin does not support propagateSizeHints()"})
S = TypeVar("S", bound=Screen)


class DemoStalled(CafeError):
    """A step of the scripted day did not finish: said in one line, with where to look."""

    code = "demo_stalled"


def engine_kwargs() -> dict[str, Any]:
    # The demo's outage lasts seconds: retry soon after central is back (the default back-off grows to a minute).
    return {"interval_s": 1.0, "backoff": Backoff(base_s=0.2, cap_s=2.0)}


# -- keeping the output readable -------------------------------------------------------------------


class _WithoutNote(io.TextIOBase):
    """stdout minus python-escpos's note about its printer profile, which it prints for every centred
    QR code (each receipt and ticket) and which would drown the day's progress lines."""

    def __init__(self, inner: Any):
        self.inner = inner
        self._dropping = False

    def write(self, text: str) -> int:
        if text.startswith(ESCPOS_PROFILE_NOTE) or (self._dropping and text == "\n"):
            self._dropping = text != "\n"  # print() writes the note, then its line end
            return len(text)
        self._dropping = False
        return int(self.inner.write(text))

    def flush(self) -> None:
        self.inner.flush()


def _qt_message(_kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
    if message not in QT_OFFSCREEN_NOTES:  # the offscreen platform's note on each resize; everything else is shown
        print(message, file=sys.stderr)


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """While the day runs offscreen: the known library notes are dropped, nothing else. (APScheduler warns
    when a sync run is still going at the next 1 s tick, as one is while central restarts: expected here.)"""
    previous = qInstallMessageHandler(_qt_message)
    scheduler_log = logging.getLogger("apscheduler")
    level = scheduler_log.level
    scheduler_log.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(_WithoutNote(sys.stdout)):
            yield
    finally:
        scheduler_log.setLevel(level)
        qInstallMessageHandler(previous)


# -- stopping in the middle ------------------------------------------------------------------------

_stop_signals: list[int] = []


def _request_stop(signum: int, _frame: object) -> None:
    _stop_signals.append(signum)


@contextlib.contextmanager
def stop_between_steps() -> Iterator[None]:
    """Ctrl+C or SIGTERM while Qt runs: noted, and acted on by ``Driver.wait`` between two steps.

    An exception raised by a signal handler lands in whatever Python code runs at that moment,
    often a Qt slot, where PySide prints it and carries on (or, for SystemExit, ends the
    process without the finally blocks that stop central)."""
    previous = {signum: signal.signal(signum, _request_stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _stop_signals.clear()


def _stop_if_asked() -> None:
    if _stop_signals:
        signum = _stop_signals[0]
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)


# -- the windows ------------------------------------------------------------------------------------


@dataclass
class Stations:
    app: QApplication
    pos: MainWindow
    kiosk: KioskWindow

    def close(self) -> None:
        """Close both windows and their devices (sync stops after its last push)."""
        self.kiosk._exit_allowed = True  # kiosk mode lets only a technician out; the demo itself is ending
        self.kiosk.close()
        self.kiosk.service.close()
        self.pos.close()  # its close event closes the POS service
        settle()


def open_stations(world: DemoWorld, *, sounds: bool) -> Stations:
    """The POS window and the kiosk window (windowed, not full-screen) on the demo's devices."""
    instance = QApplication.instance()
    app = instance if isinstance(instance, QApplication) else QApplication(sys.argv[:1])
    pos_service = PosService(world.pos_dir, printer=ReceiptPrinter("file:", world.pos_dir), engine_kwargs=engine_kwargs())
    pos = MainWindow(pos_service)
    pos.setWindowTitle(f"cafesuite POS · {biz.LOCATION_NAME} (demo)")
    pos.resize(*SCREEN_SIZE)
    pos.show()
    pos.start()
    kiosk_ref: list[KioskWindow] = []
    kiosk_service = KioskService(world.kiosk_dir, printer=VoucherPrinter("file:", world.kiosk_dir), engine_kwargs=engine_kwargs(),
                                 on_status=lambda s: kiosk_ref[0].on_sync_status(s) if kiosk_ref else None)
    kiosk = KioskWindow(kiosk_service, windowed=True, sounds=Sounds(world.kiosk_dir / "sounds") if sounds else None)
    kiosk_ref.append(kiosk)
    kiosk.enter_kiosk_mode()
    kiosk.start()
    return Stations(app, pos, kiosk)


# -- driving them -----------------------------------------------------------------------------------


class Driver:
    """Waits for what the windows show, and saves screenshots in order."""

    def __init__(self, stations: Stations, shots_dir: Path, say: Say, log_path: Path):
        self.pos = stations.pos
        self.kiosk = stations.kiosk
        self.shots_dir = shots_dir
        self.say = say
        self.log_path = log_path
        self.screenshots: list[Path] = []
        self.rounds_shown = 0
        self.kiosk.sig_round_shown.connect(self._round_shown)

    def _round_shown(self, _result: object) -> None:
        self.rounds_shown += 1

    def wait(self, condition: Callable[[], object], what: str | Callable[[], str], timeout_s: float = STEP_TIMEOUT_S) -> None:
        """Run Qt until ``condition`` holds; ``what`` names the step (a callable: read when it stalls, from the screen)."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            _stop_if_asked()
            if time.monotonic() > deadline:
                step = what() if callable(what) else what
                raise DemoStalled(f"the scripted day stopped: {step} did not happen within {timeout_s:.0f} s "
                                  f"(central's log: {self.log_path})")
            settle()
            time.sleep(POLL_S)

    def rounds_reach(self, count: int, what: str) -> None:
        """Wait until the kiosk has shown ``count`` rounds in all (each one journaled before it is shown)."""
        self.wait(lambda: self.rounds_shown >= count, what)

    def pos_idle(self) -> None:
        self.wait(lambda: self.pos.worker.busy == 0, "the POS finishing its work")

    def synced(self, label: str, status: Callable[[], Any]) -> None:
        """Wait until a device's outbox is empty: everything it journaled is at central."""
        self.wait(lambda: (s := status()).online and s.pending == 0, f"the {label}'s outbox emptying", SYNC_TIMEOUT_S)

    def shoot(self, window: QWidget, name: str) -> Path:
        window.resize(*SCREEN_SIZE)
        for _ in range(3):
            settle()
        path = self.shots_dir / f"{len(self.screenshots) + 1:02d}-{name}.png"
        if not window.grab().save(str(path), "PNG"):
            raise CafeError(f"could not save the screenshot {path}")
        self.screenshots.append(path)
        return path


def settle() -> None:
    """Deliver what is pending, then the deferred deletions (as ``QTest.qWait`` does): without an
    event loop running, widgets a screen replaced with ``deleteLater`` would stay on it."""
    pump_events()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _screen(window: MainWindow, name: str, cls: type[S]) -> S:
    screen = window.screens[name]
    assert isinstance(screen, cls), f"the POS's {name} screen is a {type(screen).__name__}"
    return screen


# -- the counter ----------------------------------------------------------------------------------------


def pos_sign_in(d: Driver, world: DemoWorld, member: biz.Staff) -> None:
    pos, screen = d.pos, d.pos.login_screen
    staff_id = world.staff_ids[member.name]
    d.wait(lambda: pos.stack.currentWidget() is screen and staff_id in screen.staff_buttons,
           f"{member.name} on the POS sign-in screen")
    screen.staff_buttons[staff_id].click()
    screen.pin.setText(member.pin)
    screen.go.click()
    d.wait(lambda: (pos.cashier is not None and pos.cashier.id == staff_id) or (screen.go.isEnabled() and bool(screen.message.text())),
           f"{member.name} signing in")
    if pos.cashier is None:
        raise DemoStalled(f"the POS refused {member.name}'s PIN: {screen.message.text()}")


def approve_if_asked(d: Driver, reason: str = "") -> None:
    """A manager types their PIN (and a reason where one is asked) when the POS wants an approval."""
    d.pos_idle()
    dialog = d.pos.dialog
    if dialog is not None:
        if dialog.need_reason:
            dialog.reason.setText(reason)
        dialog.pin.setText(biz.staff_of("manager").pin)
        dialog.submit()
        d.wait(lambda: d.pos.dialog is None, lambda: f"the manager's approval ({dialog.message.text()})")


def cover_payout(d: Driver, payout_units: int) -> None:
    """A big win can be more than the drawer holds: the manager first puts cash from the safe into it."""
    pos = d.pos
    assert pos.shift is not None
    top_up = biz.safe_top_up(payout_units, pos.shift.expected_cash_units)
    if not top_up:
        return
    pos.go("adjust")
    adjust = _screen(pos, "adjust", AdjustScreen)
    adjust.amount.setText(format_units(top_up, biz.CURRENCY))
    adjust.apply.click()
    approve_if_asked(d, reason="cash from the safe for a big payout")
    d.wait(lambda: pos.worker.busy == 0 and adjust.message.text() == "Adjustment recorded.", "the drawer top-up")
    d.say(f"  the drawer holds less than the payout: the manager brought {format_units(top_up, biz.CURRENCY)} "
          f"{biz.CURRENCY} from the safe")


def open_shift(d: Driver) -> None:
    pos = d.pos
    shift = _screen(pos, "shift", ShiftScreen)
    d.wait(lambda: pos.stack.currentWidget() is shift, "the shift screen")
    shift.counter.set_counts(dict(biz.SHIFT_FLOAT_COUNTS))
    d.shoot(pos, "pos-shift-open")
    shift.action.click()
    d.wait(lambda: pos.shift is not None and pos.stack.currentWidget() is pos.screens["sell"], "the shift opening")
    d.say(f"shift opened by {pos.cashier.name if pos.cashier else '?'} with a counted float of "
          f"{format_units(pos.shift.float_units, biz.CURRENCY)} {biz.CURRENCY}")


def choose_player(d: Driver, player: RegisteredPlayer) -> None:
    """The cashier scans the player's card on the sell screen (a card reader types the number and Enter)."""
    pos = d.pos
    pos.go("sell")
    sell = _screen(pos, "sell", SellScreen)
    pos.set_player(None)
    sell.card.setText(player.card_number)
    sell.load_card()
    d.wait(lambda: pos.player is not None and pos.player.player_id == player.player_id, f"{player.player.full_name}'s card")
    d.pos_idle()


def sell(d: Driver, sale: biz.CounterSale, player: RegisteredPlayer) -> str:
    """One sale through the sell screen; the journal entry's id."""
    pos = d.pos
    sell_screen = _screen(pos, "sell", SellScreen)
    if pos.player is None or pos.player.player_id != player.player_id:
        choose_player(d, player)
    sell_screen.keypad.set_amount(sale.amount_units)
    if sale.card_ref:
        sell_screen.card_tender.setChecked(True)
        sell_screen.terminal_ref.setText(sale.card_ref)
    else:
        sell_screen.cash.setChecked(True)
        sell_screen.tendered.setText(format_units(sale.tendered_units, biz.CURRENCY) if sale.tendered_units else "")
    assert pos.shift is not None
    sold_before = pos.shift.sales_count
    sell_screen.done_button.click()
    d.wait(lambda: sell_screen.done_button.isEnabled() and pos.worker.busy == 0, "a sale")
    if not sell_screen.message.text().startswith("Done"):
        raise DemoStalled(f"the POS refused a sale: {sell_screen.message.text()}")
    d.wait(lambda: pos.shift is not None and pos.shift.sales_count > sold_before, "the sale on the shift")
    assert pos.shift.last_sale is not None
    return str(pos.shift.last_sale.id)


def counter_sales(d: Driver, world: DemoWorld) -> None:
    for number, sale in enumerate(biz.COUNTER_SALES, 1):
        player = world.players[sale.player]
        sell(d, sale, player)
        how = f"card {sale.card_ref}" if sale.card_ref else (
            f"cash {format_units(sale.tendered_units, biz.CURRENCY)}" if sale.tendered_units else "exact cash")
        d.say(f"  sale {number}: {format_units(sale.amount_units, CREDITS)} credits to {player.player.full_name} ({how})")
        if number == 1:
            d.shoot(d.pos, "pos-sell")
    d.synced("POS", d.pos.service.status)


def players_screen(d: Driver, player: RegisteredPlayer) -> None:
    pos = d.pos
    pos.go("players")
    players = _screen(pos, "players", PlayersScreen)
    players.query.setText(player.player.full_name.split()[-1])
    players.go.click()
    d.wait(lambda: players.table.rowCount() >= 1 and pos.player is not None and pos.player.player_id == player.player_id,
           f"finding {player.player.full_name} on the players screen")
    d.pos_idle()
    d.shoot(pos, "pos-players")
    balance = pos.player.balance_units if pos.player else 0
    d.say(f"players screen: {player.player.full_name}, wallet {format_units(balance, CREDITS)} credits")


def pay_ticket(d: Driver, ticket: Ticket) -> None:
    """The player hands the ticket over; the cashier scans it and pays."""
    pos = d.pos
    cover_payout(d, ticket.amount_units)
    pos.on_scan("voucher", ticket.qr_text)  # what the scanner filter emits for a ticket's QR code
    payout = _screen(pos, "payout", PayoutScreen)
    d.wait(lambda: payout.pay_ticket.isEnabled() or (pos.worker.busy == 0 and payout.check is None
           and not payout.message.text().startswith("Checking")), "checking the ticket")
    if not payout.pay_ticket.isEnabled():
        raise DemoStalled(f"the POS refused the ticket: {payout.message.text()}")
    d.shoot(pos, "pos-payout-ticket")
    payout.pay_ticket.click()
    approve_if_asked(d)
    d.wait(lambda: pos.worker.busy == 0 and not payout.message.text().startswith("Asking"), "paying the ticket")
    if not payout.message.text().startswith("Paid"):
        raise DemoStalled(f"the POS did not pay the ticket: {payout.message.text()}")
    d.say(f"the counter paid ticket {ticket.validation_number}: {format_units(ticket.amount_units, CREDITS)} in cash")


def pay_from_wallet(d: Driver, player: RegisteredPlayer, amount_units: int) -> None:
    pos = d.pos
    cover_payout(d, amount_units)
    choose_player(d, player)
    pos.go("payout")
    payout = _screen(pos, "payout", PayoutScreen)
    payout.w_amount.setText(format_units(amount_units, CREDITS))
    payout.pay_wallet.click()
    approve_if_asked(d)
    d.wait(lambda: pos.worker.busy == 0 and not payout.message.text().startswith("Asking"), "the wallet payout")
    if not payout.message.text().startswith("Paid"):
        raise DemoStalled(f"the POS did not pay out the wallet: {payout.message.text()}")
    d.say(f"wallet payout: {format_units(amount_units, CREDITS)} credits to {player.player.full_name} in cash (central asked first)")


@dataclass(frozen=True)
class OfflineSale:
    entry_id: str
    amount_units: int
    copies_at_central: int
    copies_after_second_push: int
    wallet_units: int  # the buyer's wallet at central afterwards: the sale was their only one, posted once

    @property
    def once(self) -> bool:
        return self.copies_at_central == self.copies_after_second_push == 1 and self.wallet_units == self.amount_units


def offline_sale(d: Driver, world: DemoWorld) -> OfflineSale:
    pos = d.pos
    sale = biz.OFFLINE_SALE
    player = world.players[sale.player]
    choose_player(d, player)
    world.central.kill()
    d.say("central is down (its process was killed); the counter keeps selling within its offline budget")
    entry_id = sell(d, sale, player)
    d.wait(lambda: pos.banner.isVisible(), "the POS's offline banner")
    d.shoot(pos, "pos-offline-sale")
    d.say(f"  offline sale: {format_units(sale.amount_units, CREDITS)} credits to {player.player.full_name}, journaled "
          f"as {entry_id}; {pos.snap.status.pending if pos.snap else '?'} entr(ies) waiting to send")
    restart_central(world)
    d.say("central is back; the POS's sync engine delivers what waited, by itself")
    d.synced("POS", pos.service.status)
    copies, _ = world.at_central(entry_id, player.player_id)
    assert pos.service.device is not None
    pos.service.device.engine.push_pending()  # a second push of the same outbox must change nothing
    again, wallet = world.at_central(entry_id, player.player_id)
    d.say(f"  the offline sale is at central {copies} time(s), still {again} after pushing again; "
          f"{player.player.full_name}'s wallet there: {format_units(wallet, CREDITS)} credits")
    return OfflineSale(entry_id, sale.amount_units, copies, again, wallet)


def close_shift(d: Driver) -> None:
    pos = d.pos
    pos.go("shift")
    shift = _screen(pos, "shift", ShiftScreen)
    d.wait(lambda: pos.stack.currentWidget() is shift and pos.worker.busy == 0, "the shift screen")
    assert pos.shift is not None
    expected = pos.shift.expected_cash_units
    shift.counter.set_counts(biz.count_for(expected))  # the cashier counts the drawer: exactly what should be there
    d.shoot(pos, "pos-shift-close")
    shift.action.click()
    approve_if_asked(d)
    d.wait(lambda: pos.shift is None and pos.worker.busy == 0, "the shift closing")
    d.shoot(pos, "pos-shift-report")
    d.say(f"shift closed: counted {format_units(expected, biz.CURRENCY)} {biz.CURRENCY}, exactly the expected cash")


def owner_report(d: Driver, world: DemoWorld, day: dt.date) -> DailyReport:
    pos = d.pos
    pos.go("lock")
    pos_sign_in(d, world, biz.staff_of("owner"))
    report = _screen(pos, "report", ReportScreen)
    report.day.setText(day.isoformat())  # the location's day is cut in UTC (its report settings say so)
    pos.go("report")
    d.wait(lambda: report.report is not None and pos.worker.busy == 0, "the owner's day report")
    assert report.report is not None
    if report.source != "central":
        raise DemoStalled(f"the owner's report came from {report.source}, not central")
    d.shoot(pos, "pos-report")
    return report.report


# -- the kiosk --------------------------------------------------------------------------------------


def kiosk_visit(d: Driver, visit: biz.KioskVisit, player: RegisteredPlayer, *, shots: bool) -> Ticket | None:
    """Log in, bring the whole wallet to the kiosk, play the rounds, cash out; the ticket if one printed."""
    k = d.kiosk
    name = player.player.full_name
    d.wait(lambda: k.current == "attract", "the kiosk's attract screen")
    if shots:
        d.shoot(k, "kiosk-attract")
    QTest.mouseClick(k.attract, Qt.MouseButton.LeftButton, pos=ATTRACT_TOUCH)
    d.wait(lambda: k.current == "login", "the kiosk's login screen")
    k.login_screen.card.setText(player.card_number)
    k.login_screen.pin.setText(player.player.pin)
    if shots:
        d.shoot(k, "kiosk-login")
    k.login_screen.ok.click()
    d.wait(lambda: k.current == "wallet" or (k.worker.busy == 0 and bool(k.login_screen.error.text())), f"{name} logging in")
    if k.current != "wallet":
        raise DemoStalled(f"the kiosk refused {name}: {k.login_screen.error.text()}")
    if shots:
        d.shoot(k, "kiosk-wallet")
    k.wallet.all.click()
    d.wait(lambda: k.current == "lobby" or (k.worker.busy == 0 and bool(k.wallet.error.text())), f"{name}'s session starting")
    if k.session is None:
        raise DemoStalled(f"the kiosk did not start {name}'s session: {k.wallet.error.text()}")
    d.say(f"{name} logged in at the kiosk and brought {format_units(k.session.escrow_units, CREDITS)} credits to it")
    if shots:
        d.shoot(k, "kiosk-lobby")
    for game_id, rounds in visit.rounds:
        play_game(d, game_id, rounds, shots=shots)
    return cash_out(d, visit.cash_out, name, shots=shots)


def play_game(d: Driver, game_id: str, rounds: int, *, shots: bool) -> None:
    k = d.kiosk
    k.lobby.tiles[game_id].click()
    d.wait(lambda: k.current == "game" and k.view is not None, f"{game_id} opening")
    assert k.view is not None
    k.view.animation_scale = ANIMATION_SCALE
    if isinstance(k.view, KenoView):
        k.game.quick.click()  # the player lets the kiosk mark five numbers
    before = k.session.escrow_units if k.session else 0
    for number in range(rounds):
        d.wait(lambda: k.game.play.isEnabled(), lambda: f"{game_id}'s play button ({k.game.message.text()})")
        target = d.rounds_shown + 1
        k.game.play.click()
        d.rounds_reach(target, f"round {number + 1} of {game_id}")
    after = k.session.escrow_units if k.session else 0
    d.say(f"  {rounds} rounds of {game_id}: credits {format_units(before, CREDITS)} → {format_units(after, CREDITS)}")
    if shots:
        d.shoot(k, f"kiosk-game-{game_id}")
    k.game.lobby.click()
    d.wait(lambda: k.current == "lobby", "the lobby")


def cash_out(d: Driver, where: str, name: str, *, shots: bool) -> Ticket | None:
    k = d.kiosk
    k.session_bar.cash_out.click()
    d.wait(lambda: k.current == "choice", "the cash-out choice")
    if shots:
        d.shoot(k, "kiosk-cash-out")
    previous = k.last_ticket
    k.choice.buttons[where].click()
    d.wait(lambda: k.current == "goodbye", f"{name} cashing out")
    ticket = k.last_ticket if where == "ticket" and k.last_ticket is not previous else None
    if where == "ticket" and ticket is None:
        raise DemoStalled(f"the kiosk printed no ticket: {k.last_error}")
    d.shoot(k, "kiosk-ticket" if ticket else "kiosk-back-to-wallet")
    if ticket:
        d.say(f"{name} cashed out a ticket of {format_units(ticket.amount_units, CREDITS)} credits "
              f"(validation {ticket.validation_number})")
    else:
        d.say(f"{name} cashed out back to the wallet: {k.goodbye.value.text()} credits")
    k.goodbye.done.click()
    d.wait(lambda: k.current == "attract", "the kiosk's attract screen")
    return ticket


# -- the day ----------------------------------------------------------------------------------------


@dataclass
class DayResult:
    report: DailyReport  # the owner's day, as central computed it
    verify_ok: bool
    verify_summary: str
    offline: OfflineSale
    rounds_shown: int
    tickets: list[Ticket] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)


def play_day(world: DemoWorld, stations: Stations, say: Say) -> DayResult:
    """The scripted day, start to end; central's verify at the end. Raises DemoStalled if a step hangs."""
    d = Driver(stations, world.screenshots_dir, say, world.central_dir / "central.log")
    pos, kiosk = stations.pos, stations.kiosk
    day = dt.datetime.now(dt.UTC).date()
    d.wait(lambda: pos.opened and pos.config is not None, "the POS opening and pulling its configuration")
    d.wait(lambda: kiosk.current == "attract" and kiosk.service.config() is not None, "the kiosk starting")
    d.shoot(pos, "pos-sign-in")
    cashier = biz.staff_of("cashier")
    pos_sign_in(d, world, cashier)
    say(f"{cashier.name} signed in at the POS")
    open_shift(d)
    counter_sales(d, world)
    tickets = []
    for number, visit in enumerate(biz.KIOSK_VISITS):
        ticket = kiosk_visit(d, visit, world.players[visit.player], shots=number == 0)
        if ticket is not None:
            d.synced("kiosk", kiosk.service.status)  # central must know the voucher before the counter asks
            pay_ticket(d, ticket)
            tickets.append(ticket)
    d.synced("kiosk", kiosk.service.status)
    players_screen(d, world.players[biz.KIOSK_VISITS[-1].player])
    payout_player, payout_units = biz.WALLET_PAYOUT
    pay_from_wallet(d, world.players[payout_player], payout_units)
    offline = offline_sale(d, world)
    close_shift(d)
    d.synced("POS", pos.service.status)
    d.synced("kiosk", kiosk.service.status)
    report = owner_report(d, world, day)
    say(f"{biz.staff_of('owner').name} read the day's report from central")
    ok, summary = central_verify(world)
    say("central verify: " + ("OK" if ok else "FAILED"))
    return DayResult(report, ok, summary, offline, d.rounds_shown, tickets, d.screenshots)


def central_verify(world: DemoWorld) -> tuple[bool, str]:
    """``cafe central verify``, in process on the demo's database."""
    from central_server.audit.service import verify

    with world.engine.begin() as conn:
        report = verify(conn)
    return report.ok, report.summary()
