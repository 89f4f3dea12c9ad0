"""The server's refusals and the one place that turns them into JSON ``{code, message}``.

Every refusal is a ``shared.errors.CafeError``; some carry extra fields (an ingest gap
says which seq central expects) and some must leave a trace that survives the rolled-back
request (a quarantine): ``after_rollback`` runs in its own transaction for those.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import CafeError

log = logging.getLogger("central_server")


class ApiError(CafeError):
    """A refusal that may add fields to its JSON and record something after the rollback."""

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None,
                 extra: dict[str, Any] | None = None):
        super().__init__(message, code=code, http_status=http_status)
        self.extra = extra or {}

    def after_rollback(self, engine: Engine) -> None:
        """Record what must persist although the request's transaction was rolled back."""


class Unauthenticated(ApiError):
    code = "unauthenticated"
    http_status = 401


class Forbidden(ApiError):
    code = "forbidden"
    http_status = 403


class NotFound(ApiError):
    code = "not_found"
    http_status = 404


class Conflict(ApiError):
    code = "conflict"
    http_status = 409


class PayloadTooLarge(ApiError):
    code = "too_large"
    http_status = 413


class BadRequest(ApiError):
    code = "bad_request"
    http_status = 400


def _body(code: str, message: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {**(extra or {}), "code": code, "message": message}


async def _cafe_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CafeError)
    extra: dict[str, Any] = {}
    if isinstance(exc, ApiError):
        extra = exc.extra
        await run_in_threadpool(exc.after_rollback, request.app.state.engine)
    if exc.http_status >= 500:
        log.error("%s: %s", exc.code, exc.message)
    return JSONResponse(_body(exc.code, exc.message, extra), status_code=exc.http_status)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return JSONResponse(_body("invalid", "; ".join(parts) or "invalid request"), status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(_body(code, str(exc.detail)), status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    # A constraint that caught a race (two instances, one request twice): the request did
    # nothing and may be retried. Anything else from the database is a 503, never a bare 500.
    if isinstance(exc, IntegrityError):
        return JSONResponse(_body("conflict", "a concurrent request changed the same data; retry"), status_code=409)
    if isinstance(exc, DataError):
        # A value the database cannot store (PostgreSQL refuses NUL in text, numbers out of
        # range): the request is at fault and a retry would fail the same way, so not a 503.
        log.info("data refused by the database: %s", exc.orig)
        return JSONResponse(_body("invalid", "a value in the request cannot be stored (NUL character or number out of range)"),
                            status_code=422)
    log.warning("database error: %s", exc)
    return JSONResponse(_body("unavailable", "the database is unavailable or busy; retry"), status_code=503)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CafeError, _cafe_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
