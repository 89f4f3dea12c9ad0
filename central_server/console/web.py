"""Mounts the web console on the app (pages, static files, session middleware)."""

from __future__ import annotations

from fastapi import FastAPI


def install_console(app: FastAPI) -> None:
    """Nothing yet: issue 7 adds the console's routers and static files here."""
