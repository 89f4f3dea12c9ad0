"""Central's own secrets, as files with mode 0600 in the data directory.

* ``central_signing_key.pem``: Ed25519; central signs what devices must trust
  (vouchers it checks, game packages, configuration).
* ``ca_key.pem`` / ``ca_cert.pem``: a private certificate authority. Devices pin the
  SHA-256 of the CA certificate they were given at enrollment.
* ``tls_key.pem`` / ``tls_cert.pem``: the server certificate for localhost and
  127.0.0.1, signed by that CA.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from central_server.sealing import DataKeys
from shared.canonical import sha256_hex
from shared.errors import CafeError
from shared.signing import encode_b64

SIGNING_KEY_FILE = "central_signing_key.pem"
CA_KEY_FILE = "ca_key.pem"
CA_CERT_FILE = "ca_cert.pem"
TLS_KEY_FILE = "tls_key.pem"
TLS_CERT_FILE = "tls_cert.pem"
CA_VALID_DAYS = 3650
TLS_VALID_DAYS = 825


@dataclass(frozen=True, slots=True)
class CentralKeys:
    signing_key: Ed25519PrivateKey
    ca_fingerprint: str
    tls_cert: Path
    tls_key: Path
    ca_cert: Path
    data_keys: DataKeys  # AES-GCM keys for data at rest (central_server/sealing.py)

    @property
    def public_key_b64(self) -> str:
        return encode_b64(self.signing_key.public_key().public_bytes_raw())


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` readable by its owner only, refusing to overwrite a key."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _pem_private(key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def create_keys(data_dir: Path, hostnames: tuple[str, ...] = ("localhost",), ips: tuple[str, ...] = ("127.0.0.1",)) -> None:
    """Generate every key and certificate that does not exist yet (existing ones are kept)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if not (data_dir / SIGNING_KEY_FILE).exists():
        _write_private(data_dir / SIGNING_KEY_FILE, _pem_private(Ed25519PrivateKey.generate()))
    if not (data_dir / CA_KEY_FILE).exists():
        _create_ca(data_dir)
    if not (data_dir / TLS_KEY_FILE).exists():
        _create_server_cert(data_dir, hostnames, ips)


def _create_ca(data_dir: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cafesuite central CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=CA_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, encipher_only=False, decipher_only=False,
        ), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(data_dir / CA_KEY_FILE, _pem_private(key))
    (data_dir / CA_CERT_FILE).write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _create_server_cert(data_dir: Path, hostnames: tuple[str, ...], ips: tuple[str, ...]) -> None:
    ca_key = serialization.load_pem_private_key((data_dir / CA_KEY_FILE).read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate((data_dir / CA_CERT_FILE).read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=TLS_VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(data_dir / TLS_KEY_FILE, _pem_private(key))
    (data_dir / TLS_CERT_FILE).write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def load_keys(data_dir: Path) -> CentralKeys:
    """Read central's keys, or say which command creates them."""
    missing = [name for name in (SIGNING_KEY_FILE, CA_CERT_FILE, TLS_CERT_FILE, TLS_KEY_FILE) if not (data_dir / name).is_file()]
    if missing:
        raise CafeError(f"{data_dir} has no {', '.join(missing)}; run `cafe central init --data-dir {data_dir}` first")
    signing = serialization.load_pem_private_key((data_dir / SIGNING_KEY_FILE).read_bytes(), password=None)
    if not isinstance(signing, Ed25519PrivateKey):
        raise CafeError(f"{data_dir / SIGNING_KEY_FILE} is not an Ed25519 key")
    ca_cert = x509.load_pem_x509_certificate((data_dir / CA_CERT_FILE).read_bytes())
    return CentralKeys(
        signing_key=signing,
        ca_fingerprint=sha256_hex(ca_cert.public_bytes(serialization.Encoding.DER)),
        tls_cert=data_dir / TLS_CERT_FILE,
        tls_key=data_dir / TLS_KEY_FILE,
        ca_cert=data_dir / CA_CERT_FILE,
        data_keys=DataKeys.load_or_create(data_dir),
    )
