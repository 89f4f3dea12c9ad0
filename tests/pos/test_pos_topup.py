"""The POS's online top-up (F9) driven with keys and clicks against the real central and the
provider simulators (tests/payments): the QR and link, the credited balance, a review, and
what a cashier sees when central cannot be reached or its answer is lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from central_server.audit.service import verify
from pos_app.screens import credits
from pos_app.topup_screen import TopupScreen
from shared.protocol import PAYMENTS_PATH
from sync.payments import Provider
from tests.central.conftest import Central
from tests.payments.conftest import Payments, payments  # noqa: F401 - the fixture
from tests.pos.harness import Station, add_team, open_station
from tests.pos.test_pos_app import choose_player, open_shift


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """The app tests run on SQLite (tests/payments covers PostgreSQL)."""
    return f"sqlite:///{tmp_path / 'central.db'}"


@pytest.fixture
def station(qtbot: QtBot, central: Central, enrolled_device: Any, payments: Payments) -> Iterator[Station]:  # noqa: F811
    st = open_station(qtbot, central, enrolled_device("pos"), add_team(central))
    yield st
    st.window.close()


def topup_screen(st: Station) -> TopupScreen:
    screen = st.window.screens["topup"]
    assert isinstance(screen, TopupScreen)
    return screen


def card_of(player_id: str) -> str:
    return f"card-{player_id[-12:]}"  # what Payments.player() gives the card


def open_topup(st: Station, player_id: str) -> TopupScreen:
    """A cashier signs in, opens the drawer, chooses the player, presses F9."""
    st.login("cashier")
    open_shift(st, {1000: 2})
    choose_player(st, card_of(player_id))
    st.key(Qt.Key.Key_F9)
    screen = topup_screen(st)
    st.wait(lambda: st.window.stack.currentWidget() is screen)
    return screen


def key_amount(st: Station, screen: TopupScreen, digits: str, provider: Provider) -> None:
    screen.setFocus()
    for digit in digits:
        st.qtbot.keyClick(screen, digit)
    st.qtbot.mouseClick(screen.providers[provider], Qt.MouseButton.LeftButton)
    assert screen.provider() == provider


def press_start(st: Station, screen: TopupScreen) -> None:
    st.qtbot.keyClick(screen, Qt.Key.Key_Return)


def credit_transactions(central: Central, payment_id: str) -> int:
    return int(central.scalar("SELECT count(*) FROM ledger_transactions WHERE id = :i", i=f"payment:{payment_id}:credit"))


def assert_ledger_ok(central: Central) -> None:
    with central.engine.connect() as conn:
        report = verify(conn)
    assert report.ok, report.summary()


def test_crypto_topup_shows_the_qr_then_the_credited_balance(station: Station, payments: Payments,  # noqa: F811
                                                             artifacts: Path) -> None:
    st, player = station, payments.player()
    screen = open_topup(st, player)
    key_amount(st, screen, "2500", "btcpay")
    assert screen.amount.text() == credits(25_00)
    press_start(st, screen)
    st.wait(lambda: screen.payment is not None)
    assert screen.payment is not None
    payment_id = screen.payment.id
    assert screen.payment.provider == "btcpay" and screen.payment.amount_units == 25_00
    assert screen.link.text().startswith(payments.btcpay.base_url) and screen.link.text() == screen.payment.checkout_url
    assert not screen.qr.pixmap().isNull() and screen.qr.pixmap().width() > 100
    assert screen.status.text() == "Waiting for payment…" and "25.00" in screen.detail.text()
    # The create call may still be unwinding on the worker; the long poll that follows must not count as busy.
    st.wait(lambda: st.window.worker.busy == 0, timeout_ms=3_000)
    assert screen.status.text() == "Waiting for payment…", "still waiting: nothing was paid yet"
    st.shoot(artifacts, "topup-waiting")

    inv_id = next(iter(payments.btcpay.invoices))
    with st.qtbot.waitSignal(screen.sig_payment_changed, timeout=10_000) as changed:
        settled = payments.btcpay.settle(inv_id)
        assert payments.btcpay.deliver(settled).answer["outcome"] == "credited"
    assert changed.args[0].status == "credited"
    assert screen.status.text() == "Credited"
    assert f"Wallet balance now {credits(25_00)}" in screen.detail.text()
    st.wait(lambda: st.window.player is not None and st.window.player.balance_units == 25_00)
    st.shoot(artifacts, "topup-credited")

    redelivered = payments.btcpay.deliver(payments.btcpay.redelivery(settled)).answer["outcome"]
    assert redelivered.startswith("redelivery")
    assert payments.wallet(player) == 25_00 and credit_transactions(st.central, payment_id) == 1
    assert len(payments.btcpay.invoices) == 1
    assert_ledger_ok(st.central)


def test_large_card_topup_waits_for_review(station: Station, payments: Payments, artifacts: Path) -> None:  # noqa: F811
    st, player = station, payments.player()
    screen = open_topup(st, player)
    key_amount(st, screen, "25000", "stripe")  # above the default review threshold of 200.00
    press_start(st, screen)
    st.wait(lambda: screen.payment is not None)
    assert screen.payment is not None and screen.payment.checkout_url is None
    assert screen.qr.pixmap().isNull() and "card terminal" in screen.message.text()
    pi_id = next(iter(payments.stripe.intents))
    with st.qtbot.waitSignal(screen.sig_payment_changed, timeout=10_000) as changed:
        payments.stripe.deliver(payments.stripe.succeed(pi_id))
    assert changed.args[0].status == "review"
    assert screen.status.text() == "In review"
    assert "waits for a manager's review in the console" in screen.detail.text()
    assert "threshold" in screen.detail.text() or "above" in screen.detail.text()
    assert payments.wallet(player) == 0
    st.shoot(artifacts, "topup-review")


def test_offline_is_refused_and_a_retry_after_a_lost_answer_makes_one_payment(
    station: Station, payments: Payments, artifacts: Path,  # noqa: F811
) -> None:
    st, player = station, payments.player()
    screen = open_topup(st, player)
    key_amount(st, screen, "1000", "btcpay")
    st.line.down = True
    press_start(st, screen)
    st.wait(lambda: "unreachable" in screen.message.text())
    assert "online top-ups need the connection" in screen.message.text() and screen.message.objectName() == "error"
    assert screen.payment is None and screen.start.isEnabled()
    st.shoot(artifacts, "topup-offline")

    # Central makes the payment but its answer never reaches the station.
    line, lost = st.line, list[httpx.Response]()
    forward = line.inner.handle_request

    def lose_the_answer(request: httpx.Request) -> httpx.Response:
        response = forward(request)
        if request.method == "POST" and request.url.path == PAYMENTS_PATH and not lost:
            response.read()
            lost.append(response)
            raise httpx.ReadTimeout("the answer was lost (test)", request=request)
        return response
    line.inner.handle_request = lose_the_answer  # type: ignore[method-assign]
    line.down = False
    press_start(st, screen)
    st.wait(lambda: bool(lost) and "unreachable" in screen.message.text())
    assert screen.payment is None
    press_start(st, screen)  # the cashier tries again: the same attempt, so the same payment
    st.wait(lambda: screen.payment is not None)
    assert screen.payment is not None and screen.payment.status == "pending"
    rows = st.central.rows("SELECT id FROM payments WHERE player_id = :p", p=player)
    assert [r.id for r in rows] == [screen.payment.id] and len(payments.btcpay.invoices) == 1

    st.key(Qt.Key.Key_Escape)  # leaves the screen; the payment stays at central
    st.wait(lambda: st.window.stack.currentWidget() is not screen)
    assert payments.status(rows[0].id)["status"] == "pending"


def test_a_topup_the_location_no_longer_allows_is_refused_in_plain_words(
    station: Station, payments: Payments, artifacts: Path,  # noqa: F811
) -> None:
    from central_server.payments import service as payments_service
    from tests.central.conftest import LOCATION

    st, player = station, payments.player()
    screen = open_topup(st, player)
    assert all(radio.isEnabled() for radio in screen.providers.values()), "the config offers both at the counter"

    # Card payments switched off after this station pulled its config: central refuses, the card choice goes away.
    with st.central.engine.begin() as conn:
        payments_service.set_channel(conn, LOCATION, "pos", frozenset({"btcpay"}))
    key_amount(st, screen, "1000", "stripe")
    press_start(st, screen)
    st.wait(lambda: "does not offer that way" in screen.message.text())
    assert not screen.providers["stripe"].isEnabled() and screen.providers["btcpay"].isEnabled()
    assert screen.provider() == "btcpay" and screen.start.isEnabled()

    # Then every way: the refusal says so, and nothing on the screen invites a retry.
    with st.central.engine.begin() as conn:
        payments_service.set_channel(conn, LOCATION, "pos", frozenset())
    press_start(st, screen)
    st.wait(lambda: "switched off" in screen.message.text())
    assert screen.message.text() == ("Online top-ups at the counter are switched off for this location; "
                                     "sell for cash or card instead")
    assert screen.message.objectName() == "error" and screen.payment is None
    assert not screen.start.isEnabled() and not any(radio.isEnabled() for radio in screen.providers.values())
    press_start(st, screen)
    assert screen.message.text() == "Online top-ups are not offered at this counter right now."
    assert not payments.stripe.intents and not payments.btcpay.invoices
    st.shoot(artifacts, "topup-refused")
