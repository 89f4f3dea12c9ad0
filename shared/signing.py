"""Device identity: an Ed25519 key pair, and signatures over a chain head.

A batch sent to central carries one signature over the newest entry's
``(device_id, seq, hash)``; because each hash covers the one before, that signature
vouches for the device's whole history up to that entry.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.canonical import canonical_json, sha256_hex
from shared.errors import ValidationError


def head_message(device_id: str, seq: int, entry_hash: str) -> bytes:
    """The exact bytes signed for a chain head (canonical JSON, so every side agrees)."""
    return canonical_json({"purpose": "cafesuite-chain-head", "device_id": device_id, "seq": seq, "hash": entry_hash})


class DeviceKey:
    """A device's private signing key; the raw 32 bytes live only in the keyring."""

    def __init__(self, private_key: Ed25519PrivateKey):
        self._key = private_key

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> DeviceKey:
        if len(raw) != 32:
            raise ValidationError("an Ed25519 private key is 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def private_bytes(self) -> bytes:
        return self._key.private_bytes_raw()

    def public_bytes(self) -> bytes:
        return self._key.public_key().public_bytes_raw()

    def public_key_b64(self) -> str:
        return encode_b64(self.public_bytes())

    def sign(self, message: bytes) -> str:
        """Signature over ``message`` as URL-safe base64 text."""
        return encode_b64(self._key.sign(message))

    def sign_head(self, device_id: str, seq: int, entry_hash: str) -> str:
        return self.sign(head_message(device_id, seq, entry_hash))


def encode_b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_b64(text: str, what: str = "value") -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, AttributeError) as exc:
        raise ValidationError(f"{what} is not valid base64") from exc
    # The decoder skips characters outside the alphabet and ignores spare bits, so many
    # texts decode to the same bytes; accept only the one spelling encode_b64 writes.
    if encode_b64(raw) != text:
        raise ValidationError(f"{what} is not in canonical URL-safe base64")
    return raw


def verify(public_key: bytes, message: bytes, signature_b64: str) -> bool:
    """True only when ``signature_b64`` is ``public_key``'s signature over ``message``."""
    try:
        key = Ed25519PublicKey.from_public_bytes(public_key)
        key.verify(decode_b64(signature_b64, "signature"), message)
    except (InvalidSignature, ValidationError, ValueError):
        return False
    return True


def verify_head(public_key: bytes, device_id: str, seq: int, entry_hash: str, signature_b64: str) -> bool:
    return verify(public_key, head_message(device_id, seq, entry_hash), signature_b64)


def key_fingerprint(public_key: bytes) -> str:
    """Short hex fingerprint a person can compare by eye (first 16 bytes of SHA-256)."""
    return sha256_hex(public_key)[:32]
