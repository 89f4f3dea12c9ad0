"""A player card scanned on the attract screen, without touching first, is not lost: the burst
goes to the login screen as if scanned there, and the kiosk asks for the PIN. Keys typed at a
person's pace on the attract screen are no scan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from kiosk_app import session_model as model
from tests.kiosk.harness import Kiosk, register_player
from tests.kiosk.test_kiosk_play import press_keypad


def test_card_scanned_on_attract_screen_asks_for_the_pin(kiosk_app: Kiosk, pos: Any, artifacts: Path) -> None:
    k, w, qtbot = kiosk_app, kiosk_app.window, kiosk_app.qtbot
    player = register_player(pos, 30_00)
    assert w.current == "attract"

    # Typed slowly (a second between keys), then Enter: not a scanner, the attract loop stays.
    for digit in player.card_number[:6]:
        qtbot.keyClick(w.attract, digit)
        k.clock.advance(1.0)
    qtbot.keyClick(w.attract, Qt.Key.Key_Return)
    assert w.current == "attract"

    # What a card reader does: the number in one fast burst, then Enter (the fake clock stands still).
    qtbot.keyClicks(w.attract, player.card_number)
    qtbot.keyClick(w.attract, Qt.Key.Key_Return)
    k.wait_screen("login")
    login = w.login_screen
    assert login.card.text() == player.card_number
    assert login.keypad.target is login.pin and login.pin.text() == "" and login.error.text() == ""

    press_keypad(k, login.keypad, player.pin)
    qtbot.mouseClick(login.ok, Qt.MouseButton.LeftButton)
    k.wait_screen("wallet")
    assert w.wallet.greeting.text() == "Welcome!"  # central knows this card by its number only
    assert w.wallet.card_line.text() == f"Card ending in {player.card_number[-4:]}"

    # Showing a player again rebuilds the amount row without piling up spacers around it.
    assert w.player is not None
    w.wallet.show_player(w.player)
    w.wallet.show_player(w.player)
    qtbot.wait(10)
    assert w.wallet.amounts.count() == len(w.wallet._amount_buttons) + 2 == len(model.checkout_choices(30_00)) + 2


def test_wallet_greets_a_named_player_by_first_name() -> None:
    named = model.Player.from_json({"player_id": "p1", "card_number": "400012341155", "display_name": "Ada Lovelace",
                                    "balance_units": 100})
    masked = model.Player.from_json({"player_id": "p2", "card_number": "400012341155", "display_name": "Card …1155",
                                     "balance_units": 100})
    anonymous = model.Player.from_json({"player_id": "p3", "card_number": "400012341155", "display_name": "",
                                        "balance_units": 100})
    assert model.welcome(named) == ("Welcome, Ada!", "Card ending in 1155")
    assert model.welcome(masked) == model.welcome(anonymous) == ("Welcome!", "Card ending in 1155")
    assert model.local_time_text("2026-12-01T19:39:50.305517Z")[:4] == "2026"
    assert len(model.local_time_text("2026-12-01T19:39:50.305517Z")) == len("2026-12-01 19:39:50")
