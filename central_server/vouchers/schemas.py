"""HTTP shapes of online voucher redemption."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

REF = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


class RedeemRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    request_id: str = Field(pattern=REF, max_length=64, description="client-made; a retry with the same id succeeds again")
    voucher_id: str = Field(pattern=REF)


class RedeemResponseBody(BaseModel):
    request_id: str
    voucher_id: str
    amount_units: int
    location_id: str
    status: str
    redeemed_at: str
