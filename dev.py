#!/usr/bin/env python3
"""Set up and run cafesuite on a fresh machine that has only Python 3.11+.

    python3 dev.py run     # set up, then start the suite (`cafe demo`)
    python3 dev.py test    # set up, then lint, type-check and run every test

Each command creates ``.venv`` beside this file when it is missing, installs the
project into it (only again when pyproject.toml changed), installs the few Debian
packages the tests drive when they are missing and we are root, and then runs.
Standard library only: this file runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".cafesuite-installed"
DEBIAN_PACKAGES: dict[str, str] = {  # command -> Debian package, added as tests need them
    "chromium": "chromium",  # Playwright drives Debian's Chromium for the web console tests
    "haproxy": "haproxy",  # several central instances behind a load balancer
}
PG_HOST, PG_PORT = "127.0.0.1", 5432


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def run(*cmd: str | Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env)
    if result.returncode != 0:
        sys.exit(result.returncode)


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before the venv exists
        sys.exit(f"cafesuite needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        say(f"creating {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say("installing cafesuite and its test tools into .venv (first run takes a few minutes)")
    run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[dev]")
    STAMP.write_text(wanted)


def ensure_debian_packages() -> None:
    missing = [pkg for cmd, pkg in DEBIAN_PACKAGES.items() if shutil.which(cmd) is None]
    if not missing:
        return
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit(f"please install these packages first: {' '.join(missing)}")
    say(f"installing Debian packages: {' '.join(missing)}")
    run("apt-get", "update", "-qq")
    run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing)


def require_postgres() -> None:
    """The tests need the real PostgreSQL: fail here with the fix, never skip later."""
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=3):
            return
    except OSError as exc:
        sys.exit(
            f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT} ({exc.strerror or exc}); "
            "start it (e.g. pg_ctlcluster <version> main start) and run the tests again"
        )


def cmd_run(extra: list[str]) -> None:
    ensure_venv()
    env = dict(os.environ)
    run(BIN / "cafe", "demo", *extra, env=env)


def cmd_test(extra: list[str]) -> None:
    ensure_venv()
    ensure_debian_packages()
    require_postgres()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    say("ruff")
    run(BIN / "ruff", "check", ".", env=env)
    say("mypy")
    run(BIN / "mypy", env=env)
    say("pytest")
    run(PY, "-m", "pytest", *test_workers(extra), *extra, env=env)


def test_workers(extra: list[str]) -> list[str]:
    """pytest-xdist options: one worker per core (at most 4), whole files to a worker.

    Much of the suite waits on subprocesses, servers and Chromium, so one process keeps a
    core idle most of the time; two workers halve the run on a 2-core machine. A file goes
    to one worker whole (its module fixtures start once). ``-n`` given by hand wins.
    """
    if any(arg.startswith(("-n", "--numprocesses")) for arg in extra):
        return []
    return ["-n", str(max(1, min(4, os.cpu_count() or 1))), "--dist", "loadfile"]


def main() -> None:
    commands = {"run": cmd_run, "test": cmd_test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit("usage: python3 dev.py run|test [extra arguments]")
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
