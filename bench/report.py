"""Figures, their ratios to the baselines of the same run, and the issue's targets.

A figure is a ``Measurement``: one runtime's value for one case of one scenario. Each case
prints the Python figure first, then every baseline measured in the same run (Ruby Resque,
node-resque, the ``redis-benchmark`` round-trip limit) with the ratio Python ÷ baseline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

Printer = Callable[[str], None]


@dataclass(frozen=True)
class Measurement:
    scenario: str
    case: str
    runtime: str
    value: float
    unit: str
    higher_is_better: bool = True
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.scenario}/{self.case}/{self.runtime}"


class Results:
    """Every measurement of a run, in the order taken, findable by key."""

    def __init__(self) -> None:
        self.measurements: list[Measurement] = []

    def add(self, measurement: Measurement) -> Measurement:
        self.measurements.append(measurement)
        return measurement

    def get(self, key: str) -> Measurement | None:
        return next((m for m in reversed(self.measurements) if m.key == key), None)

    def of_scenario(self, scenario: str) -> list[Measurement]:
        return [m for m in self.measurements if m.scenario == scenario]


def format_value(value: float, unit: str) -> str:
    if value >= 100:
        text = f"{value:,.0f}"
    elif value >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}"


def print_case(
    out: Printer, case: str, rows: Iterable[Measurement], extra: Iterable[Measurement] = ()
) -> None:
    """One case: the Python figure, then each baseline with Python ÷ baseline."""
    rows = list(rows)
    out(f"  {case}")
    python = next((m for m in rows if m.runtime.startswith("python")), None)
    for row in [*rows, *extra]:
        line = f"    {row.runtime:<34} {format_value(row.value, row.unit):>18}"
        if python is not None and row is not python and row.value > 0:
            line += "   " + _ratio_text(python, row)
        runs = row.detail.get("runs")
        if runs and len(runs) > 1:
            line += "   runs: " + ", ".join(f"{r:,.0f}" if r >= 100 else f"{r:.2f}" for r in runs)
        out(line)


def _ratio_text(python: Measurement, baseline: Measurement) -> str:
    ratio = python.value / baseline.value
    text = f"python/{baseline.runtime.split()[0]} = {ratio:.2f}x"
    if baseline.runtime.startswith("redis") and ratio > 0:
        return f"{text} (python's takes {1 / ratio:.1f}x the time of one redis-benchmark op)"
    return f"{text} ({'higher' if baseline.higher_is_better else 'lower'} is better)"


@dataclass(frozen=True)
class Target:
    """One line of the issue's targets: a ratio of two figures, or a figure, and its bound."""

    name: str
    measured: str
    baseline: str | None = None
    at_least: float | None = None
    at_most: float | None = None

    def evaluate(self, results: Results) -> dict[str, Any]:
        measured = results.get(self.measured)
        base = results.get(self.baseline) if self.baseline else None
        verdict: dict[str, Any] = {"target": self.name, "measured": self.measured}
        if measured is None or (self.baseline and base is None):
            return {**verdict, "value": None, "status": "n/a (not measured in this run)"}
        value = measured.value / base.value if base is not None else measured.value
        ok = (self.at_least is None or value >= self.at_least) and (
            self.at_most is None or value <= self.at_most
        )
        return {**verdict, "baseline": self.baseline, "value": value, "status": _status(ok)}


def _status(ok: bool) -> str:
    return "PASS" if ok else "MISS"


TP = "throughput"
TARGETS = (
    Target(
        "worker no-fork >= 5x Ruby no-fork",
        f"{TP}/worker no-fork, 1 process/python",
        f"{TP}/worker no-fork, 1 process/ruby",
        at_least=5.0,
    ),
    Target(
        "worker no-fork > node-resque",
        f"{TP}/worker no-fork, 1 process/python",
        f"{TP}/worker no-fork, 1 process/node",
        at_least=1.0,
    ),
    Target(
        "worker fork >= 2x Ruby fork",
        f"{TP}/worker fork, 1 process/python",
        f"{TP}/worker fork, 1 process/ruby",
        at_least=2.0,
    ),
    Target(
        "worker JOBS_PER_FORK=100 >= 5x Ruby fork",
        "forks/JOBS_PER_FORK=100, 1 process/python",
        "forks/JOBS_PER_FORK=100, 1 process/ruby",
        at_least=5.0,
    ),
    Target(
        "worker JOBS_PER_FORK=100 >= 0.7x own no-fork",
        "forks/JOBS_PER_FORK=100, 1 process/python",
        "forks/JOBS_PER_FORK=100, 1 process/python-nofork",
        at_least=0.7,
    ),
    Target(
        "enqueue one by one >= 1.5x Ruby",
        "enqueue/enqueue one by one/python",
        "enqueue/enqueue one by one/ruby",
        at_least=1.5,
    ),
    Target(
        "worker start to exit <= Ruby's",
        "startup/start to exit/python",
        "startup/start to exit/ruby",
        at_most=1.0,
    ),
    Target(
        "worker start peak RSS <= Ruby's",
        "startup/peak RSS/python",
        "startup/peak RSS/ruby",
        at_most=1.0,
    ),
    Target(
        "enqueue_many >= 10x Ruby one by one",
        "enqueue/enqueue_many/python",
        "enqueue/enqueue one by one/ruby",
        at_least=10.0,
    ),
    Target("pickup median <= 5 ms (fork)", "latency/pickup median, fork/python", at_most=5.0),
    Target("pickup p99 <= 20 ms (fork)", "latency/pickup p99, fork/python", at_most=20.0),
    Target("pickup median <= 5 ms (no-fork)", "latency/pickup median, no-fork/python", at_most=5.0),
    Target("pickup p99 <= 20 ms (no-fork)", "latency/pickup p99, no-fork/python", at_most=20.0),
    Target("idle worker <= 20 commands/s (fork)", "latency/idle commands, fork/python", at_most=20),
    Target(
        "idle worker <= 20 commands/s (no-fork)",
        "latency/idle commands, no-fork/python",
        at_most=20,
    ),
    Target(
        "Redis CPU per job <= 25 us (no-fork)",
        "redis-cpu/Redis CPU per job, no-fork/python",
        at_most=25.0,
    ),
    Target(
        "Redis CPU per job <= Ruby's (no-fork)",
        "redis-cpu/Redis CPU per job, no-fork/python",
        "redis-cpu/Redis CPU per job, no-fork/ruby",
        at_most=1.0,
    ),
    Target(
        "worker RSS <= Ruby's (no-fork)",
        "rss/worker RSS, no-fork/python",
        "rss/worker RSS, no-fork/ruby",
        at_most=1.0,
    ),
    Target(
        "worker RSS <= Ruby's (fork, parent)",
        "rss/worker RSS, fork/python",
        "rss/worker RSS, fork/ruby",
        at_most=1.0,
    ),
    Target("delayed lateness median <= 5 ms", "scheduler/lateness median/python", at_most=5.0),
    Target("delayed lateness p99 <= 50 ms", "scheduler/lateness p99/python", at_most=50.0),
    Target(
        "moving due jobs >= 2x resque-scheduler",
        "scheduler/move due jobs/python",
        "scheduler/move due jobs/ruby",
        at_least=2.0,
    ),
    Target(
        "enqueue_in one by one >= Ruby",
        "scheduler/enqueue_in one by one/python",
        "scheduler/enqueue_in one by one/ruby",
        at_least=1.0,
    ),
    Target(
        "enqueue_at_many >= 10x Ruby enqueue_in",
        "scheduler/enqueue_at_many/python",
        "scheduler/enqueue_in one by one/ruby",
        at_least=10.0,
    ),
)


def print_targets(out: Printer, verdicts: list[dict[str, Any]]) -> None:
    out("== targets ==")
    for verdict in verdicts:
        value = verdict["value"]
        shown = "-" if value is None else f"{value:.2f}"
        out(f"  {verdict['status']:<32} {verdict['target']:<42} {shown}")


def write_json(path: Path, document: dict[str, Any], results: Results) -> None:
    document = {**document, "measurements": [asdict(m) for m in results.measurements]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
