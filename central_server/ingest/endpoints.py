"""HTTP for journal ingest: POST JOURNAL_PATH (signed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from central_server.db import Tx
from central_server.devices.dependencies import Device, RawBody
from central_server.devices.schemas import ErrorBody
from central_server.ingest import service
from central_server.ingest.schemas import IngestRequestBody, IngestResponseBody, inline_schema
from shared.protocol import JOURNAL_PATH

router = APIRouter(tags=["journal"])


def parsed_batch(device: Device, body: RawBody) -> service.ParsedBatch:
    """The request's batch, parsed and checked with no database access."""
    return service.parse(body, device)


Batch = Annotated[service.ParsedBatch, Depends(parsed_batch)]
"""Declared before ``Tx``: FastAPI solves dependencies in order, so parsing (most of a batch's cost) is done before the
request's transaction opens and never holds the device's lock, nor SQLite's write lock that every other device waits on."""


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
    device: Device,
    batch: Batch,
    conn: Tx,
) -> Any:
    """Apply a batch of journal entries, exactly once (DESIGN §4)."""
    return service.apply(conn, device, batch).to_json()
