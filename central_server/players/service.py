"""Rules for players: registration at the device's location, lookup with the wallet balance."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from central_server.devices.service import AuthedDevice
from central_server.errors import Conflict, NotFound
from central_server.ledger import repository as ledger_repo
from central_server.players import repository as repo
from central_server.players.schemas import NewPlayerBody, PlayerBody
from shared.entry import utc_timestamp
from shared.ids import new_id
from shared.ledger import account
from shared.money import CREDITS


def register(conn: Connection, location_id: str, new: NewPlayerBody) -> PlayerBody:
    player_id = new_id()
    inserted = repo.insert_player(
        conn, id=player_id, location_id=location_id, card_number=new.card_number,
        display_name=new.display_name, created_at=utc_timestamp(),
    )
    if not inserted:
        raise Conflict(f"card {new.card_number} is already registered", code="card_taken")
    return view(conn, repo.by_id(conn, player_id))


def view(conn: Connection, row: Any, *, lock_wallet: bool = False) -> PlayerBody:
    wallet = account("wallet", row.id)
    return PlayerBody(
        player_id=row.id, card_number=row.card_number, location_id=row.location_id, display_name=row.display_name,
        wallet_account=wallet, balance_units=ledger_repo.balance(conn, wallet, CREDITS, for_update=lock_wallet),
    )


def find(conn: Connection, device: AuthedDevice, *, player_id: str | None = None, card_number: str | None = None) -> Any:
    """The player row, if it belongs to the device's location (a device never sees another cafe's players)."""
    row = repo.by_id(conn, player_id) if player_id is not None else repo.by_card(conn, card_number or "")
    if row is None or row.location_id != device.location_id:
        raise NotFound("no such player at this location", code="unknown_player")
    return row
