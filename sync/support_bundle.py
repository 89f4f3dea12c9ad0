"""``cafe support-bundle``: what a technician needs from a POS or kiosk, without any secret.

The bundle (a zip) holds the device's rotating logs, the output of ``cafe journal verify``,
its identity (device.json: ids, central's URL and public fingerprints) and a short
``about.json``. It never holds the journal itself, the keyring or its file, or any key:
every text that goes in is also searched for the device's own secrets (journal key,
signing key, in hex and base64) and any hit is replaced with ``[REDACTED]``, so even a
log line that printed a key by mistake does not leak it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import socket
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared import __version__
from shared.errors import CafeError
from sync.logs import logs_dir

MAX_LOG_BYTES = 50 * 1024 * 1024   # newest first; an old rotated file beyond this stays behind
MAX_LOG_FILES = 50
REDACTED = "[REDACTED]"
_IDENTITY_FIELDS = ("central_url", "device_id", "location_id", "role", "ca_fingerprint", "central_public_key")


class SupportBundleError(CafeError):
    code = "support_bundle"


@dataclass(frozen=True, slots=True)
class BundleSummary:
    path: Path
    files: tuple[str, ...]
    redactions: int
    journal_ok: bool | None  # None: the journal could not be opened


def _secrets(data_dir: Path) -> list[str]:
    """The device's secrets in the spellings a log line could carry them in (longest first)."""
    from sync.keystore import KeyStore

    found: list[bytes] = []
    try:
        store = KeyStore(data_dir)
        if store.has_journal_key():
            found.append(store.journal_key())
        if store.has_device_key():
            found.append(store.device_key().private_bytes())
    except CafeError:
        return []  # no keyring here: then no secret can be read into the bundle either
    spellings: set[str] = set()
    for raw in found:
        spellings |= {raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode(),
                      base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    return sorted(spellings, key=len, reverse=True)


def _scrub(text: str, secrets: list[str]) -> tuple[str, int]:
    hits = 0
    for secret in secrets:
        count = text.count(secret)
        if count:
            hits += count
            text = text.replace(secret, REDACTED)
    return text, hits


def _journal_report(data_dir: Path) -> tuple[str, bool | None]:
    from sync.journal import Journal

    try:
        with Journal.open(data_dir) as journal:
            report = journal.verify()
    except CafeError as exc:
        return f"the journal could not be opened: {exc.message}\n", None
    return report.summary() + "\n", report.ok


def _identity(data_dir: Path) -> dict[str, Any] | None:
    path = data_dir / "device.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {"error": "device.json is not valid JSON"}
    # Only the known public fields: a future field is left out until someone decides it is harmless.
    return {name: data[name] for name in _IDENTITY_FIELDS if name in data}


def _log_files(data_dir: Path) -> list[Path]:
    folder = logs_dir(data_dir)
    if not folder.is_dir():
        return []
    files = sorted((p for p in folder.iterdir() if p.is_file() and ".log" in p.name), key=lambda p: p.stat().st_mtime, reverse=True)
    chosen, total = [], 0
    for path in files[:MAX_LOG_FILES]:
        total += path.stat().st_size
        if total > MAX_LOG_BYTES:
            break
        chosen.append(path)
    return chosen


def build_support_bundle(data_dir: Path, out: Path) -> BundleSummary:
    data_dir = Path(data_dir)
    if not (data_dir / "device.json").is_file() and not (data_dir / "journal.db").is_file():
        raise SupportBundleError(f"{data_dir} is not a device data directory (no device.json or journal.db)")
    if not out.parent.is_dir():
        raise SupportBundleError(f"cannot write {out}: folder {out.parent} does not exist")
    secrets = _secrets(data_dir)
    redactions = 0
    members: dict[str, str] = {}
    for path in _log_files(data_dir):
        text, hits = _scrub(path.read_text(encoding="utf-8", errors="replace"), secrets)
        members[f"logs/{path.name}"] = text
        redactions += hits
    verify_text, journal_ok = _journal_report(data_dir)
    members["journal-verify.txt"], hits = _scrub(verify_text, secrets)
    redactions += hits
    identity = _identity(data_dir)
    if identity is not None:
        members["device.json"], hits = _scrub(json.dumps(identity, indent=2) + "\n", secrets)
        redactions += hits
    members["about.json"] = json.dumps({
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cafesuite_version": __version__,
        "hostname": socket.gethostname(), "platform": platform.platform(), "python": sys.version.split()[0],
        "journal_ok": journal_ok, "redactions": redactions, "files": sorted(members),
    }, indent=2) + "\n"
    partial = out.with_name(f".{out.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # logs may name players: not world-readable
    with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    os.replace(partial, out)
    return BundleSummary(out, tuple(sorted(members)), redactions, journal_ok)


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "support-bundle", help="pack a device's logs and journal check for a technician (no secrets)")
    parser.add_argument("--data-dir", type=Path, required=True, help="the POS or kiosk data directory")
    parser.add_argument("--out", type=Path, required=True, help="the .zip file to write")
    parser.set_defaults(func=run_support_bundle)


def run_support_bundle(args: argparse.Namespace) -> int:
    summary = build_support_bundle(args.data_dir, args.out)
    verdict = {True: "journal verifies", False: "journal FAILS verification", None: "journal could not be opened"}[summary.journal_ok]
    print(f"support bundle {summary.path}: {len(summary.files)} files, {verdict}, {summary.redactions} secret(s) redacted")
    return 0
