"""Encryption at rest for what central must store but not show: player personal data,
payment provider credentials (DESIGN §7).

AES-256-GCM under data keys kept in ``data_keys.json`` in central's data directory
(mode 0600), never in the database, so a stolen database dump reveals nothing. Each
sealed value names the key that sealed it, so keys can be rotated: ``rotate`` adds a
new current key, old values stay readable, and ``reseal`` moves a value to the current
key. Exact-match search works without decrypting every row through ``blind_index``: an
HMAC of the normalised value under a separate index key (per purpose), stored beside
the sealed value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.errors import CafeError

DATA_KEYS_FILE = "data_keys.json"
_PREFIX = "v1"


class SealingError(CafeError):
    code = "sealing"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class DataKeys:
    current: str
    keys: dict[str, bytes]
    index_key: bytes
    path: Path | None = None

    @classmethod
    def generate(cls, path: Path | None = None) -> DataKeys:
        return cls(current="k1", keys={"k1": AESGCM.generate_key(bit_length=256)}, index_key=secrets.token_bytes(32), path=path)

    @classmethod
    def load_or_create(cls, data_dir: Path) -> DataKeys:
        path = Path(data_dir) / DATA_KEYS_FILE
        if not path.exists():
            keys = cls.generate(path)
            keys.save()
            return keys
        try:
            doc = json.loads(path.read_text())
            by_id = {kid: _unb64(value) for kid, value in doc["keys"].items()}
            loaded = cls(current=doc["current"], keys=by_id, index_key=_unb64(doc["index_key"]), path=path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SealingError(f"{path} is not a readable data key file: {exc}") from exc
        if loaded.current not in loaded.keys or any(len(k) != 32 for k in loaded.keys.values()):
            raise SealingError(f"{path}: the current key is missing or a key is not 256 bits")
        return loaded

    def save(self) -> None:
        assert self.path is not None, "these keys have no file"
        doc = {"current": self.current, "keys": {k: _b64(v) for k, v in self.keys.items()}, "index_key": _b64(self.index_key)}
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(doc, indent=2))
        os.replace(tmp, self.path)

    def rotate(self) -> DataKeys:
        """A new current key; the old ones stay to open what they sealed. Saved when the keys have a file."""
        kid = f"k{max(int(k[1:]) for k in self.keys) + 1}"
        rotated = DataKeys(current=kid, keys={**self.keys, kid: AESGCM.generate_key(bit_length=256)},
                           index_key=self.index_key, path=self.path)
        if rotated.path is not None:
            rotated.save()
        return rotated

    def seal(self, plaintext: str, *, context: str) -> str:
        """Encrypt ``plaintext``; ``context`` (e.g. ``player:<id>:phone``) is bound as associated data,
        so a sealed value copied into another row or field does not open."""
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{_PREFIX}:{self.current}:{_b64(nonce)}:{_b64(sealed)}"

    def open(self, token: str, *, context: str) -> str:
        try:
            prefix, kid, nonce, sealed = token.split(":")
        except ValueError as exc:
            raise SealingError("not a sealed value") from exc
        if prefix != _PREFIX or kid not in self.keys:
            raise SealingError(f"sealed with an unknown key {kid!r}")
        try:
            return AESGCM(self.keys[kid]).decrypt(_unb64(nonce), _unb64(sealed), context.encode()).decode()
        except InvalidTag as exc:
            raise SealingError("sealed value does not open: tampered, or sealed for another field") from exc

    def key_id(self, token: str) -> str:
        return token.split(":")[1]

    def reseal(self, token: str, *, context: str) -> str:
        """The same value under the current key (for rotation)."""
        return token if self.key_id(token) == self.current else self.seal(self.open(token, context=context), context=context)

    def blind_index(self, value: str, *, purpose: str) -> str:
        """A keyed hash of a normalised value for exact-match search (phone, name) without decryption."""
        normalised = " ".join(value.casefold().split())
        return hmac.new(self.index_key, f"{purpose}\x00{normalised}".encode(), hashlib.sha256).hexdigest()
