"""HTTP for journal ingest: POST JOURNAL_PATH (signed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Engine

from central_server.devices.dependencies import Device, RawBody
from central_server.devices.schemas import ErrorBody
from central_server.ingest import service
from central_server.ingest.schemas import IngestRequestBody, IngestResponseBody, inline_schema
from shared.protocol import JOURNAL_PATH

router = APIRouter(tags=["journal"])


@router.post(
    JOURNAL_PATH,
    response_model=IngestResponseBody,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": inline_schema(IngestRequestBody)}}}},
    responses={
        401: {"model": ErrorBody, "description": "bad signature, stale timestamp, replayed nonce, unknown device"},
        403: {"model": ErrorBody, "description": "device revoked or quarantined"},
        409: {"model": IngestResponseBody, "description": "gap (resend from expected_seq) or rejected (device quarantined)"},
        413: {"model": ErrorBody, "description": "more than MAX_BATCH_ENTRIES entries or MAX_BODY_BYTES bytes"},
        422: {"model": ErrorBody, "description": "malformed body or entry"},
    },
)
def ingest(
    request: Request,
    device: Device,
    body: RawBody,
) -> Any:
    """Apply a batch of journal entries, exactly once (DESIGN §4)."""
    # Parsing and checking the batch is most of its cost and needs no database, so it runs before the
    # transaction: it never holds the device's lock, nor SQLite's write lock that every other device waits on.
    batch = service.parse(body, device)
    engine: Engine = request.app.state.engine
    with engine.begin() as conn:  # committed before the answer is sent, as with the Tx dependency
        return service.apply(conn, device, batch).to_json()
