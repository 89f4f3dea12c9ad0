"""The device's authenticated HTTP client to central (httpx).

Every call is signed with the device key (shared.protocol), bounded by a timeout, and
fails in one of two plain ways the apps can show: ``Offline`` (central could not be
reached: keep working from the local state) or ``CentralRefused`` (central answered
no, with its code and reason).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from shared.canonical import canonical_json, parse_json
from shared.errors import CafeError
from shared.protocol import HEARTBEAT_PATH, JOURNAL_PATH, IngestResponse, sign_request
from shared.signing import DeviceKey

if TYPE_CHECKING:
    from sync.journal import StoredEntry

DEFAULT_TIMEOUT_S = 10.0


class Offline(CafeError):
    """Central did not answer (no route, refused, timed out, TLS failed)."""

    code = "offline"
    http_status = 503


class CentralRefused(CafeError):
    """Central answered with an error; ``code`` is central's, ``http_status`` its status."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """A document central sent (``body`` set) or confirmed unchanged (``body`` None, a 304)."""

    etag: str | None
    body: Any | None


class CentralClient:
    """Signed requests from one enrolled device to central."""

    def __init__(
        self,
        base_url: str,
        device_id: str,
        key: DeviceKey,
        *,
        verify: str | bool | ssl.SSLContext = True,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.base_url = base_url.rstrip("/")
        self.device_id = device_id
        self._key = key
        self._clock = clock
        self._http = httpx.Client(base_url=self.base_url, verify=tls_verify(verify), timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, payload: Any = None, *, accept: tuple[int, ...] = (),
                timeout_s: float | None = None) -> Any:
        """Send one signed request and return the decoded JSON answer.

        ``path`` includes any query string, exactly as signed. Statuses in ``accept`` are
        answers, not errors (ingest answers a gap with 409 and a body that says what to do).
        ``timeout_s`` replaces the client's timeout for this call (a long poll outlasts it).
        """
        body = None if payload is None else canonical_json(payload)
        return self.send(method, path, body, accept=accept, timeout_s=timeout_s)

    def send(self, method: str, path: str, body: bytes | None, *, accept: tuple[int, ...] = (),
             timeout_s: float | None = None) -> Any:
        """``request`` with the JSON body already encoded (``None`` for none); signed here, when sent."""
        content = b"" if body is None else body
        headers = sign_request(self._key, self.device_id, method, path, content, int(self._clock()))
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self._http.request(method, path, content=content, headers=headers,
                                          timeout=httpx.USE_CLIENT_DEFAULT if timeout_s is None else timeout_s)
        except httpx.TransportError as exc:
            raise Offline(f"central at {self.base_url} is unreachable: {exc.__class__.__name__}: {exc}") from exc
        data = _json_or_none(response)
        if response.status_code < 400 or response.status_code in accept:
            return data
        raise _refusal(method, path, response, data)

    def fetch(self, path: str, etag: str | None = None) -> Fetched:
        """A signed conditional GET: with ``etag`` an unchanged document is a 304 and costs no body."""
        headers = sign_request(self._key, self.device_id, "GET", path, b"", int(self._clock()))
        if etag:
            headers["If-None-Match"] = f'"{etag}"'
        try:
            response = self._http.get(path, headers=headers)
        except httpx.TransportError as exc:
            raise Offline(f"central at {self.base_url} is unreachable: {exc.__class__.__name__}: {exc}") from exc
        tag = response.headers.get("etag", "").removeprefix("W/").strip('"') or None
        if response.status_code == 304:
            return Fetched(tag or etag, None)
        data = _json_or_none(response)
        if response.status_code >= 400:
            raise _refusal("GET", path, response, data)
        if data is None:
            raise CentralRefused(f"central sent GET {path} an answer that is not JSON", code="bad_response",
                                 http_status=response.status_code)
        return Fetched(tag, data)

    def push(self, entries: list[dict[str, Any]], head: dict[str, Any]) -> IngestResponse:
        """Send one batch of journal entries with the signed chain head."""
        return self.push_encoded(encode_push(entries, head))

    def push_encoded(self, body: bytes) -> IngestResponse:
        """Send one batch already encoded by ``encode_push`` (built ahead, while the one before is in flight)."""
        data = self.send("POST", JOURNAL_PATH, body, accept=(409,))
        return IngestResponse.from_json(data)

    def heartbeat(self, report: dict[str, Any]) -> Any:
        return self.request("POST", HEARTBEAT_PATH, report)


def encode_push(entries: list[dict[str, Any]], head: dict[str, Any]) -> bytes:
    """The body of one ingest request: a batch of entries and the signed chain head."""
    return canonical_json({"entries": entries, "head": head})


def encode_push_stored(entries: Sequence[StoredEntry], head: dict[str, Any]) -> bytes:
    """``encode_push`` of entries as the journal stores them, spliced rather than parsed and encoded again.

    Each stored entry is the canonical JSON object of the entry without its hash; the
    hash goes in as its first member. The body is JSON, not canonical JSON (``hash``
    is out of key order), which is all an ingest body has to be: the signature covers
    these bytes and central hashes each entry without its hash.
    """
    assert all(e.data[:1] == b"{" and e.data[1:2] != b"}" for e in entries), "a stored entry is a non-empty JSON object"
    parts = [b'{"hash":"' + e.hash.encode("ascii") + b'",' + e.data[1:] for e in entries]
    return b'{"entries":[' + b",".join(parts) + b'],"head":' + canonical_json(head) + b"}"


def tls_verify(verify: str | bool | ssl.SSLContext) -> bool | ssl.SSLContext:
    """httpx's ``verify``: a CA file path becomes a context that trusts only that CA."""
    return ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify


def _refusal(method: str, path: str, response: httpx.Response, data: Any) -> CentralRefused:
    code, message = "http_error", response.text[:200]
    if isinstance(data, dict):
        code, message = str(data.get("code", code)), str(data.get("message", message))
    return CentralRefused(f"central refused {method} {path}: {message}", code=code, http_status=response.status_code)


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return parse_json(response.content)
    except CafeError:
        return None
