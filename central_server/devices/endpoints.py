"""HTTP for enrollment: POST ENROLL_PATH with a one-time code."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from central_server.db import Tx
from central_server.devices import service
from central_server.devices.schemas import EnrollRequestBody, EnrollResponseBody, ErrorBody
from central_server.keys import CentralKeys
from shared.protocol import CA_PATH, ENROLL_PATH, EnrollRequest

router = APIRouter(tags=["devices"])


@router.post(
    ENROLL_PATH,
    response_model=EnrollResponseBody,
    responses={401: {"model": ErrorBody, "description": "unknown, used or expired code"},
               409: {"model": ErrorBody, "description": "role mismatch or key already enrolled"},
               422: {"model": ErrorBody}},
)
def enroll(body: EnrollRequestBody, request: Request, conn: Tx) -> EnrollResponseBody:
    """Enroll a device with a one-time code; the answer pins central's CA and signing key."""
    keys: CentralKeys = request.app.state.keys
    response = service.enroll(
        conn, EnrollRequest(**body.model_dump()), ca_fingerprint=keys.ca_fingerprint, central_public_key=keys.public_key_b64,
    )
    return EnrollResponseBody(
        device_id=response.device_id, location_id=response.location_id, role=response.role,
        ca_fingerprint=response.ca_fingerprint, central_public_key=response.central_public_key,
    )


@router.get(CA_PATH, response_class=Response, responses={200: {"content": {"application/x-pem-file": {}}}})
def ca_certificate(request: Request) -> Response:
    """Central's CA certificate, so a device being enrolled can show its fingerprint to a person."""
    keys: CentralKeys = request.app.state.keys
    return Response(keys.ca_cert.read_bytes(), media_type="application/x-pem-file")
