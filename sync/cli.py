"""``cafe journal verify|export``: check a device journal, or hand it to an auditor."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from sync.journal import Journal, JournalError, VerifyReport


def register(subparsers: Any) -> None:
    journal = subparsers.add_parser("journal", help="check or export a device journal")
    actions = journal.add_subparsers(dest="journal_command", metavar="ACTION", parser_class=type(journal))
    actions.required = True

    verify = actions.add_parser("verify", help="re-check every hash, link, the head signature and the file's integrity")
    verify.add_argument("path", type=Path, help="the journal file (journal.db) or its data directory")
    verify.set_defaults(func=run_verify)

    export = actions.add_parser("export", help="write every entry as canonical JSON lines")
    export.add_argument("path", type=Path, help="the journal file (journal.db) or its data directory")
    export.add_argument("--out", type=Path, required=True, help="the .jsonl file to write")
    export.set_defaults(func=run_export)


def run_verify(args: argparse.Namespace) -> int:
    with Journal.open(args.path) as journal:
        report = journal.verify()
    print(report.summary())
    if not report.ok:
        # The summary above lists every problem; stderr gets the one-line verdict, like every other refusal.
        raise JournalError(f"{report.path} {_failure(report)}")
    return 0


def _failure(report: VerifyReport) -> str:
    first = report.problems[0] if report.problems else "a check did not hold"
    return f"FAILED verification ({len(report.problems)} problem(s); first: {first})"


def run_export(args: argparse.Namespace) -> int:
    out: Path = args.out
    if not out.parent.is_dir():
        raise JournalError(f"cannot write {out}: folder {out.parent} does not exist")
    count = 0
    with Journal.open(args.path) as journal:
        # An auditor gets only a journal that proves itself: a damaged page may sit in an
        # index a plain read never touches, and a tampered row must not leave as a fact.
        report = journal.verify()
        if not report.ok:
            raise JournalError(f"cannot export {report.path}: it {_failure(report)}; 'cafe journal verify' lists every problem")
        # Write beside the target and rename, so an interrupted export never leaves half a file.
        fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                for entry in journal.entries():
                    handle.write(entry.canonical() + b"\n")
                    count += 1
            os.replace(tmp_name, out)
        except BaseException:
            os.unlink(tmp_name)
            raise
    print(f"exported {count} entries to {out}", file=sys.stderr)
    return 0
