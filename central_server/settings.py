"""The central server's settings: defaults, then a TOML file, then ``CAFE_*`` environment
variables, then command-line flags (each overrides the one before).

The TOML file is ``central.toml`` in the data directory, or the file named by
``CAFE_CONFIG``. Everything is validated at start-up so a typo stops the server with a
clear line instead of surfacing later.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from shared.errors import CafeError

CONFIG_ENV = "CAFE_CONFIG"
CONFIG_FILENAME = "central.toml"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("cafesuite", appauthor=False)) / "central"


class Settings(BaseSettings):
    """One settings object per program, read once at start."""

    model_config = SettingsConfigDict(env_prefix="CAFE_", extra="forbid")

    data_dir: Path = Field(default_factory=default_data_dir)
    db_url: str | None = None
    """SQLAlchemy URL; without one, a SQLite file ``central.db`` in the data directory."""
    host: str = "127.0.0.1"
    port: int = Field(default=8443, ge=0, le=65535)
    insecure_http: bool = False
    """Serve plain HTTP: local development only."""
    db_pool_size: int = Field(default=10, ge=1, le=200)
    enroll_code_ttl_s: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)

    @field_validator("db_url")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _config_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.data_dir / 'central.db'}"


def _config_file() -> Path | None:
    named = os.environ.get(CONFIG_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise CafeError(f"{CONFIG_ENV} names {path}, which is not a file")
        return path
    data_dir = os.environ.get("CAFE_DATA_DIR")
    candidate = (Path(data_dir) if data_dir else default_data_dir()) / CONFIG_FILENAME
    return candidate if candidate.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """Settings from every source; ``overrides`` (command-line flags) win; ``None`` means unset."""
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors())
        raise CafeError(f"invalid settings: {problems}") from exc
