"""Test-wide setup: offscreen Qt, a private keyring file per test, and PostgreSQL.

PostgreSQL is a real dependency of the suite: when it is missing the tests that need it
fail with the reason, they are never skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ARTIFACTS = Path(__file__).parent / "artifacts"
PG_ADMIN_URL = os.environ.get("CAFE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(autouse=True)
def keyring_file(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own explicit file keyring (this machine has no OS keyring)."""
    path = tmp_path_factory.mktemp("keyring") / "keys.cfg"
    monkeypatch.setenv("CAFE_KEYRING_FILE", str(path))
    return path


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    from central_server.db import scratch_database

    with ExitStack() as stack:
        try:
            url = stack.enter_context(scratch_database(PG_ADMIN_URL, "cafe_test"))
        except psycopg.OperationalError as exc:
            pytest.fail(f"PostgreSQL is required and not reachable at {PG_ADMIN_URL}: {exc}")
        yield url


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the whole session (Debian's, not a downloaded one).

    Playwright's sync API owns the thread's event loop while it runs, so every browser test
    shares this one instead of starting its own.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
