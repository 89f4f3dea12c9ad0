"""Games tests run against central's loopback HTTPS fixtures (tests/central/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.device import Device
from sync.packages import GameLibrary
from tests.central.conftest import Central, central, db_url, enrolled_device, kiosk, pg_only_url, pos  # noqa: F401


@pytest.fixture
def kiosk_device(central: Central, enrolled_device: object) -> Iterator[Device]:  # noqa: F811
    """A kiosk really enrolled against ``central``, opened from its data folder (sync not started)."""
    assert callable(enrolled_device)
    device = Device.open(Path(enrolled_device("kiosk")))
    try:
        yield device
    finally:
        device.close()


@pytest.fixture
def library(kiosk_device: Device) -> Iterator[GameLibrary]:
    lib = GameLibrary(kiosk_device)
    try:
        yield lib
    finally:
        lib.close()
