"""Device keys and chain-head signatures: a signature vouches for exactly one head."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import ValidationError
from shared.signing import (
    DeviceKey,
    decode_b64,
    encode_b64,
    head_message,
    key_fingerprint,
    verify,
    verify_head,
)

KEY = DeviceKey.generate()
OTHER = DeviceKey.generate()
DEVICE = "pos-1"
HASH = "ab" * 32


def test_sign_head_then_verify_head():
    signature = KEY.sign_head(DEVICE, 7, HASH)
    assert verify_head(KEY.public_bytes(), DEVICE, 7, HASH, signature)


@pytest.mark.parametrize(
    ("device_id", "seq", "entry_hash", "public"),
    [
        ("pos-2", 7, HASH, KEY.public_bytes()),
        (DEVICE, 8, HASH, KEY.public_bytes()),
        (DEVICE, 6, HASH, KEY.public_bytes()),
        (DEVICE, 7, "cd" * 32, KEY.public_bytes()),
        (DEVICE, 7, HASH, OTHER.public_bytes()),
    ],
    ids=["other-device", "later-seq", "earlier-seq", "other-hash", "other-key"],  # stable names for every test worker
)
def test_a_signature_does_not_cover_another_head_or_key(device_id, seq, entry_hash, public):
    signature = KEY.sign_head(DEVICE, 7, HASH)
    assert verify_head(public, device_id, seq, entry_hash, signature) is False


@settings(max_examples=100, deadline=None)
@given(position=st.integers(min_value=0, max_value=63), bit=st.integers(min_value=0, max_value=7))
def test_flipping_any_bit_of_a_signature_makes_it_fail(position, bit):
    raw = bytearray(decode_b64(KEY.sign_head(DEVICE, 7, HASH)))
    raw[position] ^= 1 << bit
    assert verify_head(KEY.public_bytes(), DEVICE, 7, HASH, encode_b64(bytes(raw))) is False


def test_signature_text_that_is_not_the_canonical_spelling_is_refused():
    signature = KEY.sign_head(DEVICE, 7, HASH)
    public = KEY.public_bytes()
    variants = [
        signature[:10] + "!" + signature[10:],   # the decoder would skip the junk character
        signature[:10] + "\n" + signature[10:],
        " " + signature,
        signature.rstrip("="),                    # padding removed
        base64.b64encode(decode_b64(signature)).decode(),  # standard alphabet, when it differs
    ]
    for variant in variants:
        if variant != signature:
            assert verify_head(public, DEVICE, 7, HASH, variant) is False, variant


@pytest.mark.parametrize(
    "garbage",
    ["", "not base64 at all", "====", "é", "A" * 86 + "==", "AAAA", None, 12, b"bytes"],
)
def test_garbage_signatures_return_false_without_raising(garbage):
    assert verify_head(KEY.public_bytes(), DEVICE, 7, HASH, garbage) is False


@pytest.mark.parametrize("public", [b"", b"\x00" * 31, b"\x00" * 33, KEY.private_bytes()[:16]],
                         ids=["empty", "31-bytes", "33-bytes", "half-a-private-key"])
def test_malformed_public_keys_return_false_without_raising(public):
    assert verify_head(public, DEVICE, 7, HASH, KEY.sign_head(DEVICE, 7, HASH)) is False


def test_private_key_round_trips_through_its_32_bytes():
    raw = KEY.private_bytes()
    assert len(raw) == 32
    again = DeviceKey.from_private_bytes(raw)
    assert again.public_bytes() == KEY.public_bytes()
    assert verify_head(KEY.public_bytes(), DEVICE, 1, HASH, again.sign_head(DEVICE, 1, HASH))
    with pytest.raises(ValidationError, match="32 bytes"):
        DeviceKey.from_private_bytes(raw[:31])


def test_sign_and_verify_arbitrary_messages():
    signature = KEY.sign(b"hello")
    assert verify(KEY.public_bytes(), b"hello", signature)
    assert not verify(KEY.public_bytes(), b"hello!", signature)
    # a head signature is not a signature over some other message, and vice versa
    assert not verify_head(KEY.public_bytes(), DEVICE, 7, HASH, KEY.sign(b"hello"))


def test_head_message_is_canonical_and_names_its_purpose():
    message = head_message(DEVICE, 7, HASH)
    assert message == ('{"device_id":"pos-1","hash":"' + HASH + '","purpose":"cafesuite-chain-head","seq":7}').encode()


def test_base64_helpers_and_fingerprint():
    for raw in (b"", b"\x00", b"\xff\xfe", bytes(range(64))):
        assert decode_b64(encode_b64(raw)) == raw
    with pytest.raises(ValidationError, match="signature"):
        decode_b64("a!b", "signature")
    assert decode_b64(KEY.public_key_b64()) == KEY.public_bytes()
    fingerprint = key_fingerprint(KEY.public_bytes())
    assert len(fingerprint) == 32 and int(fingerprint, 16) >= 0
    assert fingerprint != key_fingerprint(OTHER.public_bytes())


def test_each_generated_key_is_different():
    assert DeviceKey.generate().public_bytes() != DeviceKey.generate().public_bytes()
