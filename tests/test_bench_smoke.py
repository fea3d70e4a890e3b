"""``python -m bench --quick`` still runs: every scenario once, at a tiny size, in a subprocess.

Benchmarks are not tests: these check that each scenario produces its figures (and that the
Ruby and node scripts it drives still work), never what the figures are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.env import Runtimes
from bench.scenarios import SCENARIOS

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNTIMES = Runtimes.detect()


def run_bench(tmp_path: Path, *args: str, timeout: float) -> tuple[dict[str, Any], str]:
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if k not in ("QUEUE", "QUEUES", "INTERVAL")}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"bench failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return json.loads(out.read_text()), done.stdout


def figures(document: dict[str, Any], scenario: str, runtime: str) -> list[dict[str, Any]]:
    return [
        m for m in document["measurements"] if m["scenario"] == scenario and m["runtime"] == runtime
    ]


@pytest.mark.timeout(110)
def test_every_scenario_produces_python_figures_and_baselines(tmp_path: Path) -> None:
    document, stdout = run_bench(tmp_path, "--no-ruby", timeout=100)

    assert document["placement"]["description"]
    assert document["machine"]["redis_server"]
    for scenario in SCENARIOS:
        assert f"== {scenario}" in stdout
    assert "== targets ==" in stdout
    for scenario in [name for name in SCENARIOS if name != "rtt"]:
        python = figures(document, scenario, "python")
        assert python, f"no python figure for {scenario}"
        for measurement in python:
            assert isinstance(measurement["value"], float | int)
            assert measurement["value"] >= 0
    rates = {m["runtime"] for m in document["measurements"] if m["scenario"] == "rtt"}
    assert "redis ping_mbulk -P 1" in rates
    if RUNTIMES.node:
        for scenario in ("throughput", "enqueue", "latency", "commands", "rss"):
            assert figures(document, scenario, "node"), f"no node figure for {scenario}"
    statuses = {target["status"] for target in document["targets"]}
    assert statuses <= {"PASS", "MISS", "n/a (not measured in this run)"}


@pytest.mark.timeout(80)
@pytest.mark.skipif(not RUNTIMES.ruby, reason=RUNTIMES.reasons.get("ruby", ""))
def test_ruby_baselines_produce_figures(tmp_path: Path) -> None:
    document, _stdout = run_bench(tmp_path, "--no-node", "--only", "throughput,enqueue", timeout=70)

    for scenario in ("throughput", "enqueue"):
        assert figures(document, scenario, "ruby"), f"no ruby figure for {scenario}"
    assert document["machine"]["ruby_resque"]
    verdicts = {target["target"]: target for target in document["targets"]}
    assert verdicts["worker fork >= 2x Ruby fork"]["status"] in ("PASS", "MISS")
