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


class HeartbeatBody(BaseModel):
    """What a device reports about itself on every heartbeat."""

    model_config = ConfigDict(extra="forbid")

    app_version: str = Field(min_length=1, max_length=64)
    outbox_depth: int = Field(ge=0, le=2**53, description="journal entries central has not acknowledged yet")
    oldest_unacked_age_s: int = Field(ge=0, le=2**53, description="age of the oldest unacknowledged entry, seconds")
    last_sync_result: str = Field(max_length=200, description="one line: ok, or why the last push failed")
