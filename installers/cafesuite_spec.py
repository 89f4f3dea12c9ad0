"""What installers/pos.spec and installers/kiosk.spec share: one PyInstaller folder build per app.

A spec file is Python that PyInstaller runs with ``SPECPATH`` and friends defined; each of
ours calls :func:`build_app` with its app's name. Build variants come from environment
variables, so CI and a technician build from the same files:

* ``CAFE_BUILD_CONSOLE=1``  keep a console window (field debugging); default: windowed.
* ``CAFE_BUILD_DEBUG=1``    bootloader debug output and no stripping.
* ``CAFE_BUILD_NAME``       the folder and program name (default ``cafesuite-<app>``).
* ``CAFE_BUILD_ENTRY``      another entry script (default ``<app>_app/__main__.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Imported by PyInstaller's own modules, never by the suite.
EXCLUDES = [
    "central_server", "tests", "bench", "tkinter", "matplotlib", "IPython", "pytest", "hypothesis", "schemathesis",
    "playwright", "uvicorn", "fastapi", "alembic", "psycopg", "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets",
    "PySide6.Qt3DCore", "PySide6.QtQuick3D", "PySide6.QtPdf",
]


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def build_app(app: str) -> Any:
    """Analysis → PYZ → EXE → COLLECT for ``<app>_app``; returns the COLLECT (PyInstaller picks it up)."""
    from PyInstaller.building.api import COLLECT, EXE, PYZ
    from PyInstaller.building.build_main import Analysis
    from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

    from shared import __version__

    package = f"{app}_app"
    name = os.environ.get("CAFE_BUILD_NAME") or f"cafesuite-{app}"
    entry = os.environ.get("CAFE_BUILD_ENTRY") or str(ROOT / package / "__main__.py")
    console, debug = _flag("CAFE_BUILD_CONSOLE"), _flag("CAFE_BUILD_DEBUG")
    datas = collect_data_files("shared") + collect_data_files(package)
    # keyring finds its backends, APScheduler its triggers, through package metadata.
    for dist in ("keyring", "keyrings.alt", "APScheduler"):
        datas += copy_metadata(dist)
    hiddenimports = [
        *collect_submodules(package), *collect_submodules("sync", filter=lambda m: not m.startswith("sync.sim")),
        *collect_submodules("keyring.backends"), "keyrings.alt.file", "sqlcipher3", "cafe_cli.main",
    ]
    analysis = Analysis([entry], pathex=[str(ROOT)], datas=datas, hiddenimports=hiddenimports, excludes=EXCLUDES,
                        noarchive=False)
    pyz = PYZ(analysis.pure)
    exe = EXE(pyz, analysis.scripts, [], exclude_binaries=True, name=name, debug=debug, strip=False, upx=False,
              console=console, disable_windowed_traceback=False)
    print(f"cafesuite {name} {__version__}: {'console' if console else 'windowed'}{', debug' if debug else ''}, entry {entry}")
    return COLLECT(exe, analysis.binaries, analysis.datas, strip=False, upx=False, name=name)
