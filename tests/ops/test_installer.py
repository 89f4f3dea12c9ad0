"""The kiosk's PyInstaller build (installers/kiosk.spec): it builds, and the built program answers
--version and starts offscreen to its first screen (--smoke). Slow (a PySide6 build), run in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared import __version__

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 900


@pytest.mark.slow
def test_kiosk_build_runs_version_and_smoke(tmp_path: Path) -> None:
    assert (ROOT / "kiosk_app" / "__main__.py").is_file(), "the kiosk's entry point (python -m kiosk_app) is what gets built"
    build = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath", str(tmp_path / "dist"),
         "--workpath", str(tmp_path / "build"), str(ROOT / "installers" / "kiosk.spec")],
        capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, cwd=tmp_path,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    assert "windowed" in build.stdout + build.stderr, "the default build has no console window"
    program = tmp_path / "dist" / "cafesuite-kiosk" / ("cafesuite-kiosk.exe" if os.name == "nt" else "cafesuite-kiosk")
    assert program.is_file()
    assert not (tmp_path / "dist" / "cafesuite-kiosk" / "_internal" / "central_server").exists(), "the server is not shipped"

    version = subprocess.run([str(program), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.strip() == f"cafesuite kiosk {__version__}"

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "CAFE_KEYRING_FILE": str(tmp_path / "keys.cfg")}
    smoke = subprocess.run([str(program), "--smoke", "--data-dir", str(tmp_path / "kiosk-data")],
                           capture_output=True, text=True, timeout=120, env=env)
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr[-3000:]
    assert "first screen enroll" in smoke.stdout  # a kiosk not enrolled yet opens on its enrollment screen
    assert (tmp_path / "kiosk-data" / "logs" / "kiosk.log").is_file()  # the built app keeps its rotating log
