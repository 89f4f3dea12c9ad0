"""Liveness, readiness and device heartbeats."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from central_server.db import Tx
from central_server.devices import repository as devices_repo
from central_server.devices import service as devices
from central_server.devices.dependencies import Device
from central_server.devices.schemas import ErrorBody, HeartbeatBody
from central_server.migrate import check_at_head
from shared.errors import CafeError
from shared.protocol import HEARTBEAT_PATH

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (does not touch the database)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "database unreachable or schema not at the head"}})
def readyz(request: Request) -> Any:
    """The database answers and its schema is at this server's migration head."""
    engine: Engine = request.app.state.engine
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        check_at_head(engine)
    except CafeError as exc:
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=503)
    except Exception as exc:  # any driver error means "not ready", with the reason
        return JSONResponse({"code": "unavailable", "message": f"database unreachable: {type(exc).__name__}"}, status_code=503)
    return {"status": "ready"}


@router.post(HEARTBEAT_PATH, responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 422: {"model": ErrorBody}})
def heartbeat(report: HeartbeatBody, device: Device, request: Request, conn: Tx) -> dict[str, Any]:
    """A device reports its version, outbox depth and last sync result; central keeps the latest."""
    ip = request.client.host if request.client else "unknown"
    devices.record_heartbeat(conn, device, devices.Heartbeat(**report.model_dump()), ip=ip)
    # last_seq: what central holds of this device's journal; after a restore from an older
    # backup it is below what the device saw acknowledged, and the device resends the rest.
    held = devices_repo.get_device(conn, device.id)
    return {"device_id": device.id, "status": "ok", "server_time_s": int(time.time()),
            "last_seq": int(held.last_seq) if held is not None else 0}
