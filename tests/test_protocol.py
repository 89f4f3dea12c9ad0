"""The device ↔ central wire contract: signed requests and the ingest response shape."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.canonical import canonical_json, parse_canonical
from shared.errors import ValidationError
from shared.protocol import (
    HEADER_DEVICE,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    JOURNAL_PATH,
    MAX_CLOCK_SKEW_S,
    EntryResult,
    IngestResponse,
    SignedRequest,
    check_signed_request,
    parse_auth_headers,
    request_message,
    sign_request,
)
from shared.signing import DeviceKey

KEY = DeviceKey.generate()
OTHER = DeviceKey.generate()
DEVICE = "kiosk-7"
NOW_S = 1_790_000_000
BODY = canonical_json({"entries": [], "head": {"seq": 1, "hash": "ab" * 32, "signature": "x"}})


def _signed(method: str = "POST", path: str = JOURNAL_PATH, body: bytes = BODY, now_s: int = NOW_S, **kwargs: Any) -> SignedRequest:
    return parse_auth_headers(sign_request(KEY, DEVICE, method, path, body, now_s, **kwargs))


def _check(signed: SignedRequest, method: str = "POST", path: str = JOURNAL_PATH, body: bytes = BODY,
           now_s: int = NOW_S, public: bytes | None = None) -> str | None:
    return check_signed_request(public or KEY.public_bytes(), signed, method, path, body, now_s)


def test_a_fresh_request_is_accepted():
    headers = sign_request(KEY, DEVICE, "POST", JOURNAL_PATH, BODY, NOW_S)
    assert set(headers) == {HEADER_DEVICE, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE}
    signed = parse_auth_headers(headers)
    assert signed.device_id == DEVICE
    assert signed.timestamp_s == NOW_S
    assert _check(signed) is None


@settings(max_examples=50, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    path=st.from_regex(r"\A/api/v1/[a-z]{1,10}(\?[a-z]=[0-9]{1,3})?\Z"),
    body=st.binary(max_size=200),
    skew_s=st.integers(min_value=-MAX_CLOCK_SKEW_S, max_value=MAX_CLOCK_SKEW_S),
)
def test_any_request_verifies_within_the_allowed_clock_skew(method, path, body, skew_s):
    signed = _signed(method, path, body)
    assert _check(signed, method, path, body, now_s=NOW_S + skew_s) is None
    # the method is compared case-insensitively (it is upper-cased before signing)
    assert _check(signed, method.lower(), path, body, now_s=NOW_S + skew_s) is None


def test_each_request_gets_a_fresh_nonce():
    nonces = {_signed().nonce for _ in range(50)}
    assert len(nonces) == 50


@settings(max_examples=50, deadline=None)
@given(body=st.binary(max_size=100), other=st.binary(max_size=100))
def test_a_changed_body_is_refused(body, other):
    if body != other:
        assert _check(_signed(body=body), body=other) == "signature does not verify"


@pytest.mark.parametrize(
    "path",
    [JOURNAL_PATH + "/", "/api/v1/heartbeat", JOURNAL_PATH + "?x=1", "/API/V1/JOURNAL", "/api/v2/journal"],
)
def test_a_changed_path_is_refused(path):
    assert _check(_signed(), path=path) == "signature does not verify"


def test_a_changed_query_string_is_refused():
    signed = _signed(path="/api/v1/players?card=123")
    assert _check(signed, path="/api/v1/players?card=124") == "signature does not verify"


def test_a_changed_method_is_refused():
    assert _check(_signed(method="GET"), method="POST") == "signature does not verify"


@pytest.mark.parametrize("skew_s", [MAX_CLOCK_SKEW_S + 1, -(MAX_CLOCK_SKEW_S + 1), 3600, -86_400, NOW_S])
def test_a_stale_or_future_timestamp_is_refused(skew_s):
    reason = _check(_signed(), now_s=NOW_S + skew_s)
    assert reason is not None and "timestamp" in reason


def test_the_skew_limit_is_inclusive_at_300_seconds():
    assert MAX_CLOCK_SKEW_S == 300
    assert _check(_signed(), now_s=NOW_S + 300) is None
    assert _check(_signed(), now_s=NOW_S - 300) is None


def test_a_wrong_key_is_refused():
    assert _check(_signed(), public=OTHER.public_bytes()) == "signature does not verify"
    assert _check(_signed(), public=b"\x00" * 5) == "signature does not verify"


def test_changed_headers_are_refused():
    headers = sign_request(KEY, DEVICE, "POST", JOURNAL_PATH, BODY, NOW_S)
    later = {**headers, HEADER_TIMESTAMP: str(NOW_S + 10)}        # replayed with a fresher timestamp
    assert _check(parse_auth_headers(later)) == "signature does not verify"
    other_nonce = {**headers, HEADER_NONCE: "0" * 32}
    assert _check(parse_auth_headers(other_nonce)) == "signature does not verify"
    sig = headers[HEADER_SIGNATURE]
    tampered = {**headers, HEADER_SIGNATURE: ("B" if sig[0] == "A" else "A") + sig[1:]}
    assert _check(parse_auth_headers(tampered)) == "signature does not verify"
    garbage = {**headers, HEADER_SIGNATURE: "%%% not base64 %%%"}
    assert _check(parse_auth_headers(garbage)) == "signature does not verify"


def test_the_signed_message_is_canonical_and_covers_every_part():
    message = request_message("post", "/p?q=1", 5, "ab" * 16, b"body")
    assert parse_canonical(message) == {
        "purpose": "cafesuite-request",
        "method": "POST",
        "path": "/p?q=1",
        "timestamp": 5,
        "nonce": "ab" * 16,
        "body_sha256": "230d8358dc8e8890b4c58deeb62912ee2f20357ae92a5cc861b98e68fe31acb5",
    }


@pytest.mark.parametrize("missing", [HEADER_DEVICE, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE])
def test_a_missing_or_empty_header_is_refused(missing):
    headers = sign_request(KEY, DEVICE, "POST", JOURNAL_PATH, BODY, NOW_S)
    without = {k: v for k, v in headers.items() if k != missing}
    with pytest.raises(ValidationError, match=missing):
        parse_auth_headers(without)
    with pytest.raises(ValidationError, match=missing):
        parse_auth_headers({**headers, missing: ""})


def test_no_headers_at_all_names_all_four():
    with pytest.raises(ValidationError) as caught:
        parse_auth_headers({})
    for name in (HEADER_DEVICE, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE):
        assert name in caught.value.message


@pytest.mark.parametrize("timestamp", ["-5", "12.5", "1e9", " 17", "0x10", "abc", "1" * 13])
def test_a_malformed_timestamp_is_refused(timestamp):
    headers = sign_request(KEY, DEVICE, "POST", JOURNAL_PATH, BODY, NOW_S)
    with pytest.raises(ValidationError, match="Unix seconds"):
        parse_auth_headers({**headers, HEADER_TIMESTAMP: timestamp})


@pytest.mark.parametrize("nonce", ["ab" * 15, "ab" * 17, "AB" * 16, "zz" * 16, "ab" * 15 + "a ", ""])
def test_a_malformed_nonce_is_refused(nonce):
    headers = sign_request(KEY, DEVICE, "POST", JOURNAL_PATH, BODY, NOW_S)
    with pytest.raises(ValidationError, match=HEADER_NONCE):
        parse_auth_headers({**headers, HEADER_NONCE: nonce})


def test_headers_are_read_through_any_mapping_with_get():
    class Headers:
        def __init__(self, values: dict[str, str]):
            self._values = values

        def get(self, name: str) -> str | None:
            return self._values.get(name)

    headers = sign_request(KEY, DEVICE, "POST", JOURNAL_PATH, BODY, NOW_S)
    assert parse_auth_headers(Headers(headers)) == parse_auth_headers(headers)


# -- ingest response ---------------------------------------------------------------------------

results = st.lists(
    st.builds(EntryResult, seq=st.integers(min_value=1, max_value=2**40), id=st.uuids().map(str),
              status=st.sampled_from(["applied", "duplicate"])),
    max_size=5,
).map(tuple)


@settings(max_examples=100, deadline=None)
@given(
    status=st.sampled_from(["ok", "gap", "rejected"]),
    entries=results,
    acked=st.integers(min_value=0, max_value=2**40),
    expected_seq=st.none() | st.integers(min_value=1, max_value=2**40),
    reason=st.none() | st.text(max_size=40),
)
def test_ingest_response_round_trips(status, entries, acked, expected_seq, reason):
    response = IngestResponse(status=status, results=entries, acked_through=acked, expected_seq=expected_seq, reason=reason)
    assert IngestResponse.from_json(response.to_json()) == response
    # and over the wire, as canonical JSON
    assert IngestResponse.from_json(parse_canonical(canonical_json(response.to_json()))) == response


def test_ingest_response_json_shape():
    response = IngestResponse(status="gap", results=(), acked_through=41, expected_seq=42)
    assert response.to_json() == {"status": "gap", "results": [], "acked_through": 41, "expected_seq": 42, "reason": None}


@pytest.mark.parametrize("data", [None, [], "ok", {}, {"status": "fine"}, {"status": None, "results": []}])
def test_something_that_is_not_an_ingest_response_is_refused(data):
    with pytest.raises(ValidationError, match="not an ingest response"):
        IngestResponse.from_json(data)


def test_non_ascii_digit_timestamp_is_a_validation_error():
    headers = {HEADER_DEVICE: "d", HEADER_TIMESTAMP: "²", HEADER_NONCE: "0" * 32, HEADER_SIGNATURE: "x"}
    with pytest.raises(ValidationError):
        parse_auth_headers(headers)


def test_malformed_ingest_response_is_a_validation_error():
    for bad in ({"status": "ok", "results": [{"seq": 1}]}, {"status": "ok", "acked_through": "many"}):
        with pytest.raises(ValidationError):
            IngestResponse.from_json(bad)
