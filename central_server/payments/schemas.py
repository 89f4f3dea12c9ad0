"""HTTP shapes of online top-ups."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

REF = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


class TopupRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    request_id: str = Field(pattern=REF, max_length=64, description="client-made; the same id returns the same payment")
    player_id: str = Field(pattern=REF, max_length=36)
    amount_units: int = Field(gt=0, le=10_000_00, description="credits to buy, in minor units")
    provider: Literal["stripe", "btcpay"]
    staff_id: str | None = Field(default=None, pattern=REF, max_length=36,
                                 description="a POS: the signed-in cashier, whose role must allow online top-ups")


class PaymentBody(BaseModel):
    id: str
    status: str = Field(description="pending, review, credited, rejected, refunded, failed, expired or partial")
    provider: str
    player_id: str
    location_id: str
    amount_units: int
    fiat_units: int
    currency: str
    checkout_url: str | None = Field(description="where the player pays (show it as a QR code); none for card-present")
    review_reasons: list[str]
    review_note: str | None
    refunded_units: int
    wallet_units: int = Field(description="the player's wallet balance now")


class WebhookAnswer(BaseModel):
    outcome: str
