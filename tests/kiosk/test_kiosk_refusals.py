"""What the kiosk refuses, in plain words and without moving a credit: a self-excluded player
cannot start a session, and a new session while the line to central is down is refused
(the credits stay in the wallet) and starts once, normally, when the line is back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from shared.bodies import SessionCheckout
from shared.protocol import PLAYERS_PATH
from tests.kiosk.harness import Kiosk, register_player
from tests.kiosk.test_kiosk_play import log_in


def checkouts_journaled(k: Kiosk) -> int:
    return sum(isinstance(e.body, SessionCheckout) for e in k.service.device.journal.entries())  # type: ignore[union-attr]


def test_self_excluded_player_cannot_start_a_session(kiosk_app: Kiosk, pos: Any, artifacts: Path) -> None:
    k, w, central = kiosk_app, kiosk_app.window, kiosk_app.central
    player = register_player(pos, 25_00)
    response = pos.request("PUT", f"{PLAYERS_PATH}/{player.player_id}/self-exclusion",
                           {"excluded": True, "reason": "asked at the counter"})
    assert response.status_code == 200 and response.json()["self_excluded"] is True

    log_in(k, player)
    k.qtbot.waitUntil(lambda: w.login_screen.error.text() != "", timeout=15_000)
    assert w.login_screen.error.text() == "This account is self-excluded. Please see the cashier."
    assert w.current == "login" and w.player is None and w.session is None
    assert w.login_screen.ok.isEnabled()  # the next player can log in
    assert not w.banner.isVisible()  # central answered: nothing here says "offline"
    k.shoot(artifacts, "login-self-excluded")
    assert checkouts_journaled(k) == 0
    assert central.balance(f"wallet:{player.player_id}") == 25_00
    assert central.scalar("SELECT count(*) FROM checkouts") == 0


def test_new_session_offline_is_refused_plainly_then_starts_once_online(kiosk_app: Kiosk, pos: Any, artifacts: Path) -> None:
    k, w, central = kiosk_app, kiosk_app.window, kiosk_app.central
    player = register_player(pos, 40_00)
    log_in(k, player)
    k.wait_screen("wallet")

    k.cable.plugged = False  # the line drops while the player chooses an amount
    twenty = next(b for b in w.wallet._amount_buttons if b.text() == "20.00")
    k.qtbot.mouseClick(twenty, Qt.MouseButton.LeftButton)
    k.qtbot.waitUntil(lambda: w.wallet.error.text() != "", timeout=20_000)
    assert w.wallet.error.text() == ("A new session needs the connection to the cafe's server, which is down right now. "
                                     "Your credits are safe in your account.")
    assert w.current == "wallet" and w.session is None and twenty.isEnabled()
    k.shoot(artifacts, "wallet-offline")
    assert checkouts_journaled(k) == 0
    assert central.balance(f"wallet:{player.player_id}") == 40_00 and central.scalar("SELECT count(*) FROM checkouts") == 0

    k.cable.plugged = True
    k.qtbot.mouseClick(twenty, Qt.MouseButton.LeftButton)
    k.wait_screen("lobby")
    session = w.session
    assert session is not None and session.escrow_units == 20_00 and w.session_bar.credits.value.text() == "20.00"
    assert checkouts_journaled(k) == 1 and central.scalar("SELECT count(*) FROM checkouts") == 1
    assert central.balance(f"wallet:{player.player_id}") == 20_00
    assert central.balance(f"escrow:{session.session_id}") == 20_00
