"""Kiosk tests run the real window against central's loopback HTTPS fixtures (tests/central/conftest.py)."""

from __future__ import annotations

from tests.central.conftest import central, enrolled_device, pg_only_url, pos  # noqa: F401
from tests.kiosk.harness import clock, db_url, kiosk_app, staff  # noqa: F401
