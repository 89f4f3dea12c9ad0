"""HTTP for players (signed device requests): register, search, view, self-exclusion,
the kiosk's PIN login and the counter's online wallet payout."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from central_server.db import Tx
from central_server.devices.dependencies import Device
from central_server.devices.schemas import ErrorBody
from central_server.players import service
from central_server.players.schemas import (
    ActivityListBody,
    LoginBody,
    NewPlayerBody,
    PlayerBody,
    PlayerProfileBody,
    RedeemWalletBody,
    RedeemWalletResultBody,
    RegisterPlayerBody,
    SearchResultBody,
    SelfExclusionBody,
)
from central_server.sealing import DataKeys
from shared.protocol import PLAYERS_PATH

router = APIRouter(tags=["players"])
_AUTH: dict[int | str, dict[str, Any]] = {401: {"model": ErrorBody}, 403: {"model": ErrorBody}}
_404: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "no such player at this location"}}


def _data_keys(request: Request) -> DataKeys:
    keys: DataKeys = request.app.state.keys.data_keys
    return keys


Keys = Annotated[DataKeys, Depends(_data_keys)]


@router.post(PLAYERS_PATH, response_model=PlayerBody, responses={**_AUTH, 409: {"model": ErrorBody, "description": "card taken"}})
def register_player(new: NewPlayerBody, device: Device, conn: Tx) -> PlayerBody:
    """Register an anonymous card (no personal data) at the device's location."""
    return service.register(conn, device.location_id, new)


@router.post(PLAYERS_PATH + "/register", response_model=PlayerProfileBody,
             responses={**_AUTH, 409: {"model": ErrorBody, "description": "card taken"},
                        422: {"model": ErrorBody, "description": "invalid, or under age (code under_age)"}})
def register_profile(new: RegisterPlayerBody, device: Device, conn: Tx, keys: Keys) -> PlayerProfileBody:
    """Register a player with personal data (sealed at rest), an age check and an issued card."""
    return service.register_profile(conn, device, new, keys)


@router.get(PLAYERS_PATH + "/search", response_model=SearchResultBody, responses=_AUTH)
def search_players(device: Device, conn: Tx, keys: Keys,
                   q: Annotated[str, Query(min_length=1, max_length=200)]) -> SearchResultBody:
    """Players of this location by card number, phone, full name or surname (POS only)."""
    return SearchResultBody(players=service.search(conn, device, q, keys))


@router.post(PLAYERS_PATH + "/login", response_model=PlayerBody,
             responses={**_AUTH, **_404, 423: {"model": ErrorBody, "description": "card locked after wrong PINs"}})
def login(request: LoginBody, device: Device, conn: Tx) -> PlayerBody:
    """A player's card and PIN, checked for a kiosk; wrong PINs count towards a lockout."""
    return service.login(conn, device, request)


@router.post(PLAYERS_PATH + "/redeem", response_model=RedeemWalletResultBody,
             responses={**_AUTH, **_404, 409: {"model": ErrorBody, "description": "insufficient credits, or request id reused"}})
def redeem_wallet(request: RedeemWalletBody, device: Device, conn: Tx) -> RedeemWalletResultBody:
    """Pay credits out of a wallet (POS, online only); the same request id twice pays once."""
    return service.redeem_wallet(conn, device, request)


@router.get(PLAYERS_PATH + "/by-card/{card_number}", response_model=PlayerBody, responses={**_AUTH, **_404})
def player_by_card(card_number: str, device: Device, conn: Tx) -> PlayerBody:
    """A player and wallet balance by card number."""
    return service.view(conn, service.find(conn, device, card_number=card_number))


@router.get(PLAYERS_PATH + "/{player_id}", response_model=PlayerBody, responses={**_AUTH, **_404})
def player_by_id(player_id: str, device: Device, conn: Tx) -> PlayerBody:
    """A player and wallet balance by player id."""
    return service.view(conn, service.find(conn, device, player_id=player_id))


@router.get(PLAYERS_PATH + "/{player_id}/profile", response_model=PlayerProfileBody, responses={**_AUTH, **_404})
def player_profile(player_id: str, device: Device, conn: Tx, keys: Keys) -> PlayerProfileBody:
    """A registered player's details and balance (POS only)."""
    return service.profile_view(conn, device, player_id, keys)


@router.get(PLAYERS_PATH + "/{player_id}/activity", response_model=ActivityListBody, responses={**_AUTH, **_404})
def player_activity(player_id: str, device: Device, conn: Tx,
                    limit: Annotated[int, Query(ge=1, le=service.MAX_ACTIVITY)] = 20) -> ActivityListBody:
    """The newest movements of the player's wallet."""
    return ActivityListBody(activity=service.activity(conn, device, player_id, limit))


@router.put(PLAYERS_PATH + "/{player_id}/self-exclusion", response_model=PlayerBody, responses={**_AUTH, **_404})
def self_exclusion(player_id: str, change: SelfExclusionBody, device: Device, conn: Tx) -> PlayerBody:
    """Record a player's self-exclusion (lifting it is refused at the counter)."""
    return service.set_self_exclusion(conn, device, player_id, change)
