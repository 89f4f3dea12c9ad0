"""HTTP shapes of players."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class NewPlayerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    card_number: str = Field(pattern=r"^[A-Za-z0-9-]{4,64}$")
    display_name: str = Field(default="", max_length=200)


class PlayerBody(BaseModel):
    player_id: str
    card_number: str
    location_id: str
    display_name: str
    wallet_account: str
    balance_units: int = Field(description="wallet balance in credit units (1 credit = 100)")
