"""Reports tests reuse the real loopback central (HTTPS uvicorn over SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.central.conftest import central, db_url, kiosk, pos  # noqa: F401 - fixtures re-exported for this folder
