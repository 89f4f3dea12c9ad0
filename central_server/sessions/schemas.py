"""HTTP shapes of a session checkout ("transfer to machine")."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

REF = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


class CheckoutRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    request_id: str = Field(pattern=REF, max_length=64, description="client-made; the same id twice returns the same result")
    session_id: str = Field(pattern=REF, description="client-made kiosk session id; the escrow is escrow:<session_id>")
    player_id: str = Field(pattern=REF)
    amount_units: int | None = Field(default=None, ge=1, le=2**63 - 1, description="credit units to move; omitted or null = all")


class CheckoutResponseBody(BaseModel):
    request_id: str
    session_id: str
    player_id: str
    amount_units: int
    escrow_account: str
    tx_id: str
    wallet_balance_units: int = Field(description="the wallet balance right after this checkout")
    created_at: str


class TicketInRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    request_id: str = Field(pattern=REF, max_length=64,
                            description="client-made, the id of the kiosk's coming session_checkout entry; the same id twice "
                                        "returns the same result")
    session_id: str = Field(pattern=REF, description="client-made kiosk session id; the escrow is escrow:<session_id>")
    voucher_id: str = Field(pattern=REF, max_length=54, description="the scanned cash-out ticket's voucher id")


class TicketInResponseBody(BaseModel):
    request_id: str
    session_id: str
    voucher_id: str
    amount_units: int = Field(description="the voucher's whole balance, now in the escrow")
    escrow_account: str
    tx_id: str
    created_at: str
