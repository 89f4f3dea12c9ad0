"""Liveness, readiness and device heartbeats."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from central_server.devices.dependencies import Device
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


@router.post(HEARTBEAT_PATH)
def heartbeat(device: Device) -> dict[str, Any]:
    """A device says it is alive (authentication records when it was last seen)."""
    return {"device_id": device.id, "status": "ok", "server_time_s": int(time.time())}
