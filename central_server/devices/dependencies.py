"""FastAPI dependencies that authenticate a device request (DESIGN §7)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from central_server.devices import service
from central_server.devices.service import AuthedDevice
from central_server.errors import PayloadTooLarge, Unauthenticated
from shared.errors import ValidationError
from shared.protocol import MAX_BODY_BYTES, parse_auth_headers


async def raw_body(request: Request) -> bytes:
    """The request body exactly as sent (the signature covers these bytes), at most MAX_BODY_BYTES."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is larger than {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"request body is larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def authenticated_device(request: Request, body: bytes = Depends(raw_body)) -> AuthedDevice:
    """The device that signed this request.

    Authentication commits in its own short transaction, before the request's: a nonce
    is remembered even when the request itself is refused and rolled back, so a refused
    request can never be replayed into success later.
    """
    try:
        signed = parse_auth_headers(request.headers)
    except ValidationError as exc:
        raise Unauthenticated(exc.message) from exc
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    engine: Engine = request.app.state.engine
    with engine.begin() as conn:
        return service.authenticate(conn, signed, method=request.method, path=path, body=body, now_s=int(time.time()))


RawBody = Annotated[bytes, Depends(raw_body)]
Device = Annotated[AuthedDevice, Depends(authenticated_device)]
"""An endpoint parameter that is the authenticated device of a signed request."""
