"""A player's whole visit, worked with clicks and keys against a real central: login with card
and PIN, checkout into an escrow, rounds of each game (journaled before they are shown), cash
out to the wallet; the balances at central agree with what the kiosk showed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt

from kiosk_app import session_model as model
from kiosk_app.game_views import KenoView, ReelsView, ScratchView
from kiosk_app.screens import Keypad
from shared.bodies import GameRound, SessionCheckin, SessionCheckout
from shared.games.round import recall
from tests.kiosk.harness import Kiosk, PlayerCard, register_player


def log_in(k: Kiosk, player: PlayerCard, *, pin: str | None = None) -> None:
    qtbot, w = k.qtbot, k.window
    qtbot.mouseClick(w.attract, Qt.MouseButton.LeftButton, pos=QPoint(300, 300))
    k.wait_screen("login")
    qtbot.keyClicks(w.login_screen.card, player.card_number)
    qtbot.keyClick(w.login_screen.card, Qt.Key.Key_Return)  # what a card reader sends after the number
    assert w.login_screen.keypad.target is w.login_screen.pin
    press_keypad(k, w.login_screen.keypad, pin or player.pin)
    qtbot.mouseClick(w.login_screen.ok, Qt.MouseButton.LeftButton)


def press_keypad(k: Kiosk, keypad: Keypad, digits: str) -> None:
    from PySide6.QtWidgets import QPushButton

    keys = {b.text(): b for b in keypad.findChildren(QPushButton)}
    for digit in digits:
        k.qtbot.mouseClick(keys[digit], Qt.MouseButton.LeftButton)


def start_session(k: Kiosk, player: PlayerCard, amount_text: str | None, artifacts: Path | None = None) -> None:
    log_in(k, player)
    k.wait_screen("wallet")
    w = k.window
    if artifacts is not None:
        k.shoot(artifacts, "wallet")
    if amount_text is None:
        k.qtbot.mouseClick(w.wallet.all, Qt.MouseButton.LeftButton)
    else:
        button = next(b for b in w.wallet._amount_buttons if b.text() == amount_text)
        k.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    k.wait_screen("lobby")


def play_round(k: Kiosk, timeout_ms: int = 15000) -> Any:
    """Press play and wait until the outcome is fully on screen."""
    with k.qtbot.waitSignal(k.window.sig_round_shown, timeout=timeout_ms) as shown:
        k.qtbot.mouseClick(k.window.game.play, Qt.MouseButton.LeftButton)
    return shown.args[0]


def journaled_before_shown(k: Kiosk) -> list[bool]:
    """Wraps the view's show_result: records whether the round was already in the journal."""
    seen: list[bool] = []
    view = k.window.view
    assert view is not None
    original = view.show_result

    def checking(result: Any) -> None:
        last = list(k.service.device.journal.entries(k.service.device.journal.head().seq))[-1]  # type: ignore[union-attr]
        seen.append(isinstance(last.body, GameRound) and last.body.draws == list(result.draws))
        original(result)

    view.show_result = checking  # type: ignore[method-assign]
    return seen


def test_player_logs_in_checks_out_plays_every_game_and_cashes_out_to_wallet(kiosk_app: Kiosk, pos: Any, artifacts: Path) -> None:
    k, w, central = kiosk_app, kiosk_app.window, kiosk_app.central
    player = register_player(pos, 50_00)
    k.shoot(artifacts, "attract")
    log_in(k, player, pin="9999")
    k.qtbot.waitUntil(lambda: w.login_screen.error.text() != "", timeout=15000)
    assert "not recognised" in w.login_screen.error.text()
    w.login_screen.card.clear()
    w.login_screen.pin.clear()
    k.shoot(artifacts, "login")
    w.to_attract()

    start_session(k, player, "20.00", artifacts)
    assert central.balance(f"wallet:{player.player_id}") == 30_00
    session = w.session
    assert session is not None and session.escrow_units == 20_00
    assert central.balance(f"escrow:{session.session_id}") == 20_00
    assert w.session_bar.credits.value.text() == "20.00"
    checkout = [e.body for e in k.service.device.journal.entries() if isinstance(e.body, SessionCheckout)]  # type: ignore[union-attr]
    assert [c.amount_units for c in checkout] == [20_00]
    assert all(tile.isEnabled() for tile in w.lobby.tiles.values()) and len(w.lobby.tiles) == 3
    k.shoot(artifacts, "lobby")

    # Reels, animated: the round is in the journal before the reels start to move.
    k.qtbot.mouseClick(w.lobby.tiles["fruit-fiesta"], Qt.MouseButton.LeftButton)
    k.wait_screen("game")
    assert isinstance(w.view, ReelsView)
    w.view.animation_scale = 0.25
    k.qtbot.mouseClick(w.game.bet_up, Qt.MouseButton.LeftButton)
    assert w.game.bet.value.text() == "0.20"
    checks = journaled_before_shown(k)
    escrow = w.session.escrow_units  # type: ignore[union-attr]
    for _ in range(3):
        result = play_round(k)
        escrow += result.win_units - 20
        assert w.session.escrow_units == escrow  # type: ignore[union-attr]
        assert w.session_bar.credits.value.text() == model.credits(escrow)
        assert w.session_bar.win.value.text() == model.credits(result.win_units)
        assert w.view.positions == [float(s) for s in result.draws]
    assert checks == [True, True, True]
    k.shoot(artifacts, "game-reels")

    # Keno: the player marks five numbers on the board by touch.
    k.qtbot.mouseClick(w.game.lobby, Qt.MouseButton.LeftButton)
    k.wait_screen("lobby")
    k.qtbot.mouseClick(w.lobby.tiles["lucky-keno"], Qt.MouseButton.LeftButton)
    k.wait_screen("game")
    view = w.view
    assert isinstance(view, KenoView)
    assert not w.game.play.isEnabled()  # nothing marked yet
    view.animation_scale = 0.05
    for number in (3, 17, 42, 66, 80):
        k.qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.cell_rect(number).center().toPoint())
    assert view.picks() == [3, 17, 42, 66, 80] and w.game.play.isEnabled()
    result = play_round(k)
    assert result.outcome["picks"] == [3, 17, 42, 66, 80]
    assert view.shown_drawn == list(result.draws) and len(set(result.draws)) == 20
    escrow += result.win_units - 100
    assert w.session_bar.credits.value.text() == model.credits(escrow)
    k.shoot(artifacts, "game-keno")

    # The instant scratch game plays entries central dealt to this session at checkout.
    assert k.service.deck is not None and k.service.deck.remaining(session.session_id, "gold-rush-scratch") > 0
    k.qtbot.mouseClick(w.game.lobby, Qt.MouseButton.LeftButton)
    k.qtbot.mouseClick(w.lobby.tiles["gold-rush-scratch"], Qt.MouseButton.LeftButton)
    k.wait_screen("game")
    assert isinstance(w.view, ScratchView) and w.game.play.text() == "REVEAL"
    w.view.animation_scale = 0.1
    result = play_round(k)
    assert result.pool_entry is not None and w.view.cover == [0.0] * 9
    assert w.view.cells() == result.outcome["cells"] and len(result.outcome["cells"]) == 9
    escrow += result.win_units - 100
    assert w.session_bar.credits.value.text() == model.credits(escrow)
    k.shoot(artifacts, "game-scratch")

    # Every journaled round replays to exactly what was shown.
    rounds = [e.body for e in k.service.device.journal.entries() if isinstance(e.body, GameRound)]
    assert len(rounds) == 5 and [r.round_no for r in rounds] == [1, 2, 3, 4, 5]
    for body in rounds:
        replayed = recall(k.service.games[body.game_id], body.to_json())
        assert replayed.win_units == body.win_units and dict(replayed.outcome) == body.outcome

    # Cash out to the wallet: the escrow goes home, central agrees once sync delivers it.
    k.qtbot.mouseClick(w.session_bar.cash_out, Qt.MouseButton.LeftButton)
    k.wait_screen("choice")
    assert w.choice.value.text() == model.credits(escrow)
    k.shoot(artifacts, "cashout-choice")
    k.qtbot.mouseClick(w.choice.buttons["wallet"], Qt.MouseButton.LeftButton)
    k.wait_screen("goodbye")
    assert w.session is None and w.goodbye.value.text() == model.credits(escrow)
    k.shoot(artifacts, "goodbye-wallet")
    checkins = [e.body for e in k.service.device.journal.entries() if isinstance(e.body, SessionCheckin)]
    assert [c.amount_units for c in checkins] == [escrow]
    k.qtbot.waitUntil(lambda: central.balance(f"wallet:{player.player_id}") == 30_00 + escrow, timeout=20000)
    assert central.balance(f"escrow:{session.session_id}") == 0
    assert central.scalar("SELECT count(*) FROM ledger_exceptions") == 0
