"""Rotating log files for the POS and kiosk, in the device's data directory.

The apps call :func:`setup_device_logging` once at start. A cafe machine runs for months
without anyone watching it, so the files are bounded (``max_bytes`` × ``backup_count``)
and rotate on their own; the support bundle (``cafe support-bundle``) collects them.
Lines are JSON so a technician's tools can filter them, one object per line.
"""

from __future__ import annotations

import json
import logging
import time
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

LOGS_DIR = "logs"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_BACKUP_COUNT = 5
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonLineFormatter(logging.Formatter):
    """time, level, logger, message, and any ``extra`` fields, as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                data[name] = value if isinstance(value, str | int | float | bool | type(None)) else repr(value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def logs_dir(data_dir: Path) -> Path:
    return Path(data_dir) / LOGS_DIR


def setup_device_logging(data_dir: Path, app: str, *, level: int = logging.INFO, max_bytes: int = DEFAULT_MAX_BYTES,
                         backup_count: int = DEFAULT_BACKUP_COUNT) -> Path:
    """Log the process (root logger) to ``<data_dir>/logs/<app>.log``, rotated; returns the file's path.

    Calling it again for the same file does not add a second handler.
    """
    assert app.isidentifier(), "the app name becomes a file name"
    assert max_bytes > 0 and 0 < backup_count <= 100, "log files are bounded"
    folder = logs_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{app}.log"
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == path.resolve():
            return path
    handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8")
    handler.setFormatter(JsonLineFormatter())
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per sync tick would drown the rest
    return path
