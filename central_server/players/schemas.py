"""HTTP shapes of players."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

REF = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
CARD = r"^[A-Za-z0-9-]{4,64}$"


class NewPlayerBody(BaseModel):
    """An anonymous card (no personal data): kept for devices and tools that only need a wallet."""

    model_config = ConfigDict(extra="forbid")

    card_number: str = Field(pattern=CARD)
    display_name: str = Field(default="", max_length=200)


class PlayerBody(BaseModel):
    player_id: str
    card_number: str
    location_id: str
    display_name: str
    wallet_account: str
    balance_units: int = Field(description="wallet balance in credit units (1 credit = 100)")
    self_excluded: bool = Field(default=False, description="no sales to, and no play by, this player")


class RegisterPlayerBody(BaseModel):
    """A registration at the counter: personal data is sealed at rest, the PIN only hashed."""

    model_config = ConfigDict(extra="forbid", strict=True)

    full_name: str = Field(min_length=1, max_length=200)
    date_of_birth: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="YYYY-MM-DD; under-age is refused")
    phone: str = Field(min_length=6, max_length=32, pattern=r"^\+?[0-9 ()./-]+$")
    id_number: str | None = Field(default=None, min_length=1, max_length=64)
    pin: str | None = Field(default=None, pattern=r"^[0-9]{4,6}$", description="4-6 digits, for kiosk login")
    card_number: str | None = Field(default=None, pattern=CARD, description="omitted: central issues one")


class PlayerProfileBody(PlayerBody):
    full_name: str
    date_of_birth: str
    age_years: int
    phone: str
    id_number: str | None
    has_pin: bool


class PlayerSummaryBody(BaseModel):
    player_id: str
    card_number: str
    full_name: str
    phone: str
    balance_units: int
    self_excluded: bool


class SearchResultBody(BaseModel):
    players: list[PlayerSummaryBody]


class ActivityBody(BaseModel):
    tx_id: str
    kind: str
    amount_units: int = Field(description="change of the wallet, credit units (negative = out)")
    created_at: str


class ActivityListBody(BaseModel):
    activity: list[ActivityBody]


class SelfExclusionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    excluded: bool
    reason: str = Field(min_length=1, max_length=500)


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    card_number: str = Field(pattern=CARD)
    pin: str = Field(pattern=r"^[0-9]{4,6}$")


class RedeemWalletBody(BaseModel):
    """A cash payout from a wallet at the counter; ``request_id`` is the id of the POS's redemption entry."""

    model_config = ConfigDict(extra="forbid", strict=True)

    request_id: str = Field(pattern=REF, max_length=36, description="the id of the redemption entry the POS journals")
    player_id: str = Field(pattern=REF)
    shift_id: str = Field(pattern=REF)
    amount_units: int = Field(ge=1, le=2**53)
    cash_units: int = Field(ge=0, le=2**53)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class RedeemWalletResultBody(BaseModel):
    request_id: str
    player_id: str
    amount_units: int
    cash_units: int
    tx_id: str
    wallet_balance_units: int
    created_at: str
