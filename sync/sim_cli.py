"""``cafe sim``: run the fleet simulator and report whether every invariant held."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from shared.errors import CafeError


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sim", help="fleet simulator: real central, simulated POS and kiosks, faults; checks every entry lands once")
    parser.add_argument("--devices", type=int, default=20, help="number of devices (2/5 POS, the rest kiosks)")
    parser.add_argument("--ops", type=int, default=5000, help="business operations to run")
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same schedule of operations and faults")
    parser.add_argument("--faults", default="all",
                        help="all, none, or a comma list of drop_request,drop_response,delay,duplicate,reorder,kill_central,kill_device")
    parser.add_argument("--db", metavar="URL", help="central's database: an EMPTY postgresql:// database (default: SQLite in the work dir)")
    parser.add_argument("--work-dir", type=Path, help="where central and the devices keep files (default: a temporary folder, removed)")
    parser.add_argument("--snapshots", type=int, default=2, help="checks during the run, besides the final one")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.set_defaults(func=run_sim)


def run_sim(args: argparse.Namespace) -> int:
    from sync.sim.plan import PlanConfig, parse_sim_faults
    from sync.sim.runner import result_line, run_simulation

    try:
        config = PlanConfig(devices=args.devices, ops=args.ops, seed=args.seed, faults=parse_sim_faults(args.faults),
                            snapshots=args.snapshots)
    except ValueError as exc:
        raise CafeError(str(exc)) from exc
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="cafe-sim-"))
    try:
        result = run_simulation(config, work_dir, args.db, log=sys.stderr)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work_dir, ignore_errors=True)
    summary = (f"{result.business_ops} ops ({result.ops} with pushes, crashes and snapshots), {result.entries} entries, "
               f"{result.devices} devices, {result.duration_s:.1f} s ({result.ops_per_s:.0f} ops/s); "
               f"lost {result.lost}, duplicated {result.duplicated}, faults {result.faults}")
    print(summary)
    for violation in result.violations:
        print(f"VIOLATION {violation}")
    print("OK: every entry applied once, every invariant held" if not result.violations else
          f"FAILED: {len(result.violations)} violation(s)")
    if args.json:
        print(result_line(result))
    return 1 if result.violations else 0
