"""End to end with central and the POS: a player buys credits at the counter, plays 50 rounds
at the kiosk by touch, cashes out to a ticket and the counter pays it. Then `cafe central
verify` passes, every balance at central is exactly what the kiosk's and the POS's journals
imply, and the kiosk's meters (read by a technician on its screen) are central's figures
for that kiosk."""

from __future__ import annotations

import datetime as dt
import ssl
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from cafe_cli.main import main as cafe
from central_server.reports.service import location_day
from kiosk_app import session_model as model
from kiosk_app.game_views import KenoView
from kiosk_app.printer import Ticket
from pos_app.receipts import ReceiptPrinter
from pos_app.rules import Refused
from pos_app.service import PosService
from shared.bodies import GameRound, SessionCheckout, VoucherIssue, VoucherRedemption
from shared.entry import JournalEntry
from shared.games.round import RoundResult, recall
from shared.reports import Figures
from tests.central.conftest import LOCATION, Central
from tests.kiosk.harness import CASHIER_PIN, TECH_PIN, Kiosk, PlayerCard
from tests.kiosk.test_kiosk_play import play_round, start_session
from tests.kiosk.test_kiosk_staff import staff_login
from tests.pos.harness import Line

ROUNDS = {"fruit-fiesta": 30, "lucky-keno": 10, "gold-rush-scratch": 10}  # 50 rounds, every game
KENO_PICKS = (7, 11, 23, 42, 77)
PLAYER_PIN = "2468"
SYNC_TIMEOUT_MS = 30_000


@pytest.fixture
def counter(qtbot: Any, central: Central, enrolled_device: Any, staff: None) -> Iterator[PosService]:
    """A really enrolled POS station (its own encrypted journal and sync), driven through its service."""
    data_dir = enrolled_device("pos")
    line = Line(ssl.create_default_context(cafile=str(data_dir / "central-ca.pem")))
    service = PosService(data_dir, printer=ReceiptPrinter("dummy", data_dir),
                         client_kwargs={"transport": line, "timeout_s": 10.0}, engine_kwargs={"interval_s": 0.5})
    service.open()
    try:
        qtbot.waitUntil(lambda: any(m.role == "cashier" for m in service.staff()), timeout=15_000)
        yield service
    finally:
        service.close()


def synced(central: Central, device_id: str, entries_count: int) -> bool:
    return bool(central.scalar("SELECT count(*) FROM journal_entries WHERE device_id = :d", d=device_id) == entries_count)


def implied_balances(entries: Iterable[JournalEntry]) -> dict[tuple[str, str], int]:
    """Every account's balance as the journals' postings add up (zero balances left out)."""
    total: Counter[tuple[str, str]] = Counter()
    for entry in entries:
        for posting in entry.postings:
            total[(posting.account, posting.unit)] += posting.amount_units
    return {key: units for key, units in total.items() if units}


def central_figures(central: Central, device_id: str, entries: Iterable[JournalEntry]) -> Figures:
    """Central's report row for one device, over every (UTC) day its entries were made on."""
    days = sorted({dt.date.fromisoformat(e.created_at[:10]) for e in entries})
    figures = Figures()
    with central.engine.connect() as conn:
        for day in days:
            for row in location_day(conn, LOCATION, day).by_device:
                if row.key == device_id:
                    figures += row.figures
    return figures


def play_every_game(k: Kiosk) -> list[RoundResult]:
    """The rounds of ROUNDS, each pressed on the PLAY button, the credits meter checked after each."""
    w, shown = k.window, []
    for game_id, count in ROUNDS.items():
        k.qtbot.mouseClick(w.lobby.tiles[game_id], Qt.MouseButton.LeftButton)
        k.wait_screen("game")
        view = w.view
        assert view is not None
        view.animation_scale = 0
        if isinstance(view, KenoView):
            for number in KENO_PICKS:
                k.qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.cell_rect(number).center().toPoint())
        for _ in range(count):
            shown.append(play_round(k))
            assert w.session is not None and w.session_bar.credits.value.text() == model.credits(w.session.escrow_units)
        k.qtbot.mouseClick(w.game.lobby, Qt.MouseButton.LeftButton)
        k.wait_screen("lobby")
    return shown


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_counter_sale_fifty_rounds_ticket_paid_at_counter_and_central_verifies(
        kiosk_app: Kiosk, counter: PosService, artifacts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    k, w, central, pos = kiosk_app, kiosk_app.window, kiosk_app.central, counter
    kiosk_journal = k.service.device.journal  # type: ignore[union-attr]
    pos_journal = pos.device.journal  # type: ignore[union-attr]

    # The counter: a cashier opens a shift with 100.00 in the drawer, registers a player, sells 60.00 credits.
    member = next(m for m in pos.staff() if m.role == "cashier")
    cashier = pos.login(member.id, CASHIER_PIN)
    pos.open_shift(cashier, {2000: 5})
    player = pos.register_player(full_name="Grace Hopper", date_of_birth="1985-12-09", phone="+1 555 010 3000", pin=PLAYER_PIN)
    sale = pos.sell(cashier, player, 60_00, tender="cash", tendered_units=60_00)
    assert sale.printer_problem is None and not sale.offline and sale.change_units == 0
    wallet = f"wallet:{player.player_id}"
    k.qtbot.waitUntil(lambda: central.balance(wallet) == 60_00, timeout=SYNC_TIMEOUT_MS)

    # The kiosk: card and PIN, 50.00 of the 60.00 to the machine, 50 rounds of the three games by touch.
    start_session(k, PlayerCard(player.player_id, player.card_number, PLAYER_PIN), "50.00")
    assert w.wallet.balance.text() == "60.00"
    session = w.session
    assert session is not None and session.escrow_units == 50_00
    assert central.balance(wallet) == 10_00 and central.balance(f"escrow:{session.session_id}") == 50_00
    shown = play_every_game(k)
    wagered, won = sum(r.bet_units for r in shown), sum(r.win_units for r in shown)
    escrow = 50_00 - wagered + won
    assert len(shown) == 50 and w.session is not None and w.session.escrow_units == escrow
    rounds = [e.body for e in kiosk_journal.entries() if isinstance(e.body, GameRound)]
    assert [r.round_no for r in rounds] == list(range(1, 51))
    assert [(r.game_id, r.draws, r.win_units) for r in rounds] == [
        (g, list(s.draws), s.win_units) for g, s in zip([g for g, n in ROUNDS.items() for _ in range(n)], shown, strict=True)]
    assert all(recall(k.service.games[r.game_id], r.to_json()).win_units == r.win_units for r in rounds)
    # Mid-session, central's escrow already follows the kiosk's meter.
    k.qtbot.waitUntil(lambda: central.balance(f"escrow:{session.session_id}") == escrow, timeout=SYNC_TIMEOUT_MS)

    # Cash out to a ticket: journaled first, then printed.
    printed_after_journal: list[bool] = []
    original = k.service.printer.print_ticket

    def checking(ticket: Ticket) -> None:
        last = list(kiosk_journal.entries(kiosk_journal.head().seq))[-1]
        printed_after_journal.append(isinstance(last.body, VoucherIssue) and last.body.voucher_id == ticket.voucher_id)
        original(ticket)

    k.service.printer.print_ticket = checking  # type: ignore[method-assign]
    k.qtbot.mouseClick(w.session_bar.cash_out, Qt.MouseButton.LeftButton)
    k.wait_screen("choice")
    assert w.choice.value.text() == model.credits(escrow)
    k.qtbot.mouseClick(w.choice.buttons["ticket"], Qt.MouseButton.LeftButton)
    k.wait_screen("goodbye")
    ticket = w.last_ticket
    assert ticket is not None and printed_after_journal == [True] and ticket.amount_units == escrow
    assert w.goodbye.value.text() == model.credits(escrow) and ticket.validation_number in w.goodbye.body.text()
    k.qtbot.mouseClick(w.goodbye.done, Qt.MouseButton.LeftButton)
    k.wait_screen("attract")
    k.qtbot.waitUntil(lambda: synced(central, k.service.kiosk_id, kiosk_journal.count()), timeout=SYNC_TIMEOUT_MS)
    assert central.balance(f"escrow:{session.session_id}") == 0
    assert central.balance(f"voucher:{ticket.voucher_id}") == escrow
    assert central.scalar("SELECT status FROM vouchers WHERE id = :v", v=ticket.voucher_id) == "issued"

    # The counter scans the ticket's QR text and pays it once.
    check = pos.check_ticket(ticket.qr_text)
    assert check.ticket.voucher_id == ticket.voucher_id and check.ticket.amount_units == escrow and not check.needs_manager
    paid = pos.pay_ticket(cashier, check, None)
    assert not paid.offline and paid.printer_problem is None and paid.receipt.title == "Ticket payout"
    with pytest.raises(Refused, match="already paid"):
        pos.check_ticket(ticket.qr_text)
    k.qtbot.waitUntil(lambda: synced(central, pos.device.device_id, pos_journal.count()),  # type: ignore[union-attr]
                      timeout=SYNC_TIMEOUT_MS)

    # `cafe central verify` holds, and central's balances are exactly what the two journals imply.
    capsys.readouterr()
    assert cafe(["central", "verify", "--db", central.db_url]) == 0
    assert "OK: every balance" in capsys.readouterr().out
    entries = [*kiosk_journal.entries(), *pos_journal.entries()]
    stored = {(r.account, r.unit): int(r.balance_units) for r in central.rows("SELECT account, unit, balance_units FROM balances")}
    assert {key: units for key, units in stored.items() if units} == implied_balances(entries)
    pos_id = pos.device.device_id  # type: ignore[union-attr]
    assert stored[(wallet, "CR")] == 10_00
    assert stored[(f"escrow:{session.session_id}", "CR")] == 0 and stored[(f"voucher:{ticket.voucher_id}", "CR")] == 0
    assert stored[(f"house:{LOCATION}", "CR")] == wagered - won
    assert stored[(f"float:{LOCATION}", "CR")] == -60_00 + escrow
    shift = pos.shift()
    assert shift is not None and stored[(f"drawer:{pos_id}", "USD")] == 100_00 + 60_00 - escrow == shift.expected_cash_units
    assert stored[(f"revenue:{LOCATION}", "USD")] == -60_00 + escrow
    assert central.rows("SELECT status, redeemed_by_device FROM vouchers WHERE id = :v", v=ticket.voucher_id) == [("redeemed", pos_id)]
    assert central.scalar("SELECT count(*) FROM ledger_exceptions") == 0
    assert sum(isinstance(e.body, SessionCheckout) for e in entries) == 1
    assert sum(isinstance(e.body, VoucherRedemption) for e in entries) == 1

    # A technician reads the kiosk's meters on its screen: they are central's figures for this kiosk.
    staff_login(k, TECH_PIN)
    k.wait_screen("tech")
    k.shoot(artifacts, "staff-menu-technician")
    k.qtbot.mouseClick(w.tech.buttons["meters"], Qt.MouseButton.LeftButton)
    k.wait_screen("meters")
    shown_meters = {name: value.text() for name, value in w.meters_screen.values.items()}
    at_central = central_figures(central, k.service.kiosk_id, kiosk_journal.entries())
    assert shown_meters == {
        "Credits in": model.credits(at_central.checkouts_units),
        "Credits out": model.credits(at_central.checkins_units + at_central.vouchers_issued_units),
        "Wagered": model.credits(at_central.wagers_units),
        "Won": model.credits(at_central.wins_units),
        "Games played": f"{at_central.rounds:,}",
        "Tickets printed": f"{at_central.vouchers_issued_count:,} ({model.credits(at_central.vouchers_issued_units)})",
        "Tickets in": f"{at_central.tickets_in_count:,} ({model.credits(at_central.tickets_in_units)})",
        "Sessions": "1",
    }
    assert (at_central.checkouts_units, at_central.wagers_units, at_central.wins_units, at_central.rounds) == (50_00, wagered, won, 50)
    assert (at_central.vouchers_issued_count, at_central.vouchers_issued_units) == (1, escrow)
    counter_figures = central_figures(central, pos_id, pos_journal.entries())
    assert (counter_figures.sales_units, counter_figures.vouchers_paid_units, counter_figures.payouts_cash_units) == (60_00, escrow, escrow)
    k.qtbot.mouseClick(w.meters_screen.back, Qt.MouseButton.LeftButton)
    k.qtbot.mouseClick(w.tech.buttons["back"], Qt.MouseButton.LeftButton)
    k.wait_screen("attract")
