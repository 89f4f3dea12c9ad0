"""HTTP shape of the config document (mirrors ``shared.device_config.DeviceConfig.to_json``)."""

from __future__ import annotations

from pydantic import BaseModel, Field, create_model

from shared.device_config import Limits

# Built from the dataclass, so a limit added to shared.device_config.Limits is documented at once.
LimitsBody: type[BaseModel] = create_model(
    "LimitsBody", **{name: (int, Field(ge=0)) for name in Limits.names()},  # type: ignore[call-overload]
)


class StaffBody(BaseModel):
    id: str
    name: str
    role: str = Field(description="cashier, manager, owner or technician")
    pin_hash: str = Field(description="argon2id hash of the PIN, verified on the device so login works offline")


class DeviceConfigBody(BaseModel):
    location_id: str
    location_name: str
    currency: str = Field(description="cash currency of the location, e.g. USD")
    limits: LimitsBody = Field(  # type: ignore[valid-type]
        description="each from the nearest node up the tree that sets it, else the default")
    staff: list[StaffBody] = Field(description="active staff of the location")
    sale_presets_units: list[int]
    revoked_devices: list[str] = Field(description="ids of this location's revoked devices")
    topup_providers: list[str] = Field(description="online top-up providers this device may offer (its channel allows "
                                                   "them and the location has an account); empty: none")
