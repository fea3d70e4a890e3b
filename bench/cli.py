"""``python -m bench``: run the scenarios, print every figure with its baselines and ratios.

    python -m bench                      # everything, full size (about 10 minutes on 2 cores)
    python -m bench --quick              # tiny sizes: checks that every scenario still runs
    python -m bench --only latency --json out.json
    RESQUE_RUBY_LIB=/path/to/resque/lib python -m bench    # with Ruby Resque as a baseline

A private redis-server is started for the run and removed afterwards.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .context import FULL, QUICK, Context
from .env import PLACEMENTS, BenchServer, Placement, Runtimes, machine_info
from .procs import BenchError
from .report import TARGETS, Results, print_targets, write_json
from .scenarios import SCENARIOS


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="resque-compat benchmarks against Ruby Resque, "
        "node-resque and the Redis round-trip limit, measured in the same run.",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repetition")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SCENARIO",
        help=f"run only these (repeatable or comma-separated): {', '.join(SCENARIOS)}",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every figure here")
    parser.add_argument("--repeat", type=int, help="repetitions per figure (median reported)")
    parser.add_argument(
        "--placement",
        choices=PLACEMENTS,
        default="split",
        help="split: redis-server on the first CPU, clients on the others (default); "
        "shared: everything on the first CPU; none: no pinning",
    )
    parser.add_argument("--no-ruby", action="store_true", help="leave out Ruby Resque")
    parser.add_argument("--no-node", action="store_true", help="leave out node-resque")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    return parser.parse_args(argv)


def chosen_scenarios(only: Sequence[str]) -> list[str]:
    """The scenarios to run, in the canonical order; the round-trip baseline is always in."""
    wanted = {name.strip() for item in only for name in item.split(",") if name.strip()}
    unknown = wanted - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}; see --list")
    if not wanted:
        return list(SCENARIOS)
    return [name for name in SCENARIOS if name in wanted or name == "rtt"]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for name, (_run, about) in SCENARIOS.items():
            print(f"{name:<12} {about}")
        return 0
    names = chosen_scenarios(args.only)
    sizes = QUICK if args.quick else FULL
    if args.repeat is not None:
        sizes = replace(sizes, repeat=max(1, args.repeat))
    placement = Placement.choose(args.placement)
    runtimes = Runtimes.detect(want_ruby=not args.no_ruby, want_node=not args.no_node)
    placement.pin_self()
    results = Results()
    with BenchServer(placement) as server:
        ctx = Context(server, placement, runtimes, sizes, results, _print)
        header = describe_run(ctx, names, argv)
        failed = [name for name in names if not run_scenario(ctx, name)]
        header["machine"]["loadavg_at_end"] = list(os.getloadavg())
    verdicts = [target.evaluate(results) for target in TARGETS]
    _print("")
    _print(f"load average at the end: {header['machine']['loadavg_at_end']}")
    print_targets(_print, verdicts)
    if args.json is not None:
        write_json(args.json, {**header, "targets": verdicts}, results)
        _print(f"\nfigures written to {args.json}")
    if failed:
        _print(f"FAILED scenarios: {', '.join(failed)}")
    return 1 if failed else 0


def run_scenario(ctx: Context, name: str) -> bool:
    """Run one scenario; a failure is reported and the run goes on with the next one."""
    started = time.monotonic()
    try:
        SCENARIOS[name][0](ctx)
    except BenchError as error:
        _print(f"  {name} FAILED: {error}")
        return False
    _print(f"  ({name} took {time.monotonic() - started:.1f} s)")
    return True


def describe_run(ctx: Context, names: Sequence[str], argv: Sequence[str] | None) -> dict[str, Any]:
    """Print and return what the figures depend on: machine, versions, placement, sizes."""
    machine = machine_info(ctx.server, ctx.runtimes)
    server_cpus = ctx.server.cpus()
    header = {
        "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "scenarios": list(names),
        "machine": machine,
        "placement": {**ctx.placement.as_json(), "redis_server_cpus_checked": server_cpus},
        "baselines_missing": dict(ctx.runtimes.reasons),
        "sizes": ctx.sizes.__dict__,
    }
    _print(f"resque-compat benchmarks: {header['command']}")
    for name, value in machine.items():
        _print(f"  {name:<18} {value}")
    _print(f"  placement          {ctx.placement.describe()}")
    _print(f"  redis-server CPUs  {server_cpus} (read back from the running server)")
    for runtime, reason in ctx.runtimes.reasons.items():
        _print(f"  no {runtime} baseline: {reason}")
    return header


def _print(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
