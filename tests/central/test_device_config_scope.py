"""What each kind of device is trusted with, and configs from a newer central."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from central_server.device_config import service as config_service
from shared.device_config import DeviceConfig, Limits
from tests.central.conftest import LOCATION, Central
from tests.central.test_device_config import in_tx, opened

Make = Callable[..., Path]


def test_a_kiosk_gets_only_technician_and_cashier_pins_a_pos_gets_everyone(central: Central, enrolled_device: Make) -> None:
    for name, role in (("Ann", "cashier"), ("Max", "manager"), ("Olga", "owner"), ("Ted", "technician")):
        in_tx(central, config_service.add_staff, location_id=LOCATION, name=name, role=role, pin="4821")
    with opened(enrolled_device("kiosk")) as kiosk:
        assert kiosk.pull_config()
        kiosk_config = kiosk.config()
    with opened(enrolled_device("pos")) as pos:
        assert pos.pull_config()
        pos_config = pos.config()
    assert kiosk_config is not None and pos_config is not None
    assert sorted(s.name for s in kiosk_config.staff) == ["Ann", "Ted"]
    assert sorted(s.name for s in pos_config.staff) == ["Ann", "Max", "Olga", "Ted"]


def test_a_device_ignores_limits_added_by_a_newer_central() -> None:
    doc = DeviceConfig("loc", "Cafe", "USD", Limits(void_window_s=42)).to_json()
    doc["limits"]["a_limit_from_the_future_units"] = 7
    assert DeviceConfig.from_json(doc).limits.void_window_s == 42
