"""Metrics and request logging middleware for the app."""

from __future__ import annotations

from fastapi import FastAPI


def install_observability(app: FastAPI) -> None:
    """Nothing yet: issue 9 adds /metrics, request ids and JSON logs here."""
