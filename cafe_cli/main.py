"""``cafe``: the one command of the suite.

Each package registers its own subcommands (``register(subparsers)``), so a reader
finds ``cafe journal …`` in ``sync/cli.py`` and ``cafe central …`` in the server. This
module only wires them up and turns every refusal into one readable line: an operator
typing a wrong flag or path at a cafe counter should never see a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from shared import __version__
from shared.errors import CafeError

Register = Callable[[Any], None]


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line naming the way to get help."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (try '{self.prog} --help')\n")


def _registrars() -> list[Register]:
    from sync import cli as sync_cli

    registrars: list[Register] = [sync_cli.register]
    # Later parts of the suite add themselves here; import lazily so `cafe journal`
    # does not pay for Qt or the web stack.
    for module_name in ("central_server.cli", "sync.sim_cli", "pos_app.cli", "kiosk_app.cli", "cafe_cli.demo",
                        "sync.support_bundle"):
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that part of the suite is not built yet
            raise
        registrars.append(module.register)
    return registrars


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="cafe", description="cafesuite: kiosk, POS, central ledger server and sync.")
    parser.add_argument("--version", action="version", version=f"cafesuite {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    subparsers.required = True
    for register in _registrars():
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except CafeError as exc:
        print(f"cafe: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cafe: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        # A missing or unreadable file named on the command line: say which, in one line.
        where = f": {exc.filename}" if exc.filename else ""
        print(f"cafe: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
