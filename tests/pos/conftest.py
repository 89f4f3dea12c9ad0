"""POS tests use central's loopback HTTPS fixtures (tests/central/conftest.py)."""

from __future__ import annotations

from tests.central.conftest import central, db_url, enrolled_device, kiosk, pg_only_url, pos  # noqa: F401
