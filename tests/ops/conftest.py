"""Operations tests reuse the central fixtures: a real HTTPS central on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.central.conftest import central, db_url, enrolled_device, kiosk, pg_only_url, pos  # noqa: F401 - fixtures
