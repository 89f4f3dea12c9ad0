"""Console fixtures: the real HTTPS central of tests/central, people to sign in as, a browser.

``Browser`` sessions talk to the server exactly as a person's browser does: cookies
(Secure, so HTTPS), the CSRF token read from the page, TOTP codes computed from the secret
the enrolment page shows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp
import pytest

from central_server.admin import service as admin
from central_server.audit.log import Actor
from central_server.console import service as console_service
from central_server.console.credits import set_credit_line
from central_server.device_config import service as config
from central_server.devices import service as devices
from shared.protocol import ENROLL_PATH, HEARTBEAT_PATH
from shared.signing import DeviceKey
from tests.central.conftest import ADMIN_PASSWORD, Central, central, db_url, pos, tls_context  # noqa: F401 - fixtures

PASSWORD = "a long enough password 1"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET_RE = re.compile(r'id="totp-secret">([A-Z2-7]+)<')
FLASH_RE = re.compile(r'class="flash flash-(ok|error)"[^>]*>([^<]*)<')
BEAT = {"app_version": "9.9.9", "outbox_depth": 3, "oldest_unacked_age_s": 12, "last_sync_result": "ok"}
CLI = Actor("test-setup", "127.0.0.1")


def flash(html: str) -> tuple[str, str] | None:
    match = FLASH_RE.search(html)
    return (match.group(1), match.group(2).strip()) if match else None


@dataclass
class Browser:
    """One signed-in (or not yet) console session over real HTTPS."""

    client: httpx.Client
    csrf: str = ""

    def get(self, path: str) -> httpx.Response:
        response = self.client.get(path)
        match = CSRF_RE.search(response.text)
        if match:
            self.csrf = match.group(1)
        return response

    def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.csrf
        return self.client.post(path, data=form)

    def login(self, username: str, password: str, *, totp_secret: str | None = None, at_s: int | None = None) -> str | None:
        """Sign in; for a TOTP role enrol (returning the secret) or answer with the code for ``at_s``."""
        self.get("/console/login")
        response = self.post("/console/login", {"username": username, "password": password})
        assert response.status_code == 303, response.text
        if response.headers["location"].endswith("/console/"):
            self.get("/console/")
            return None
        page = self.get("/console/login/totp")
        secret = totp_secret
        if secret is None:
            found = SECRET_RE.search(page.text)
            assert found, "the enrolment page shows the secret"
            secret = found.group(1)
        code = pyotp.TOTP(secret).at(at_s if at_s is not None else int(time.time()))
        response = self.post("/console/login/totp", {"code": code})
        assert response.status_code == 303 and response.headers["location"].endswith("/console/"), response.text
        self.get("/console/")
        return secret


def browser_for(srv: Central) -> Browser:
    return Browser(httpx.Client(base_url=srv.base_url, verify=tls_context(srv.data_dir), timeout=30))


def add_user(srv: Central, username: str, role: str, node_id: str) -> int:
    with srv.engine.begin() as conn:
        return console_service.create_user(conn, CLI, actor_role="head_office_admin", node_id=node_id, username=username,
                                           display_name=username.title(), role=role, password=PASSWORD)


def add_nodes(srv: Central, *nodes: tuple[str, str, str]) -> None:
    """(id, kind, parent) in order."""
    with srv.engine.begin() as conn:
        for node_id, kind, parent in nodes:
            admin.add_node(conn, node_id=node_id, kind=kind, name=node_id.replace("-", " ").title(), parent_id=parent)


def set_line(srv: Central, node_id: str, units: int) -> None:
    with srv.engine.begin() as conn:
        set_credit_line(conn, CLI, node_id, units)


def enroll_device(srv: Central, location_id: str, role: str = "pos") -> tuple[str, DeviceKey]:
    with srv.engine.begin() as conn:
        code, _ = devices.create_enroll_code(conn, location_id=location_id, role=role, ttl_s=3600)
    key = DeviceKey.generate()
    response = srv.client.post(ENROLL_PATH, json={"code": code, "public_key": key.public_key_b64(), "role": role,
                                                      "app_version": "9.9.9", "hostname": f"{role}-{location_id}"})
    assert response.status_code == 200, response.text
    return response.json()["device_id"], key


def heartbeat(srv: Central, device_id: str, key: DeviceKey) -> httpx.Response:
    import json

    from shared.protocol import sign_request

    body = json.dumps(BEAT).encode()
    headers = sign_request(key, device_id, "POST", HEARTBEAT_PATH, body, int(time.time()))
    headers["Content-Type"] = "application/json"
    return srv.client.post(HEARTBEAT_PATH, content=body, headers=headers)


def add_staff(srv: Central, location_id: str, name: str) -> str:
    with srv.engine.begin() as conn:
        return config.add_staff(conn, location_id=location_id, name=name, role="cashier", pin="4321")


@pytest.fixture
def sqlite_central(tmp_path: Path) -> Iterator[Central]:
    """The real HTTPS central on SQLite only (browser tests: one database is enough there)."""
    from central_server.app import create_app
    from central_server.keys import load_keys
    from tests.central.conftest import ServerThread, prepare_central

    data_dir = tmp_path / "central-data"
    engine = prepare_central(data_dir, f"sqlite:///{tmp_path / 'central.db'}")
    keys = load_keys(data_dir)
    server = ServerThread(create_app(engine, keys), keys.tls_cert, keys.tls_key)
    server.start()
    client = httpx.Client(base_url=f"https://127.0.0.1:{server.port}", verify=tls_context(data_dir), timeout=30)
    try:
        yield Central(f"https://127.0.0.1:{server.port}", engine, data_dir, str(engine.url), client)
    finally:
        client.close()
        server.stop()
        engine.dispose()


__all__ = ["ADMIN_PASSWORD", "Browser", "Central"]
