"""HTTP shapes of enrollment (mirroring ``shared.protocol.EnrollRequest``/``EnrollResponse``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EnrollRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=4, max_length=64)
    public_key: str = Field(min_length=40, max_length=64, description="device Ed25519 public key, URL-safe base64")
    role: Literal["pos", "kiosk"]
    app_version: str = Field(min_length=1, max_length=64)
    hostname: str = Field(default="", max_length=255)


class EnrollResponseBody(BaseModel):
    device_id: str
    location_id: str
    role: Literal["pos", "kiosk"]
    ca_fingerprint: str = Field(description="SHA-256 hex of central's CA certificate (DER), to pin TLS")
    central_public_key: str = Field(description="central's Ed25519 signing key, URL-safe base64")


class ErrorBody(BaseModel):
    code: str
    message: str
