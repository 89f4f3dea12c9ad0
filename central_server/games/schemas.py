"""HTTP shapes of the game catalog and of finite pools."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from central_server.sessions.schemas import REF

MAX_DEAL = 500
"""Entries one deal request may ask for: a kiosk's offline block, with room to spare."""


class DealRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    request_id: str = Field(pattern=REF, max_length=64, description="client-made; the same id twice returns the same entries")
    session_id: str = Field(pattern=REF, description="the kiosk session the entries are dealt to")
    game_id: str = Field(pattern=REF, description="a pool game of the catalog")
    count: int = Field(ge=1, le=MAX_DEAL)


class DealtEntryBody(BaseModel):
    pool_id: str
    index: int
    prize_units: int = Field(description="prize per base bet, minor credit units")
    ref: str = Field(description="what the round's journal body names: <pool_id>:<index>")


class DealResponseBody(BaseModel):
    request_id: str
    session_id: str
    game_id: str
    game_version: str = Field(description="play these entries with this version of the game")
    package_sha256: str
    entries: list[DealtEntryBody]
    commitments: dict[str, str] = Field(description="published commitment of each pool the entries come from")


class PrizeTierBody(BaseModel):
    prize_units: int
    count: int


class PaidEntryBody(BaseModel):
    index: int
    prize_units_per_base: int


class PoolBody(BaseModel):
    """What anyone may know of a pool: its commitment from the start, everything once it is spent."""

    pool_id: str
    game_id: str
    game_version: str
    package_sha256: str
    base_bet_units: int
    prize_table: list[PrizeTierBody]
    size: int
    dealt: int
    status: str
    commitment: str
    created_at: str
    spent_at: str | None
    reveal: dict[str, Any] | None = Field(description="salt and shuffled prizes (shared.games.pool.GeneratedPool), once spent")
    paid: list[PaidEntryBody] | None = Field(description="the prize each journaled round of this pool paid, once spent")
