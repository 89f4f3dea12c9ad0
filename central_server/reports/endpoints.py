"""HTTP of the reports area for devices: a POS pulls its location's day report (signed)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from central_server.db import Tx
from central_server.devices.dependencies import Device
from central_server.devices.schemas import ErrorBody
from central_server.reports import service
from central_server.reports.schemas import DailyReportBody
from shared.errors import ValidationError
from shared.reports import LOCATION_DAY_PATH

router = APIRouter(tags=["reports"])


def parse_day(text: str, what: str = "date") -> date:
    """``YYYY-MM-DD`` or a ValidationError (422) that says so."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"{what} must be a calendar day like 2026-11-25, got {text!r}") from exc


@router.get(
    LOCATION_DAY_PATH,
    response_model=DailyReportBody,
    responses={
        401: {"model": ErrorBody, "description": "bad signature, stale timestamp, replayed nonce, unknown device"},
        403: {"model": ErrorBody, "description": "revoked or quarantined device, a kiosk, or another location (report_forbidden)"},
        422: {"model": ErrorBody, "description": "date is not YYYY-MM-DD"},
    },
)
def location_day(
    device: Device,
    conn: Tx,
    day: Annotated[str, Query(alias="date", min_length=1, max_length=32, description="local day, YYYY-MM-DD")],
    location: Annotated[str | None, Query(max_length=128, description="must be the device's own location if given")] = None,
) -> Any:
    """The day report of the calling POS's location, computed from what central has ingested."""
    report = service.device_location_day(conn, device_location_id=device.location_id, device_role=device.role,
                                         location_id=location, day=parse_day(day))
    return JSONResponse(report.to_json(), headers={"Cache-Control": "private, no-store"})
