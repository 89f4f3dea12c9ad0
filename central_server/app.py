"""The FastAPI application: routers, the error handlers, the engine and central's keys."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from central_server.console.web import install_console
from central_server.device_config.endpoints import router as device_config_router
from central_server.devices.endpoints import router as devices_router
from central_server.errors import install_error_handlers
from central_server.games.endpoints import router as games_router
from central_server.health.endpoints import router as health_router
from central_server.ingest.endpoints import router as ingest_router
from central_server.keys import CentralKeys
from central_server.ops.observability import install_observability
from central_server.payments.endpoints import router as payments_router
from central_server.players.endpoints import router as players_router
from central_server.reports.endpoints import router as reports_router
from central_server.sessions.endpoints import router as sessions_router
from central_server.vouchers.endpoints import router as vouchers_router
from shared import __version__


def create_app(engine: Engine, keys: CentralKeys) -> FastAPI:
    """An app over an engine whose schema is at the head (``serve`` checks that first)."""
    app = FastAPI(title="cafesuite central", version=__version__, docs_url="/docs", openapi_url="/openapi.json")
    app.state.engine = engine
    app.state.keys = keys
    install_error_handlers(app)
    install_observability(app)
    routers = (
        health_router,
        devices_router,
        ingest_router,
        players_router,
        sessions_router,
        vouchers_router,
        device_config_router,
        games_router,
        reports_router,
        payments_router,
    )
    for router in routers:
        app.include_router(router)
    install_console(app)
    return app
