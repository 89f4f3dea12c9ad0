"""Ticket in, by touch and scan against a real central (decision 0007): a ticket printed by one
session is scanned at the login screen, the lobby shows its value, rounds are played, and the
session cashes out to a new ticket (a ticket session has no account to return to). The first
ticket scanned again is refused as already paid; with the cable pulled a ticket is refused in
plain words. Then `cafe central verify` passes and central's balances are what the journal implies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt

from cafe_cli.main import main as cafe
from kiosk_app import session_model as model
from kiosk_app.printer import Ticket
from shared.bodies import SessionCheckout, VoucherIssue, ticket_bearer
from shared.entry import TIMESTAMP_FORMAT
from shared.ids import new_id
from tests.kiosk.harness import Kiosk, register_player
from tests.kiosk.test_kiosk_end_to_end import implied_balances, synced
from tests.kiosk.test_kiosk_play import play_round, start_session

SYNC_TIMEOUT_MS = 30_000
ROUNDS = 6


def cash_out_to_ticket(k: Kiosk) -> Ticket:
    w = k.window
    k.qtbot.mouseClick(w.session_bar.cash_out, Qt.MouseButton.LeftButton)
    k.wait_screen("choice")
    k.qtbot.mouseClick(w.choice.buttons["ticket"], Qt.MouseButton.LeftButton)
    k.wait_screen("goodbye")
    ticket = w.last_ticket
    assert ticket is not None
    k.qtbot.mouseClick(w.goodbye.done, Qt.MouseButton.LeftButton)
    k.wait_screen("attract")
    return ticket


def scan_ticket(k: Kiosk, qr_text: str) -> None:
    """Touch the attract screen, then what a QR scanner does in the card field: the text, then Enter."""
    w = k.window
    k.qtbot.mouseClick(w.attract, Qt.MouseButton.LeftButton, pos=QPoint(300, 300))
    k.wait_screen("login")
    k.qtbot.keyClicks(w.login_screen.card, qr_text)
    k.qtbot.keyClick(w.login_screen.card, Qt.Key.Key_Return)


def refused(k: Kiosk, words: str) -> str:
    w = k.window
    k.qtbot.waitUntil(lambda: words in w.login_screen.error.text(), timeout=15_000)
    assert w.current == "login" and w.session is None
    return w.login_screen.error.text()


def test_ticket_scanned_at_login_plays_and_cashes_out_to_a_new_ticket(
        kiosk_app: Kiosk, pos: Any, artifacts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    k, w, central = kiosk_app, kiosk_app.window, kiosk_app.central
    journal = k.service.device.journal  # type: ignore[union-attr]

    # A player's session prints the first ticket; it reaches central as an issued voucher.
    player = register_player(pos, 30_00)
    start_session(k, player, None)
    first = cash_out_to_ticket(k)
    assert first.amount_units == 30_00
    k.qtbot.waitUntil(lambda: synced(central, k.service.kiosk_id, journal.count()), timeout=SYNC_TIMEOUT_MS)
    assert central.balance(f"voucher:{first.voucher_id}") == 30_00

    # Scanned at the login screen: no PIN, straight to the lobby with the ticket's value on the meter.
    scan_ticket(k, first.qr_text)
    k.wait_screen("lobby")
    session = w.session
    assert session is not None and session.from_ticket and session.escrow_units == 30_00
    assert w.session_bar.isVisible() and w.session_bar.credits.value.text() == model.credits(30_00) == "30.00"
    assert w.session_bar.player.text() == model.ticket_name(first.validation_number.replace("-", ""))
    entry = list(journal.entries(journal.head().seq))[-1]
    assert isinstance(entry.body, SessionCheckout) and entry.body.voucher_id == first.voucher_id
    assert entry.body.player_id == ticket_bearer(first.voucher_id) and entry.postings[0].account == f"voucher:{first.voucher_id}"
    assert central.balance(f"voucher:{first.voucher_id}") == 0  # central paid it into the escrow before the lobby showed
    assert central.balance(f"escrow:{session.session_id}") == 30_00
    shots = k.shoot(artifacts, "ticket-in-lobby")
    assert all(p.stat().st_size > 10_000 for p in shots)

    # It plays like any session.
    k.qtbot.mouseClick(w.lobby.tiles["fruit-fiesta"], Qt.MouseButton.LeftButton)
    k.wait_screen("game")
    assert w.view is not None
    w.view.animation_scale = 0
    shown = [play_round(k) for _ in range(ROUNDS)]
    escrow = 30_00 - sum(r.bet_units for r in shown) + sum(r.win_units for r in shown)
    assert w.session is not None and w.session.escrow_units == escrow and w.session.rounds == ROUNDS
    assert w.session_bar.credits.value.text() == model.credits(escrow)

    # Cash out: a ticket only, there is no account to return to.
    k.qtbot.mouseClick(w.session_bar.cash_out, Qt.MouseButton.LeftButton)
    k.wait_screen("choice")
    assert set(w.choice.buttons) == {"ticket", "continue"}
    k.qtbot.mouseClick(w.choice.buttons["continue"], Qt.MouseButton.LeftButton)
    k.wait_screen("game")
    second = cash_out_to_ticket(k)
    assert second.amount_units == escrow and second.voucher_id != first.voucher_id

    # The first ticket again: already paid. Any ticket with the cable pulled: needs the connection.
    scan_ticket(k, first.qr_text)
    assert refused(k, "already paid") == "This ticket was already paid."
    k.qtbot.mouseClick(w.login_screen.back, Qt.MouseButton.LeftButton)
    k.wait_screen("attract")
    k.cable.plugged = False
    scan_ticket(k, second.qr_text)
    refused(k, "Tickets need the connection")
    k.cable.plugged = True
    k.qtbot.mouseClick(w.login_screen.back, Qt.MouseButton.LeftButton)
    k.wait_screen("attract")

    # Everything reaches central: verify passes, no rule broken, balances are what the journal implies.
    k.qtbot.waitUntil(lambda: synced(central, k.service.kiosk_id, journal.count()), timeout=SYNC_TIMEOUT_MS)
    capsys.readouterr()
    assert cafe(["central", "verify", "--db", central.db_url]) == 0
    assert "OK: every balance" in capsys.readouterr().out
    assert central.scalar("SELECT count(*) FROM ledger_exceptions") == 0
    stored = {(r.account, r.unit): int(r.balance_units) for r in central.rows("SELECT account, unit, balance_units FROM balances")}
    pos_entries = pos.chain
    assert {key: units for key, units in stored.items() if units} == implied_balances([*journal.entries(), *pos_entries])
    assert stored[(f"voucher:{first.voucher_id}", "CR")] == 0 and stored[(f"escrow:{session.session_id}", "CR")] == 0
    assert stored[(f"voucher:{second.voucher_id}", "CR")] == escrow
    assert central.rows("SELECT status, redeem_entry_id FROM vouchers WHERE id = :v", v=first.voucher_id) == [
        ("redeemed", entry.id)]
    assert central.scalar("SELECT posted FROM journal_entries WHERE id = :e", e=entry.id) in (False, 0)
    assert central.scalar("SELECT status FROM vouchers WHERE id = :v", v=second.voucher_id) == "issued"


def test_an_expired_ticket_is_refused_at_the_kiosk_in_plain_words(kiosk_app: Kiosk, artifacts: Path) -> None:
    """A genuine ticket of this kiosk, printed 100 days ago (the location's expiry is 90): refused on the spot, with the
    date it expired, and nothing is journaled."""
    k = kiosk_app
    device = k.service.device
    assert device is not None
    printed = dt.datetime.now(dt.UTC) - dt.timedelta(days=100)
    issued_at = printed.strftime(TIMESTAMP_FORMAT)
    body = VoucherIssue(voucher_id=new_id(), session_id=new_id(), kiosk_id=k.service.kiosk_id, location_id=device.location_id,
                        amount_units=15_00, validation_number=model.validation_number(123456789))
    signature = device.keystore.device_key().sign(model.voucher_message(body, issued_at))
    journal = device.journal
    entries_before = journal.count()
    scan_ticket(k, model.voucher_qr_text(body, issued_at, signature))
    expired_on = (printed + dt.timedelta(days=90)).strftime("%d %b %Y")
    assert refused(k, "expired") == f"This ticket expired on {expired_on}. Please take it to the counter."
    assert journal.count() == entries_before  # no session was opened, nothing journaled
    k.shoot(artifacts, "ticket-in-expired")
