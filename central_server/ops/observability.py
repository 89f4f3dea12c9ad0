"""Metrics (``GET /metrics``, Prometheus text format), request ids and structured JSON logs.

Everything is measured at the HTTP edge by one ASGI middleware, so no area has to call
into this module: an ingest answer already says per entry whether it was applied or a
duplicate, and every refusal is JSON ``{code, message}`` (central_server/errors.py), so
the middleware reads those small bodies on their way out. Device lag comes from the
heartbeats central keeps, read when Prometheus scrapes.

Each app has its own registry: several apps in one test process do not collide, and each
central instance reports its own counters (scrape every instance, not the balancer).
"""

from __future__ import annotations

import collections
import contextvars
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.protocol import HEADER_DEVICE, JOURNAL_PATH
from sync.logs import JsonLineFormatter

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
MAX_INSPECTED_BODY = 2 << 20  # an ingest answer for 500 entries is ~60 KB; never buffer more than this
MAX_LAG_DEVICES = 5000        # bounds one scrape
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("cafe_request_id", default=None)
access_log = logging.getLogger("cafesuite.access")


class Metrics:
    """The counters of one app."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry
        self.ingest_entries = Counter("cafe_ingest_entries", "journal entries received, by result (applied, duplicate)",
                                      ["result"], registry=registry)
        self.ingest_batches = Counter("cafe_ingest_batches", "ingest batches, by outcome (ok, gap, rejected, error)",
                                      ["outcome"], registry=registry)
        self.ingest_latency = Histogram("cafe_ingest_batch_seconds", "time to apply one ingest batch, answer included",
                                        buckets=LATENCY_BUCKETS_S, registry=registry)
        self.errors = Counter("cafe_http_errors", "refused or failed requests, by error code", ["code"], registry=registry)
        self.quarantines = Counter("cafe_quarantines", "devices quarantined by a rejected batch", registry=registry)
        self.requests = Counter("cafe_http_requests", "requests, by status class", ["status"], registry=registry)

    def observe(self, path: str, status: int, elapsed_s: float, body: bytes | None) -> None:
        self.requests.labels(status=f"{status // 100}xx").inc()
        parsed = _json(body) if body is not None else None
        code = str(parsed.get("code")) if isinstance(parsed, dict) and parsed.get("code") else None
        if status >= 400:
            self.errors.labels(code=code or f"http_{status}").inc()
        if path != JOURNAL_PATH:
            return
        self.ingest_latency.observe(elapsed_s)
        if status == 200:
            self.ingest_batches.labels(outcome="ok").inc()
            results = parsed.get("results") if isinstance(parsed, dict) else None
            # Counted once per result kind: one labelled increment per entry (a lock and a label lookup each, up to 500
            # a batch) was a third of the event loop's work during a catch-up.
            counts = collections.Counter(result.get("status") for result in (results if isinstance(results, list) else ())
                                         if isinstance(result, dict))
            for status_name in ("applied", "duplicate"):
                if counts[status_name]:
                    self.ingest_entries.labels(result=status_name).inc(counts[status_name])
        elif code in ("gap", "rejected"):
            self.ingest_batches.labels(outcome=code).inc()
            if code == "rejected":
                self.quarantines.inc()
        else:
            self.ingest_batches.labels(outcome="error").inc()


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


class DeviceLagCollector(Collector):
    """Per device, from its last heartbeat: outbox depth, age of its oldest unsent entry, silence."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("cafe_device_outbox_depth", "entries a device has not had acknowledged", labels=["device"])
        age = GaugeMetricFamily("cafe_device_lag_seconds", "age of a device's oldest unacknowledged entry", labels=["device"])
        silent = GaugeMetricFamily("cafe_device_heartbeat_age_seconds", "seconds since a device's last heartbeat",
                                   labels=["device"])
        now = time.time()
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.text(
                    "SELECT device_id, received_at, outbox_depth, oldest_unacked_age_s FROM device_heartbeats "
                    "ORDER BY device_id LIMIT :n"), {"n": MAX_LAG_DEVICES}).all()
        except Exception:  # a scrape must answer even when the database does not; readyz reports that
            rows = []
        from shared.entry import parse_utc_timestamp

        for row in rows:
            depth.add_metric([row.device_id], float(row.outbox_depth))
            age.add_metric([row.device_id], float(row.oldest_unacked_age_s))
            try:
                silent.add_metric([row.device_id], max(0.0, now - parse_utc_timestamp(row.received_at).timestamp()))
            except Exception:
                continue
        yield depth
        yield age
        yield silent


class ObservabilityMiddleware:
    """Request id in and out, one JSON access line per request, and the metrics of the answer."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get(REQUEST_ID_HEADER.lower(), "")
        request_id = given if _REQUEST_ID_RE.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        path: str = scope.get("path", "")
        started = time.perf_counter()
        status = 500
        inspect = False
        chunks: list[bytes] = []
        size = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status, inspect, size
            if message["type"] == "http.response.start":
                status = int(message["status"])
                inspect = status >= 400 or path == JOURNAL_PATH
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body" and inspect:
                body = message.get("body", b"")
                size += len(body)
                if size <= MAX_INSPECTED_BODY:
                    chunks.append(body)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            body = b"".join(chunks) if inspect and size <= MAX_INSPECTED_BODY else None
            self.metrics.observe(path, status, elapsed, body)
            access_log.info("%s %s %s", scope.get("method"), path, status, extra={
                "method": scope.get("method"), "path": path, "status": status, "duration_ms": round(elapsed * 1000, 2),
                "device": headers.get(HEADER_DEVICE.lower()), "client": (scope.get("client") or ("", 0))[0],
            })
            request_id_var.reset(token)


def install_observability(app: FastAPI) -> None:
    """``/metrics`` and the middleware; the app's engine feeds the device-lag gauges."""
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    registry.register(DeviceLagCollector(app.state.engine))
    app.state.metrics = metrics
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics(request: Request) -> Response:
        return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


# -- structured logs ----------------------------------------------------------------------

class JsonFormatter(JsonLineFormatter):
    """The device log format (sync/logs.py) plus the request id of the request being served."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = request_id_var.get()
        if request_id and not hasattr(record, "request_id"):
            record.request_id = request_id
        return super().format(record)


def configure_json_logging(level: str | int = logging.INFO, stream: Any = None) -> logging.Handler:
    """Send the suite's logs (root logger) to stderr as JSON lines; idempotent."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler.formatter, JsonFormatter):
            return handler
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    return handler
