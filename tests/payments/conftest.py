"""Payments fixtures: the provider simulators on loopback, accounts for them at central, a player,
and a cashier signed in at the POS (a top-up at the counter names one)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from central_server.device_config import service as staff_service
from central_server.keys import load_keys
from central_server.payments import service
from shared.entry import utc_timestamp
from shared.ids import new_id
from shared.protocol import PAYMENT_WEBHOOKS_PATH, PAYMENTS_PATH
from tests.central.conftest import LOCATION, Central, Device, central, db_url  # noqa: F401 - fixtures
from tests.payments.simulators import BTCPaySim, StripeSim, serve


@dataclass
class Payments:
    central: Central
    pos: Device
    stripe: StripeSim
    btcpay: BTCPaySim
    stripe_account: str
    btcpay_account: str
    cashier_id: str

    @property
    def keys(self):  # type: ignore[no-untyped-def]
        return load_keys(self.central.data_dir).data_keys

    def player(self, *, age_days: int = 30) -> str:
        player_id = new_id()
        created = utc_timestamp(datetime.now(UTC) - timedelta(days=age_days))
        self.central.execute(
            "INSERT INTO players (id, location_id, card_number, display_name, created_at) VALUES (:i, :l, :c, 'P', :t)",
            i=player_id, l=LOCATION, c=f"card-{player_id[-12:]}", t=created,
        )
        return player_id

    def topup(self, player_id: str, amount_units: int, provider: str = "stripe", request_id: str | None = None,
              device: Device | None = None) -> dict:
        response = self.ask(player_id, amount_units, provider, request_id=request_id, device=device)
        assert response.status_code == 200, response.text
        return response.json()

    def ask(self, player_id: str, amount_units: int, provider: str = "stripe", *, request_id: str | None = None,
            device: Device | None = None, staff_id: str | None = "cashier") -> Any:
        """POST a top-up from ``device`` (the POS by default, naming its signed-in cashier)."""
        device = device or self.pos
        body: dict[str, Any] = {"request_id": request_id or new_id(), "player_id": player_id, "amount_units": amount_units,
                                "provider": provider}
        if staff_id is not None and device is self.pos:
            body["staff_id"] = self.cashier_id if staff_id == "cashier" else staff_id
        return device.request("POST", PAYMENTS_PATH, body)

    def status(self, payment_id: str) -> dict:
        response = self.pos.request("GET", f"{PAYMENTS_PATH}/{payment_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def wallet(self, player_id: str) -> int:
        return self.central.balance(f"wallet:{player_id}")


@pytest.fixture
def payments(central: Central) -> Iterator[Payments]:  # noqa: F811 - the imported fixture
    stripe, btcpay = StripeSim(), BTCPaySim()
    servers = [serve(stripe), serve(btcpay)]
    keys = load_keys(central.data_dir).data_keys
    with central.engine.begin() as conn:
        stripe_account = service.add_account(conn, keys, node_id=LOCATION, provider="stripe", base_url=stripe.base_url,
                                              credentials={"secret_key": stripe.secret_key, "webhook_secrets": [stripe.webhook_secret],
                                                           "return_url": "https://luckystar.example/thanks"})
        btcpay_account = service.add_account(conn, keys, node_id="head-office", provider="btcpay", base_url=btcpay.base_url,
                                              credentials={"api_key": btcpay.api_key, "store_id": btcpay.store_id,
                                                           "webhook_secrets": [btcpay.webhook_secret]})
        cashier = staff_service.add_staff(conn, location_id=LOCATION, name="Cass Cashier", role="cashier", pin="97531")
    for sim, provider, acct in ((stripe, "stripe", stripe_account), (btcpay, "btcpay", btcpay_account)):
        sim.webhook_url = f"{central.base_url}{PAYMENT_WEBHOOKS_PATH}/{provider}/{acct}"
        sim.ca_file = central.data_dir / "ca_cert.pem"
    try:
        yield Payments(central, central.enroll("pos"), stripe, btcpay, stripe_account, btcpay_account, cashier)
    finally:
        for server in servers:
            server.stop()
