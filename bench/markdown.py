"""``python -m bench.markdown RESULTS.json``: the figures of a run as Markdown tables.

For ``docs/performance.md``: the machine and placement, one table per scenario (each
runtime's figure and Python's ratio to it), and the targets with PASS/MISS.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .report import format_value

RUNTIMES = ("python", "ruby", "node")


def machine_table(document: dict[str, Any]) -> list[str]:
    machine = document["machine"]
    rows = ["| | |", "| --- | --- |", f"| command | `{document['command']}` |"]
    rows.append(f"| started | {document['started_at']} |")
    rows += [f"| {name} | {value} |" for name, value in machine.items()]
    rows.append(f"| placement | {document['placement']['description']} |")
    rows.append(
        f"| redis-server CPUs (checked) | {document['placement']['redis_server_cpus_checked']} |"
    )
    return rows


def scenario_table(measurements: list[dict[str, Any]], scenario: str) -> list[str]:
    """One row per case: the value of each runtime, Python's ratio to Ruby and to node."""
    cases: dict[str, dict[str, dict[str, Any]]] = {}
    for m in measurements:
        if m["scenario"] == scenario:
            cases.setdefault(m["case"], {})[m["runtime"]] = m
    if not cases:
        return []
    rows = [
        "| case | python | ruby | node | python/ruby | python/node |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for case, by_runtime in cases.items():
        cells = [_cell(by_runtime.get(runtime)) for runtime in RUNTIMES]
        ratios = [_ratio(by_runtime.get("python"), by_runtime.get(r)) for r in ("ruby", "node")]
        rows.append(f"| {case} | {' | '.join(cells)} | {' | '.join(ratios)} |")
    return rows


def rtt_table(measurements: list[dict[str, Any]]) -> list[str]:
    rows = ["| redis-benchmark | ops/s | µs per op |", "| --- | ---: | ---: |"]
    for m in measurements:
        if m["scenario"] == "rtt":
            rows.append(f"| {m['runtime']} | {m['value']:,.0f} | {1e6 / m['value']:.1f} |")
    return rows


def targets_table(document: dict[str, Any]) -> list[str]:
    rows = ["| target | measured | status |", "| --- | ---: | --- |"]
    for target in document["targets"]:
        value = "-" if target["value"] is None else f"{target['value']:.2f}"
        rows.append(f"| {target['target']} | {value} | {target['status']} |")
    return rows


def _cell(measurement: dict[str, Any] | None) -> str:
    if measurement is None:
        return "-"
    return format_value(float(measurement["value"]), measurement["unit"])


def _ratio(python: dict[str, Any] | None, other: dict[str, Any] | None) -> str:
    if python is None or other is None or not other["value"]:
        return "-"
    return f"{python['value'] / other['value']:.2f}x"


def render(document: dict[str, Any]) -> str:
    measurements = document["measurements"]
    parts = ["### Machine and placement", "", *machine_table(document), ""]
    parts += ["### Round-trip limit", "", *rtt_table(measurements), ""]
    for scenario in document["scenarios"]:
        table = scenario_table(measurements, scenario)
        if table and scenario != "rtt":
            parts += [f"### {scenario}", "", *table, ""]
    parts += ["### Targets", "", *targets_table(document), ""]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.markdown", description=__doc__)
    parser.add_argument("results", type=Path)
    args = parser.parse_args(argv)
    print(render(json.loads(args.results.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
