"""The network drops mid-session: play goes on against the escrow, the banner says so, a
ticket prints (journaled first, signed), a new session is refused in plain words; once the
cable is back everything reaches central and the counter can redeem the ticket once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from kiosk_app import session_model as model
from kiosk_app.printer import Ticket
from shared.bodies import GameRound, VoucherIssue
from shared.ids import new_id
from shared.protocol import VOUCHER_REDEEM_PATH
from shared.signing import verify
from tests.kiosk.harness import Kiosk, register_player
from tests.kiosk.test_kiosk_play import log_in, play_round, start_session


def test_offline_play_and_ticket_then_everything_reaches_central(kiosk_app: Kiosk, pos: Any, artifacts: Path) -> None:
    k, w, central = kiosk_app, kiosk_app.window, kiosk_app.central
    player = register_player(pos, 30_00)
    start_session(k, player, None)  # the whole wallet
    session = w.session
    assert session is not None and session.escrow_units == 30_00
    assert central.balance(f"wallet:{player.player_id}") == 0
    k.qtbot.mouseClick(w.lobby.tiles["fruit-fiesta"], Qt.MouseButton.LeftButton)
    k.wait_screen("game")
    w.view.animation_scale = 0  # type: ignore[union-attr]
    play_round(k)

    k.cable.plugged = False
    results = [play_round(k) for _ in range(5)]
    k.qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=15000)
    assert "OFFLINE" in w.banner_text.text() and "Play continues" in w.banner_text.text()
    k.shoot(artifacts, "game-offline")
    escrow = w.session.escrow_units  # type: ignore[union-attr]
    journal = k.service.device.journal  # type: ignore[union-attr]
    rounds = [e.body for e in journal.entries() if isinstance(e.body, GameRound)]
    assert len(rounds) == 6 and escrow == 30_00 + sum(r.win_units - r.bet_units for r in rounds)
    assert [r.draws for r in rounds[1:]] == [list(r.draws) for r in results]

    printed_after_journal: list[bool] = []
    original = k.service.printer.print_ticket

    def checking(ticket: Ticket) -> None:
        last = list(journal.entries(journal.head().seq))[-1]
        printed_after_journal.append(isinstance(last.body, VoucherIssue) and last.body.voucher_id == ticket.voucher_id)
        original(ticket)

    k.service.printer.print_ticket = checking  # type: ignore[method-assign]
    k.qtbot.mouseClick(w.session_bar.cash_out, Qt.MouseButton.LeftButton)
    k.wait_screen("choice")
    k.qtbot.mouseClick(w.choice.buttons["ticket"], Qt.MouseButton.LeftButton)
    k.wait_screen("goodbye")
    ticket = w.last_ticket
    assert ticket is not None and printed_after_journal == [True]
    assert ticket.amount_units == escrow and w.goodbye.value.text() == model.credits(escrow)
    assert ticket.validation_number in w.goodbye.body.text()
    output = k.service.printer.last_output
    assert b"CASH-OUT TICKET" in output and ticket.validation_number.encode() in output and b"\x1dv0" in output  # raster QR
    k.shoot(artifacts, "goodbye-ticket")

    fields = model.parse_voucher_qr(ticket.qr_text)
    assert fields is not None and fields["amount_units"] == escrow and fields["kiosk_id"] == k.service.kiosk_id
    issue = next(e.body for e in journal.entries() if isinstance(e.body, VoucherIssue))
    assert verify(journal.public_key, model.voucher_message(issue, fields["issued_at"]), fields["signature"])
    tampered = VoucherIssue(**{**issue.to_json(), "amount_units": issue.amount_units + 100})
    assert not verify(journal.public_key, model.voucher_message(tampered, fields["issued_at"]), fields["signature"])

    # A new session needs central, and the kiosk says so.
    k.qtbot.mouseClick(w.goodbye.done, Qt.MouseButton.LeftButton)
    k.wait_screen("attract")
    log_in(k, player)
    k.qtbot.waitUntil(lambda: "connection" in w.login_screen.error.text(), timeout=20000)
    assert "OFFLINE" in w.banner_text.text() and "new session" in w.banner_text.text()
    k.shoot(artifacts, "login-offline")

    # Cable back: the rounds and the ticket reach central; the counter redeems the ticket once.
    k.cable.plugged = True
    k.qtbot.waitUntil(lambda: central.balance(f"voucher:{issue.voucher_id}") == escrow, timeout=30000)
    assert central.balance(f"escrow:{session.session_id}") == 0
    assert central.scalar("SELECT count(*) FROM journal_entries WHERE device_id = :d", d=k.service.kiosk_id) == journal.count()
    first = pos.request("POST", VOUCHER_REDEEM_PATH, {"request_id": new_id(), "voucher_id": issue.voucher_id})
    assert first.status_code == 200 and first.json()["amount_units"] == escrow
    again = pos.request("POST", VOUCHER_REDEEM_PATH, {"request_id": new_id(), "voucher_id": issue.voucher_id})
    assert again.status_code == 409
    k.qtbot.waitUntil(lambda: not w.banner.isVisible(), timeout=20000)
