"""A kiosk's cash-out ticket paid at the counter while central is down: the POS checks the
ticket's signature with the kiosk key from its pulled config (DESIGN §5), pays a genuine one
up to the offline limit, never a forged one, and central records the payout once on return."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from pos_app.screens import PayoutScreen
from tests.central.conftest import Central, Device
from tests.pos.harness import add_team, open_station
from tests.pos.test_pos_app import _issue_voucher, _screen, open_shift


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'central.db'}"


def test_a_signed_ticket_is_paid_offline_within_the_limit_and_a_forged_one_never(
        qtbot: QtBot, central: Central, enrolled_device: Any, kiosk: Device, artifacts: Path) -> None:
    team = add_team(central)
    genuine, large = _issue_voucher(kiosk, 3_000), _issue_voucher(kiosk, 15_000)  # the offline limit is 100.00
    st = open_station(qtbot, central, enrolled_device("pos"), team)  # its first config pull lists the kiosk's key
    try:
        assert st.service.device.config() is not None
        assert st.service.device.config().kiosk_key(kiosk.device_id) is not None  # type: ignore[union-attr]
        st.login("cashier")
        open_shift(st, {2000: 10})
        st.line.down = True
        payout = _screen(st, PayoutScreen)
        fields = genuine.split("|")
        fields[3] = "9000"  # the amount raised on a copied ticket: the kiosk's signature no longer matches
        st.scan("|".join(fields))
        st.wait(lambda: "signature does not verify" in payout.message.text())
        assert not payout.pay_ticket.isEnabled()
        st.scan(large)
        st.wait(lambda: payout.pay_ticket.isEnabled())
        st.key(Qt.Key.Key_Return, payout)
        st.idle()
        st.wait(lambda: st.window.dialog is not None or "offline" in payout.message.text().lower())
        if st.window.dialog is not None:  # 150.00 is above the payout approval threshold too
            st.approve("9999")
        st.wait(lambda: "only signed tickets up to 100.00 credits are paid offline" in payout.message.text())
        st.scan(genuine)
        st.wait(lambda: payout.pay_ticket.isEnabled())
        st.key(Qt.Key.Key_Return, payout)
        st.idle()
        st.wait(lambda: payout.message.text().startswith("Paid offline"))  # the cashier is told central checks it later
        st.shoot(artifacts, "payout-ticket-offline")
        assert central.scalar("SELECT count(*) FROM vouchers WHERE status = 'redeemed'") == 0  # central has heard nothing
        st.line.down = False
        st.wait(lambda: central.scalar("SELECT count(*) FROM journal_entries WHERE kind = 'voucher_redemption'") == 1, 20_000)
        assert central.balance(f"voucher:{genuine.split('|')[1]}") == 0
        assert central.balance(f"voucher:{large.split('|')[1]}") == 15_000  # the large one was never paid
    finally:
        st.window.close()


def test_a_ticket_larger_than_the_drawer_waits_for_cash_from_the_safe(
        qtbot: QtBot, central: Central, enrolled_device: Any, kiosk: Device) -> None:
    team = add_team(central)
    ticket = _issue_voucher(kiosk, 8_000)
    st = open_station(qtbot, central, enrolled_device("pos"), team)
    try:
        st.login("cashier")
        open_shift(st, {2000: 2})  # 40.00 in the drawer
        st.scan(ticket)
        payout = _screen(st, PayoutScreen)
        st.wait(lambda: payout.pay_ticket.isEnabled())
        st.key(Qt.Key.Key_Return, payout)
        st.idle()
        assert "The drawer holds only 40.00: a manager adds cash from the safe first" in payout.message.text()
        assert central.scalar("SELECT count(*) FROM vouchers WHERE status = 'redeemed'") == 0  # central was not asked
        st.key(Qt.Key.Key_F7)
        adjust = st.window.screens["adjust"]
        st.qtbot.keyClicks(adjust.amount, "100.00")
        st.qtbot.keyClick(adjust.amount, Qt.Key.Key_Return)
        st.approve("9999", reason="change from the safe")
        st.wait(lambda: st.window.shift is not None and st.window.shift.expected_cash_units == 14_000)
        st.key(Qt.Key.Key_F3)
        st.scan(ticket)
        st.wait(lambda: payout.pay_ticket.isEnabled())
        st.key(Qt.Key.Key_Return, payout)
        st.idle()
        st.wait(lambda: payout.message.text().startswith("Paid."))
        assert st.window.shift.expected_cash_units == 6_000  # type: ignore[union-attr]
        st.wait(lambda: central.scalar("SELECT count(*) FROM vouchers WHERE status = 'redeemed'") == 1)
    finally:
        st.window.close()
