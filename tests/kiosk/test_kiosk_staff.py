"""Kiosk mode and the staff side: enrollment by a technician, the exit lock (close and key
combinations ignored, only a technician PIN leaves), game recall of the last 10 rounds as
shown, the meters, the reality check and the idle cash-out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from central_server.keys import load_keys
from kiosk_app import session_model as model
from shared.bodies import GameRound, SessionCheckin
from shared.device_config import Limits
from tests.kiosk.harness import CASHIER_PIN, TECH_PIN, FakeClock, Kiosk, open_kiosk, register_player, shut
from tests.kiosk.test_kiosk_play import play_round, press_keypad, start_session


def staff_login(k: Kiosk, pin: str) -> None:
    k.qtbot.mouseClick(k.window.attract.staff, Qt.MouseButton.LeftButton)
    k.wait_screen("pin")
    press_keypad(k, k.window.pin.keypad, pin)
    k.qtbot.mouseClick(k.window.pin.ok, Qt.MouseButton.LeftButton)


def send_keys(widget: Any, combos: list[tuple[Qt.Key, Qt.KeyboardModifier]]) -> None:
    for key, mods in combos:
        QApplication.sendEvent(widget, QKeyEvent(QKeyEvent.Type.KeyPress, key, mods))


def test_technician_enrolls_the_kiosk(qtbot: Any, central: Any, staff: None, tmp_path: Path, artifacts: Path) -> None:
    k = open_kiosk(qtbot, central, tmp_path / "new-kiosk", FakeClock())
    try:
        k.wait_screen("enroll")
        screen = k.window.enroll_screen
        assert not screen.enroll.isEnabled()
        qtbot.keyClicks(screen.url, central.base_url)
        qtbot.mouseClick(screen.check, Qt.MouseButton.LeftButton)
        fingerprint = load_keys(central.data_dir).ca_fingerprint
        qtbot.waitUntil(lambda: fingerprint[:4] in screen.fingerprint.text(), timeout=15000)
        qtbot.keyClicks(screen.code, "WRONG-CODE")
        screen.confirm.setChecked(True)
        k.shoot(artifacts, "enroll")
        qtbot.mouseClick(screen.enroll, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: screen.error.text() != "", timeout=15000)
        assert k.window.current == "enroll"
        screen.code.clear()
        qtbot.keyClicks(screen.code, central.enroll_code("kiosk"))
        qtbot.mouseClick(screen.enroll, Qt.MouseButton.LeftButton)
        k.wait_screen("attract")
        assert k.service.device is not None and k.service.device.identity.role == "kiosk"
        qtbot.waitUntil(lambda: k.window.attract.location.text() == "Cafe One", timeout=15000)
    finally:
        shut(k)


def test_exit_lock_recall_and_meters(kiosk_app: Kiosk, pos: Any, artifacts: Path) -> None:
    k, w, central = kiosk_app, kiosk_app.window, kiosk_app.central
    player = register_player(pos, 40_00)
    start_session(k, player, "20.00")
    k.qtbot.mouseClick(w.lobby.tiles["fruit-fiesta"], Qt.MouseButton.LeftButton)
    k.wait_screen("game")
    w.view.animation_scale = 0  # type: ignore[union-attr]
    shown = [play_round(k) for _ in range(8)]
    k.qtbot.mouseClick(w.game.lobby, Qt.MouseButton.LeftButton)
    k.qtbot.mouseClick(w.lobby.tiles["lucky-keno"], Qt.MouseButton.LeftButton)
    w.view.animation_scale = 0  # type: ignore[union-attr]
    w.view.set_picks([5, 10, 15, 20])  # type: ignore[union-attr]
    shown += [play_round(k) for _ in range(4)]
    k.qtbot.mouseClick(w.session_bar.cash_out, Qt.MouseButton.LeftButton)
    k.qtbot.mouseClick(w.choice.buttons["wallet"], Qt.MouseButton.LeftButton)
    k.wait_screen("goodbye")
    k.qtbot.mouseClick(w.goodbye.done, Qt.MouseButton.LeftButton)
    k.wait_screen("attract")

    # Kiosk mode: the close button and the usual escape keys do nothing.
    w.close()
    assert w.isVisible()
    before = w.lock.swallowed
    send_keys(w, [(Qt.Key.Key_F4, Qt.KeyboardModifier.AltModifier), (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
                  (Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier), (Qt.Key.Key_Tab, Qt.KeyboardModifier.AltModifier),
                  (Qt.Key.Key_Meta, Qt.KeyboardModifier.NoModifier), (Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)])
    assert w.lock.swallowed - before == 6 and w.isVisible() and w.current == "attract"

    # A wrong PIN, then a cashier: recall and meters, but no exit.
    staff_login(k, "000000")
    k.qtbot.waitUntil(lambda: w.pin.error.text() == "Wrong PIN.", timeout=15000)
    k.shoot(artifacts, "staff-pin")
    press_keypad(k, w.pin.keypad, CASHIER_PIN)
    k.qtbot.mouseClick(w.pin.ok, Qt.MouseButton.LeftButton)
    k.wait_screen("tech")
    assert not w.tech.buttons["exit"].isEnabled() and "cashier" in w.tech.who.text()
    k.shoot(artifacts, "staff-menu-cashier")

    k.qtbot.mouseClick(w.tech.buttons["recall"], Qt.MouseButton.LeftButton)
    k.wait_screen("recall")
    recalled = w.recall_screen.rounds
    assert len(recalled) == 10 and w.recall_screen.list.count() == 10
    newest_first = list(reversed(shown))[:10]
    for item, result in zip(recalled, newest_first, strict=True):
        assert item.result is not None and item.round.body.draws == list(result.draws)
        assert item.result.win_units == result.win_units and dict(item.result.outcome) == dict(result.outcome)
    assert "replay matches the journal" in w.recall_screen.detail.text()
    assert w.recall_screen.view is not None and w.recall_screen.view.result is not None
    assert list(w.recall_screen.view.result.draws) == list(shown[-1].draws)  # the keno board as it was shown
    k.shoot(artifacts, "recall-keno")
    w.recall_screen.list.setCurrentRow(5)  # a reels round: the reels stand where they stopped
    assert w.recall_screen.view.positions == [float(s) for s in newest_first[5].draws]
    k.shoot(artifacts, "recall-reels")
    k.qtbot.mouseClick(w.recall_screen.back, Qt.MouseButton.LeftButton)

    k.qtbot.mouseClick(w.tech.buttons["meters"], Qt.MouseButton.LeftButton)
    k.wait_screen("meters")
    wagered = sum(r.bet_units for r in shown)
    won = sum(r.win_units for r in shown)
    meters = dict(model.kiosk_meters(k.service.device.journal.entries()).rows())  # type: ignore[union-attr]
    assert w.meters_screen.values["Credits in"].text() == "20.00" == meters["Credits in"]
    assert w.meters_screen.values["Wagered"].text() == model.credits(wagered)
    assert w.meters_screen.values["Won"].text() == model.credits(won)
    assert w.meters_screen.values["Games played"].text() == "12"
    assert w.meters_screen.values["Credits out"].text() == model.credits(20_00 - wagered + won)
    # The meters agree with central once the journal is synced.
    k.qtbot.waitUntil(lambda: central.scalar("SELECT count(*) FROM journal_entries WHERE device_id = :d",
                                             d=k.service.kiosk_id) == 14, timeout=20000)
    assert central.balance(f"wallet:{player.player_id}") == 20_00 + 20_00 - wagered + won
    k.shoot(artifacts, "meters")
    k.qtbot.mouseClick(w.meters_screen.back, Qt.MouseButton.LeftButton)
    k.qtbot.mouseClick(w.tech.buttons["back"], Qt.MouseButton.LeftButton)
    k.wait_screen("attract")

    # Only a technician's PIN ends kiosk mode.
    staff_login(k, TECH_PIN)
    k.wait_screen("tech")
    assert w.tech.buttons["exit"].isEnabled()
    with k.qtbot.waitSignal(w.sig_exit, timeout=5000):
        k.qtbot.mouseClick(w.tech.buttons["exit"], Qt.MouseButton.LeftButton)
    assert not w.isVisible()


def test_reality_check_and_idle_cash_out(kiosk_app: Kiosk, pos: Any, artifacts: Path) -> None:
    k, w, central, clock = kiosk_app, kiosk_app.window, kiosk_app.central, kiosk_app.clock
    limits = Limits()
    player = register_player(pos, 10_00)
    start_session(k, player, None)
    k.qtbot.mouseClick(w.lobby.tiles["fruit-fiesta"], Qt.MouseButton.LeftButton)
    w.view.animation_scale = 0  # type: ignore[union-attr]
    play_round(k)
    for _ in range(limits.reality_check_minutes - 1):  # half an hour of a player touching the screen
        clock.advance(60)
        k.qtbot.mouseClick(w.game.title, Qt.MouseButton.LeftButton)
        w.tick()
    clock.advance(55)
    w.tick()
    assert w.current == "game"
    clock.advance(5)
    w.tick()
    k.wait_screen("choice")
    assert "Time for a break" in w.choice.title.text() and "30:" in w.choice.body.text()
    k.shoot(artifacts, "reality-check")
    k.qtbot.mouseClick(w.choice.buttons["continue"], Qt.MouseButton.LeftButton)
    k.wait_screen("game")
    w.tick()
    assert w.current == "game"  # the next reminder is a full interval away

    escrow = w.session.escrow_units  # type: ignore[union-attr]
    clock.advance(limits.kiosk_idle_cashout_s)
    w.tick()
    k.wait_screen("goodbye")
    assert "timed out" in w.goodbye.title.text() and w.session is None
    k.shoot(artifacts, "goodbye-timeout")
    journal = k.service.device.journal  # type: ignore[union-attr]
    assert [e.body.amount_units for e in journal.entries() if isinstance(e.body, SessionCheckin)] == [escrow]
    assert sum(isinstance(e.body, GameRound) for e in journal.entries()) == 1
    k.qtbot.waitUntil(lambda: central.balance(f"wallet:{player.player_id}") == escrow, timeout=20000)
