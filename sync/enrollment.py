"""Enrolling a device with central, and the device's saved identity.

Order matters: the device key is made first (its public half goes to central with the
one-time code), central answers with the device id, and only then is the journal
created, since every entry carries that id. Central's CA certificate is fetched once,
its fingerprint shown to the person enrolling and compared with what central states
in the enrollment answer; from then on TLS trusts that CA and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
import ssl
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from shared import __version__
from shared.errors import CafeError
from shared.protocol import CA_PATH, ENROLL_PATH, DeviceRole
from sync.central_client import CentralClient, CentralRefused, Offline, tls_verify
from sync.journal import Journal
from sync.keystore import KeyStore

DEVICE_FILE = "device.json"
CA_FILE = "central-ca.pem"


class EnrollmentError(CafeError):
    code = "enrollment"


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """What a device knows about itself after enrollment (no secrets: those are in the keyring)."""

    central_url: str
    device_id: str
    location_id: str
    role: str
    ca_fingerprint: str
    central_public_key: str

    def save(self, data_dir: Path) -> None:
        path = Path(data_dir) / DEVICE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, data_dir: Path) -> DeviceIdentity:
        path = Path(data_dir) / DEVICE_FILE
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError as exc:
            raise EnrollmentError(f"{data_dir} holds no enrolled device (no {DEVICE_FILE}); enroll first") from exc
        except (ValueError, TypeError) as exc:
            raise EnrollmentError(f"{path} is damaged: {exc}") from exc

    def tls_verify(self, data_dir: Path) -> str | bool:
        """What httpx should trust: our pinned CA over https, nothing to check over plain http."""
        return str(Path(data_dir) / CA_FILE) if self.central_url.startswith("https://") else False


def is_enrolled(data_dir: Path) -> bool:
    return (Path(data_dir) / DEVICE_FILE).is_file()


def fetch_ca(central_url: str, timeout_s: float = 10.0) -> tuple[str, str]:
    """Central's CA certificate (PEM) and its SHA-256 fingerprint, to show a person before trusting it."""
    if not central_url.startswith("https://"):
        return "", ""
    try:
        # Trust on first use, confirmed by a person comparing the fingerprint: there is
        # nothing to verify the certificate against before we have it.
        response = httpx.get(central_url.rstrip("/") + CA_PATH, verify=False, timeout=timeout_s)
    except httpx.TransportError as exc:
        raise Offline(f"central at {central_url} is unreachable: {exc}") from exc
    if response.status_code != 200:
        raise EnrollmentError(f"central did not hand out its CA certificate (HTTP {response.status_code})")
    pem = response.text
    der = ssl.PEM_cert_to_DER_cert(pem)
    return pem, hashlib.sha256(der).hexdigest()


def enroll(
    data_dir: Path,
    central_url: str,
    code: str,
    role: DeviceRole,
    *,
    expected_ca_fingerprint: str | None = None,
    keystore: KeyStore | None = None,
    transport: httpx.BaseTransport | None = None,
) -> DeviceIdentity:
    """Enroll this device with a one-time code and create its journal."""
    data_dir = Path(data_dir)
    if is_enrolled(data_dir):
        raise EnrollmentError(f"{data_dir} is already enrolled as a device; use a new data folder to enroll again")
    data_dir.mkdir(parents=True, exist_ok=True)
    central_url = central_url.rstrip("/")
    pem, fingerprint = fetch_ca(central_url) if transport is None else ("", "")
    if expected_ca_fingerprint and fingerprint and expected_ca_fingerprint.lower() != fingerprint:
        raise EnrollmentError("central's CA fingerprint is not the one you confirmed; do not enroll against this server")
    if pem:
        (data_dir / CA_FILE).write_text(pem)
    verify: str | bool = str(data_dir / CA_FILE) if pem else False
    keystore = keystore or KeyStore(data_dir)
    key = keystore.device_key() if keystore.has_device_key() else keystore.create_device_key()
    payload: dict[str, Any] = {
        "code": code.strip(), "public_key": key.public_key_b64(), "role": role,
        "app_version": __version__, "hostname": os.uname().nodename if hasattr(os, "uname") else "",
    }
    try:
        with httpx.Client(base_url=central_url, verify=tls_verify(verify), timeout=15.0, transport=transport) as http:
            response = http.post(ENROLL_PATH, json=payload)
    except httpx.TransportError as exc:
        raise Offline(f"central at {central_url} is unreachable: {exc}") from exc
    data = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if response.status_code >= 400:
        raise CentralRefused(f"enrollment refused: {data.get('message', response.text[:200])}",
                             code=str(data.get("code", "enrollment")), http_status=response.status_code)
    if fingerprint and data.get("ca_fingerprint") != fingerprint:
        raise EnrollmentError("central's answer names a different CA than the one it served; enrollment stopped")
    identity = DeviceIdentity(
        central_url=central_url, device_id=data["device_id"], location_id=data["location_id"], role=data["role"],
        ca_fingerprint=data["ca_fingerprint"], central_public_key=data["central_public_key"],
    )
    Journal.create(data_dir, identity.device_id, keystore).close()
    identity.save(data_dir)
    return identity


def client_for(data_dir: Path, keystore: KeyStore | None = None, **kwargs: Any) -> CentralClient:
    """The signed client of an enrolled device."""
    identity = DeviceIdentity.load(data_dir)
    keystore = keystore or KeyStore(data_dir)
    return CentralClient(identity.central_url, identity.device_id, keystore.device_key(),
                         verify=identity.tls_verify(data_dir), **kwargs)
