"""``python -m bench.plot RESULTS.json [-o docs/img/performance.png]``: the figures as a chart.

Four panels, log scales (the runtimes differ by orders of magnitude): worker throughput of
one process, the N-process curve, idle pickup latency (median, p99 as a whisker), and
enqueue rates. Needs matplotlib (``pip install matplotlib``; bench-only, not a dependency
of resque-compat).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

COLOURS = {"python": "#3572A5", "ruby": "#CC342D", "node": "#689F63"}
BAR_WIDTH = 0.25
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "img" / "performance.png"

Values = dict[str, dict[str, float]]
"""case -> runtime -> value."""


def by_case(measurements: list[dict[str, Any]], scenario: str) -> Values:
    found: Values = {}
    for m in measurements:
        if m["scenario"] == scenario:
            found.setdefault(m["case"], {})[m["runtime"]] = float(m["value"])
    return found


def positions(groups: Sequence[tuple[str, dict[str, float]]]) -> dict[tuple[int, str], float]:
    """x of each (group, runtime) bar: the runtimes a group has, centred on the group."""
    found: dict[tuple[int, str], float] = {}
    for index, (_label, values) in enumerate(groups):
        present = [runtime for runtime in COLOURS if runtime in values]
        for slot, runtime in enumerate(present):
            found[(index, runtime)] = index + (slot - (len(present) - 1) / 2) * BAR_WIDTH
    return found


def bars(axis: Any, groups: Sequence[tuple[str, dict[str, float]]], unit: str) -> None:
    """Grouped bars, one colour per runtime, each labelled with its value."""
    where = positions(groups)
    for runtime, colour in COLOURS.items():
        points = [(x, groups[i][1][r]) for (i, r), x in where.items() if r == runtime]
        if points:
            drawn = axis.bar(
                [x for x, _ in points],
                [y for _, y in points],
                BAR_WIDTH * 0.95,
                label=runtime,
                color=colour,
            )
            axis.bar_label(drawn, labels=[_short(y) for _, y in points], fontsize=7, padding=1)
    axis.set_xticks(range(len(groups)))
    axis.set_xticklabels([label for label, _values in groups], fontsize=8)
    axis.set_yscale("log")
    axis.set_ylabel(unit)
    axis.legend(fontsize=8)


def _short(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def throughput_panel(axis: Any, measurements: list[dict[str, Any]]) -> None:
    cases = by_case(measurements, "throughput")
    groups = [
        (case.replace("worker ", "").replace(", 1 process", ""), v) for case, v in cases.items()
    ]
    bars(axis, groups, "jobs/s")
    axis.set_title("Worker throughput, no-op jobs, 1 process", fontsize=10)


def scaling_panel(axis: Any, measurements: list[dict[str, Any]]) -> None:
    series: dict[tuple[str, bool], list[tuple[int, float]]] = {}
    for m in measurements:
        if m["scenario"] == "scaling":
            key = (m["runtime"], bool(m["detail"]["fork"]))
            series.setdefault(key, []).append((int(m["detail"]["processes"]), float(m["value"])))
    for (runtime, fork), points in sorted(series.items()):
        points.sort()
        label = f"{runtime} {'fork' if fork else 'no-fork'}"
        style = "--" if fork else "-"
        xs, ys = [p for p, _ in points], [v for _, v in points]
        axis.plot(xs, ys, style, marker="o", color=COLOURS[runtime], label=label)
    axis.set_xlabel("worker processes")
    axis.set_ylabel("jobs/s")
    axis.set_yscale("log")
    axis.set_xticks(sorted({p for points in series.values() for p, _ in points}))
    axis.legend(fontsize=7)
    axis.set_title("Throughput with N processes (all CPUs)", fontsize=10)


def latency_panel(axis: Any, measurements: list[dict[str, Any]]) -> None:
    cases = by_case(measurements, "latency")
    groups: list[tuple[str, dict[str, float]]] = []
    whiskers: list[tuple[str, str, float]] = []
    for mode in ("fork", "no-fork"):
        medians = cases.get(f"pickup median, {mode}", {})
        if medians:
            groups.append((mode, medians))
            for runtime, p99 in cases.get(f"pickup p99, {mode}", {}).items():
                whiskers.append((mode, runtime, p99))
    bars(axis, groups, "ms (median; whisker: p99)")
    where = positions(groups)
    for mode, runtime, p99 in whiskers:
        index = [label for label, _ in groups].index(mode)
        x = where[(index, runtime)]
        axis.plot([x, x], [groups[index][1][runtime], p99], color="black", linewidth=1)
        axis.plot([x - BAR_WIDTH / 4, x + BAR_WIDTH / 4], [p99, p99], color="black", linewidth=1)
    axis.set_title("Idle pickup latency (Ruby, node poll every 0.1 s)", fontsize=10)


def enqueue_panel(axis: Any, measurements: list[dict[str, Any]]) -> None:
    cases = by_case(measurements, "enqueue")
    groups = [(case.replace("enqueue ", ""), values) for case, values in cases.items()]
    bars(axis, groups, "jobs/s")
    axis.set_title("Enqueue rate", fontsize=10)


def plot(document: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measurements = document["measurements"]
    figure, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    throughput_panel(axes[0][0], measurements)
    scaling_panel(axes[0][1], measurements)
    latency_panel(axes[1][0], measurements)
    enqueue_panel(axes[1][1], measurements)
    placement = document["placement"]["description"].split(";")[0]
    figure.suptitle(
        f"resque-compat vs Ruby Resque {document['machine'].get('ruby_resque') or '-'} and "
        f"node-resque {document['machine'].get('node_resque') or '-'}  "
        f"({document['machine']['cpus']} CPUs; {placement})",
        fontsize=10,
    )
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plot", description=__doc__)
    parser.add_argument("results", type=Path, help="a --json file of python -m bench")
    parser.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not installed: pip install matplotlib", file=sys.stderr)
        return 2
    plot(json.loads(args.results.read_text()), args.out)
    print(f"plot written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
