"""HTTP for players (signed device requests): register, look up by card or id."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from central_server.db import Tx
from central_server.devices.dependencies import Device
from central_server.devices.schemas import ErrorBody
from central_server.players import service
from central_server.players.schemas import NewPlayerBody, PlayerBody
from shared.protocol import PLAYERS_PATH

router = APIRouter(tags=["players"])
_AUTH: dict[int | str, dict[str, Any]] = {401: {"model": ErrorBody}, 403: {"model": ErrorBody}}


@router.post(PLAYERS_PATH, response_model=PlayerBody, responses={**_AUTH, 409: {"model": ErrorBody, "description": "card taken"}})
def register_player(
    new: NewPlayerBody,
    device: Device,
    conn: Tx,
) -> PlayerBody:
    """Register a player at the device's location."""
    return service.register(conn, device.location_id, new)


@router.get(PLAYERS_PATH + "/by-card/{card_number}", response_model=PlayerBody, responses={**_AUTH, 404: {"model": ErrorBody}})
def player_by_card(
    card_number: str,
    device: Device,
    conn: Tx,
) -> PlayerBody:
    """A player and wallet balance by card number."""
    return service.view(conn, service.find(conn, device, card_number=card_number))


@router.get(PLAYERS_PATH + "/{player_id}", response_model=PlayerBody, responses={**_AUTH, 404: {"model": ErrorBody}})
def player_by_id(
    player_id: str,
    device: Device,
    conn: Tx,
) -> PlayerBody:
    """A player and wallet balance by player id."""
    return service.view(conn, service.find(conn, device, player_id=player_id))
