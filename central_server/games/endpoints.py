"""HTTP for the game catalog, content-addressed packages and finite pools.

The built-in games are published when the server starts (if central never had them), so
a fresh central always serves a playable catalog.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from central_server.db import Tx
from central_server.devices.dependencies import Device
from central_server.devices.schemas import ErrorBody
from central_server.errors import Conflict
from central_server.games import pools, service
from central_server.games.schemas import DealRequestBody, DealResponseBody, PoolBody
from central_server.keys import CentralKeys
from shared.protocol import GAME_PACKAGES_PATH, GAMES_CATALOG_PATH, POOL_DEAL_PATH, POOLS_PATH

PACKAGE_MEDIA_TYPE = "application/vnd.cafesuite.game-package+json"
SIGNATURE_HEADER = "X-Cafe-Package-Signature"


SEED_ATTEMPTS = 3


def seed_on_start(engine: Engine, keys: CentralKeys) -> None:
    # Several instances starting together race to publish the same shipped games; the loser's
    # transaction is rolled back and a fresh one then finds them published and does nothing.
    for attempt in range(SEED_ATTEMPTS):
        try:
            with engine.begin() as conn:
                service.seed_builtin_games(conn, keys.signing_key)
            return
        except Conflict:
            if attempt == SEED_ATTEMPTS - 1:
                raise


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    await run_in_threadpool(seed_on_start, app.state.engine, app.state.keys)
    yield


router = APIRouter(tags=["games"], lifespan=_lifespan)

_ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": ErrorBody}, 403: {"model": ErrorBody}}


@router.get(GAMES_CATALOG_PATH, responses={**_ERRORS, 200: {"description": "the catalog JSON, with ETag"},
                                           304: {"description": "unchanged since the ETag sent in If-None-Match"}})
def catalog(request: Request, device: Device, conn: Tx) -> Response:
    """Active games with their exact RTP, package address, size and central's signature."""
    body, etag = service.catalog(conn)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if service.etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get(f"{GAME_PACKAGES_PATH}/{{sha256}}", responses={404: {"model": ErrorBody, "description": "no package at that address"},
                                                           304: {"description": "the client holds it already"}})
def package(sha256: str, request: Request, conn: Tx) -> Response:
    """A package's bytes; the address never changes its contents, so anyone may cache it forever."""
    raw, signature = service.package_download(conn, sha256)
    headers = {"ETag": f'"{sha256}"', "Cache-Control": "public, max-age=31536000, immutable", SIGNATURE_HEADER: signature}
    if service.etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(raw, media_type=PACKAGE_MEDIA_TYPE, headers=headers)


@router.post(POOL_DEAL_PATH, response_model=DealResponseBody, tags=["pools"], responses={
    **_ERRORS, 404: {"model": ErrorBody, "description": "unknown game"},
    409: {"model": ErrorBody, "description": "request id reused for another deal, or a concurrent deal; retry"},
    422: {"model": ErrorBody, "description": "malformed, or not a pool game"}})
def deal(request: DealRequestBody, device: Device, conn: Tx) -> DealResponseBody:
    """Deal pool entries to a kiosk session (idempotent by request id)."""
    return pools.deal(conn, device, request)


@router.get(f"{POOLS_PATH}/{{pool_id}}", response_model=PoolBody, tags=["pools"],
            responses={404: {"model": ErrorBody, "description": "unknown pool"}})
def pool(pool_id: str, conn: Tx) -> PoolBody:
    """A pool's public commitment and prize table; once spent, the reveal and the prize each round paid."""
    return pools.pool_document(conn, pool_id)
