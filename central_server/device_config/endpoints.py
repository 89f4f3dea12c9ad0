"""HTTP for the config document devices pull: GET DEVICE_CONFIG_PATH (signed, ETag)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from central_server.db import Tx
from central_server.device_config import service
from central_server.device_config.schemas import DeviceConfigBody
from central_server.devices.dependencies import Device
from central_server.devices.schemas import ErrorBody
from shared.protocol import DEVICE_CONFIG_PATH

router = APIRouter(tags=["device config"])


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match list against our (strong) tag."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == f'"{etag}"':
            return True
    return False


@router.get(
    DEVICE_CONFIG_PATH,
    response_model=DeviceConfigBody,
    responses={
        304: {"description": "If-None-Match names the current ETag: nothing changed, no body"},
        401: {"model": ErrorBody, "description": "bad signature, stale timestamp, replayed nonce, unknown device"},
        403: {"model": ErrorBody, "description": "device revoked or quarantined"},
    },
)
def device_config(device: Device, request: Request, conn: Tx) -> Any:
    """The device's location config: limits, staff PIN hashes, sale presets, revoked devices."""
    config = service.build_config(conn, device.location_id, device.role)
    etag = config.etag()
    # no-cache: a proxy or the device may keep it but must ask again; the 304 keeps that cheap.
    headers = {"ETag": f'"{etag}"', "Cache-Control": "private, no-cache"}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return JSONResponse(config.to_json(), headers=headers)
