"""Limits set at central reach the counter and hold there: the location's daily sales limit
(net of voids) and the cashier's shift limit refuse a sale with the reason, and nothing is journaled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from pos_app.rules import Refused
from shared.protocol import PLAYERS_PATH
from tests.central.conftest import LOCATION, Central, Device
from tests.pos.harness import PINS, add_team, open_station


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'central.db'}"


def _limit(central: Central, name: str, value: int) -> None:
    central.execute("INSERT INTO node_limits (node_id, name, value, updated_at) VALUES (:n, :k, :v, 'x')",
                    n=LOCATION, k=name, v=value)


@pytest.mark.parametrize(("limit", "reason"), [("daily_sales_limit_units", "the location's daily sales limit of 50.00 credits"),
                                               ("shift_limit_units", "the shift's sales limit; ask a manager")])
def test_daily_and_shift_limits_refuse_a_sale_with_the_reason(qtbot: QtBot, central: Central, enrolled_device: Any,
                                                              pos: Device, limit: str, reason: str) -> None:
    _limit(central, limit, 50_00)
    team = add_team(central)
    ada = pos.request("POST", PLAYERS_PATH + "/register", {"full_name": "Ada Lovelace", "date_of_birth": "1990-12-10",
                                                           "phone": "+1 555 010 2000", "pin": "4321"}).json()
    st = open_station(qtbot, central, enrolled_device("pos"), team)
    try:
        service = st.service
        cashier = service.login(team["cashier"], PINS["cashier"])
        manager = service.approve(PINS["manager"])
        service.open_shift(cashier, {1000: 2})
        player = service.player(ada["player_id"])
        service.sell(cashier, player, 30_00, tender="cash", tendered_units=30_00)
        before = service.device.journal.count()
        with pytest.raises(Refused, match=reason):
            service.sell(cashier, player, 30_00, tender="cash", tendered_units=30_00)
        assert service.device.journal.count() == before  # a refused sale leaves no trace
        service.void_last_sale(cashier, manager, "wrong amount")  # a voided sale no longer counts
        service.sell(cashier, player, 40_00, tender="cash", tendered_units=40_00)
        with pytest.raises(Refused, match=reason):
            service.sell(cashier, player, 20_00, tender="cash", tendered_units=20_00)
    finally:
        st.window.close()


def test_the_screen_locks_itself_after_idle_time_and_input_keeps_it_open(qtbot: QtBot, central: Central,
                                                                         enrolled_device: Any) -> None:
    from PySide6.QtCore import Qt

    team = add_team(central)
    st = open_station(qtbot, central, enrolled_device("pos"), team)
    now = [1000.0]
    try:
        st.window.idle_clock = lambda: now[0]
        st.login("cashier")
        assert st.window.cashier is not None
        lock_s = st.window.limits.screen_lock_s
        now[0] += lock_s - 5
        st.qtbot.keyClick(st.window.stack.currentWidget(), Qt.Key.Key_Shift)  # the cashier is still there
        now[0] += 10
        st.window.tick()
        assert st.window.cashier is not None, "input restarts the idle time"
        now[0] += lock_s + 1
        st.window.tick()
        assert st.window.cashier is None and st.window.stack.currentWidget() is st.window.login_screen
        assert "Locked. Sign in to continue." in st.window.login_screen.message.text()
    finally:
        st.window.close()
