"""A player tops up their account at the kiosk (issue 8), worked with clicks against the real central
and the Stripe and BTCPay simulators (tests/payments): Card or Crypto, whichever the cafe offers here;
the checkout link as a QR, the payment made on the "phone" and its webhook delivered, the credited
balance on the wallet screen; a redelivered webhook changes nothing; offline is refused plainly, a
retry after a lost answer makes one payment, and a kiosk the cafe does not allow says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt

from central_server.payments import service as payments_service
from kiosk_app.service import TOPUP_NOT_OFFERED, TOPUP_OFFLINE
from shared.entry import utc_timestamp
from shared.protocol import PAYMENTS_PATH
from tests.central.conftest import LOCATION
from tests.kiosk.harness import Kiosk, PlayerCard, register_player
from tests.kiosk.test_kiosk_play import log_in
from tests.payments.conftest import Payments, payments  # noqa: F401 - the fixture


def offer_topups(k: Kiosk, payments: Payments, providers: set[str]) -> None:  # noqa: F811
    """The owner allows these at the location's kiosks; the kiosk pulls its config (on its worker)."""
    with payments.central.engine.begin() as conn:
        payments_service.set_channel(conn, LOCATION, "kiosk", frozenset(providers))
    assert k.service.device is not None
    device = k.service.device
    pulled: list[object] = []
    k.window.worker.run(device.pull_config, pulled.append)
    k.qtbot.waitUntil(lambda: bool(pulled), timeout=15_000)
    config = k.service.config()
    assert config is not None and set(config.topup_providers) == providers


@pytest.fixture
def offered(kiosk_app: Kiosk, payments: Payments) -> None:  # noqa: F811
    offer_topups(kiosk_app, payments, {"stripe", "btcpay"})


def open_topup(k: Kiosk, player: PlayerCard, method: str | None = None) -> None:
    log_in(k, player)
    k.wait_screen("wallet")
    k.qtbot.mouseClick(k.window.wallet.topup, Qt.MouseButton.LeftButton)
    k.wait_screen("topup")
    k.idle()  # what this kiosk offers is read off the GUI thread
    if method is not None:
        k.qtbot.mouseClick(k.window.topup.methods[method], Qt.MouseButton.LeftButton)  # type: ignore[index]
        assert k.window.topup.provider() == method


def press_amount(k: Kiosk, text: str) -> None:
    button = next(b for b in k.window.topup.amount_buttons if b.text() == text)
    k.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def registered_long_ago(k: Kiosk, player: PlayerCard) -> None:
    """Past the "new player" review rule, so a small top-up is credited at once."""
    k.central.execute("UPDATE players SET created_at = :t WHERE id = :i", i=player.player_id,
                      t=utc_timestamp(datetime.now(UTC) - timedelta(days=30)))


def credit_transactions(k: Kiosk, payment_id: str) -> int:
    return int(k.central.scalar("SELECT count(*) FROM ledger_transactions WHERE id = :i", i=f"payment:{payment_id}:credit"))


def test_crypto_topup_shows_the_qr_then_credits_the_wallet_once(kiosk_app: Kiosk, pos: Any, payments: Payments,  # noqa: F811
                                                                offered: None, artifacts: Path) -> None:
    k, w = kiosk_app, kiosk_app.window
    player = register_player(pos, 5_00)
    registered_long_ago(k, player)
    open_topup(k, player, "btcpay")
    press_amount(k, "20.00")
    k.qtbot.waitUntil(lambda: w.topup_payment is not None, timeout=15_000)
    payment = w.topup_payment
    assert payment is not None and payment.provider == "btcpay" and payment.amount_units == 20_00
    assert payment.checkout_url is not None and payment.checkout_url.startswith(payments.btcpay.base_url)
    assert not w.topup.qr.pixmap().isNull() and w.topup.qr.pixmap().width() >= 300
    assert w.topup.amount.text() == "20.00" and w.topup.scan.text() == "Scan with your phone to pay"
    assert w.topup.status.text() == "Waiting for your payment…"
    # The create call may still be unwinding on the worker; the long poll that follows must not count as work.
    k.qtbot.waitUntil(lambda: w.worker.busy == 0, timeout=3_000)
    assert w.topup.status.text() == "Waiting for your payment…", "still waiting: nothing was paid yet"
    k.shoot(artifacts, "topup-qr")

    invoice_id = next(iter(payments.btcpay.invoices))
    with k.qtbot.waitSignal(w.sig_topup_changed, timeout=15_000) as changed:
        settled = payments.btcpay.settle(invoice_id)
        assert payments.btcpay.deliver(settled).answer["outcome"] == "credited"
    assert changed.args[0].status == "credited" and changed.args[0].wallet_units == 25_00
    assert w.topup.status.text() == "Paid. Thank you!" and "25.00" in w.topup.detail.text()
    k.shoot(artifacts, "topup-credited")

    k.wait_screen("wallet")  # back by itself, with the balance central reported
    assert w.wallet.balance.text() == "25.00" and w.player is not None and w.player.balance_units == 25_00
    redelivered = payments.btcpay.deliver(payments.btcpay.redelivery(settled)).answer["outcome"]
    assert redelivered.startswith("redelivery")
    assert payments.wallet(player.player_id) == 25_00 and credit_transactions(k, payment.id) == 1
    assert len(payments.btcpay.invoices) == 1


def test_a_new_players_topup_waits_for_the_cafes_review(kiosk_app: Kiosk, pos: Any, payments: Payments,  # noqa: F811
                                                        offered: None, artifacts: Path) -> None:
    k, w = kiosk_app, kiosk_app.window
    player = register_player(pos, 0)  # registered just now: the first payment waits for a review
    open_topup(k, player, "btcpay")
    press_amount(k, "10.00")
    k.qtbot.waitUntil(lambda: w.topup_payment is not None, timeout=15_000)
    with k.qtbot.waitSignal(w.sig_topup_changed, timeout=15_000) as changed:
        payments.btcpay.deliver(payments.btcpay.settle(next(iter(payments.btcpay.invoices))))
    assert changed.args[0].status == "review"
    assert w.topup.detail.text() == "Your payment is being checked by the cafe; the credits arrive when it is approved."
    assert payments.wallet(player.player_id) == 0
    k.shoot(artifacts, "topup-review")
    k.qtbot.mouseClick(w.topup.done, Qt.MouseButton.LeftButton)
    k.wait_screen("wallet")


def test_offline_is_refused_and_a_retry_after_a_lost_answer_makes_one_payment(
    kiosk_app: Kiosk, pos: Any, payments: Payments, offered: None, artifacts: Path,  # noqa: F811
) -> None:
    k, w = kiosk_app, kiosk_app.window
    player = register_player(pos, 5_00)
    open_topup(k, player, "btcpay")
    k.cable.plugged = False
    press_amount(k, "20.00")
    k.qtbot.waitUntil(lambda: w.topup.error.text() != "", timeout=20_000)
    assert w.topup.error.text() == TOPUP_OFFLINE
    assert w.current == "topup" and w.topup_payment is None and w.topup.amount_buttons[1].isEnabled()
    k.shoot(artifacts, "topup-offline")
    assert k.central.scalar("SELECT count(*) FROM payments WHERE player_id = :p", p=player.player_id) == 0

    # Central makes the payment but its answer never reaches the kiosk.
    lost: list[httpx.Response] = []
    forward = k.cable.handle_request

    def lose_the_answer(request: httpx.Request) -> httpx.Response:
        response = forward(request)
        if request.method == "POST" and request.url.path == PAYMENTS_PATH and not lost:
            response.read()
            lost.append(response)
            raise httpx.ReadTimeout("the answer was lost (test)", request=request)
        return response
    k.cable.handle_request = lose_the_answer  # type: ignore[method-assign]
    k.cable.plugged = True
    w.topup.error.setText("")
    press_amount(k, "20.00")
    k.qtbot.waitUntil(lambda: bool(lost) and w.topup.error.text() != "", timeout=20_000)
    assert w.topup_payment is None
    press_amount(k, "20.00")  # the player tries again: the same attempt, so the same payment
    k.qtbot.waitUntil(lambda: w.topup_payment is not None, timeout=15_000)
    rows = k.central.rows("SELECT id FROM payments WHERE player_id = :p", p=player.player_id)
    assert w.topup_payment is not None and [r.id for r in rows] == [w.topup_payment.id]
    assert len(payments.btcpay.invoices) == 1

    k.qtbot.mouseClick(w.topup.cancel, Qt.MouseButton.LeftButton)  # back to the wallet; the payment stays at central
    k.wait_screen("wallet")
    assert payments.status(rows[0].id)["status"] == "pending"


def test_card_topup_opens_stripe_checkout_as_a_qr_and_the_paid_balance_arrives(
    kiosk_app: Kiosk, pos: Any, payments: Payments, offered: None, artifacts: Path,  # noqa: F811
) -> None:
    k, w = kiosk_app, kiosk_app.window
    player = register_player(pos, 5_00)
    registered_long_ago(k, player)
    open_topup(k, player)
    assert w.topup.methods["stripe"].isVisible() and w.topup.methods["btcpay"].isVisible()
    assert w.topup.provider() == "stripe", "Card is the first choice"
    assert "by card on your phone" in w.topup.method_note.text()
    k.shoot(artifacts, "topup-choose")
    k.qtbot.mouseClick(w.topup.methods["btcpay"], Qt.MouseButton.LeftButton)
    assert "crypto" in w.topup.method_note.text()
    k.qtbot.mouseClick(w.topup.methods["stripe"], Qt.MouseButton.LeftButton)
    press_amount(k, "20.00")
    k.qtbot.waitUntil(lambda: w.topup_payment is not None, timeout=15_000)
    payment = w.topup_payment
    assert payment is not None and payment.provider == "stripe" and payment.amount_units == 20_00
    assert payment.checkout_url is not None and payment.checkout_url.startswith(payments.stripe.base_url + "/c/pay/cs_")
    assert not w.topup.qr.pixmap().isNull() and w.topup.qr.pixmap().width() >= 300
    assert w.topup.price.text() == "You pay 20.00 USD by card"
    assert w.topup.status.text() == "Waiting for your payment…"
    # The create call may still be unwinding on the worker; the long poll that follows must not count as work.
    k.qtbot.waitUntil(lambda: w.worker.busy == 0, timeout=3_000)
    assert w.topup.status.text() == "Waiting for your payment…", "still waiting: nothing was paid yet"
    k.shoot(artifacts, "topup-card-qr")

    # The player's phone opens the code's link and pays on the hosted page; Stripe then sends its event.
    assert httpx.post(payment.checkout_url).status_code == 200
    completed = payments.stripe.events[-1]
    assert completed["type"] == "checkout.session.completed"
    with k.qtbot.waitSignal(w.sig_topup_changed, timeout=15_000) as changed:
        assert payments.stripe.deliver(completed).answer["outcome"] == "credited"
    assert changed.args[0].status == "credited" and changed.args[0].wallet_units == 25_00
    assert w.topup.status.text() == "Paid. Thank you!" and "25.00" in w.topup.detail.text()
    k.shoot(artifacts, "topup-card-credited")
    k.wait_screen("wallet")
    assert w.wallet.balance.text() == "25.00"
    assert payments.stripe.deliver(completed).answer["outcome"].startswith("redelivery")
    assert payments.wallet(player.player_id) == 25_00 and credit_transactions(k, payment.id) == 1


def test_a_kiosk_the_cafe_has_not_allowed_says_so_and_a_refusal_from_central_is_plain(
    kiosk_app: Kiosk, pos: Any, payments: Payments, artifacts: Path,  # noqa: F811
) -> None:
    k, w = kiosk_app, kiosk_app.window
    player = register_player(pos, 5_00)
    offer_topups(k, payments, set())
    open_topup(k, player)
    assert w.topup.provider() is None and not any(b.isVisible() for b in w.topup.amount_buttons)
    assert w.topup.method_note.text() == "Top-ups are not offered at this kiosk. Please see the cashier to buy credits."
    assert w.topup.done.isVisible() and not w.topup.cancel.isVisible()
    k.shoot(artifacts, "topup-not-offered")
    k.qtbot.mouseClick(w.topup.done, Qt.MouseButton.LeftButton)
    k.wait_screen("wallet")

    # Crypto only; then the owner switches kiosks off before this kiosk's next config pull.
    offer_topups(k, payments, {"btcpay"})
    k.qtbot.mouseClick(w.wallet.topup, Qt.MouseButton.LeftButton)
    k.wait_screen("topup")
    k.idle()
    assert not w.topup.methods["btcpay"].isVisible(), "one way to pay needs no choosing"
    assert w.topup.provider() == "btcpay" and "crypto" in w.topup.method_note.text()
    with payments.central.engine.begin() as conn:
        payments_service.set_channel(conn, LOCATION, "kiosk", frozenset())
    press_amount(k, "10.00")
    k.qtbot.waitUntil(lambda: w.topup.error.text() != "", timeout=15_000)
    assert w.topup.error.text() == TOPUP_NOT_OFFERED["topup_channel_off"]
    assert w.topup_payment is None and not payments.btcpay.invoices
    k.shoot(artifacts, "topup-refused")
