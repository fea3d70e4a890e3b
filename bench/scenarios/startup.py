"""Worker start-up: from the command to the exit, on an empty queue with ``INTERVAL=0``.

A worker that starts, registers, finds nothing and exits (Ruby's ``work(0)``; ours with
``--interval 0``) measures what a deploy, an autoscaler or a cron-started worker pays before
the first job: the interpreter, the imports, the connection, registering and unregistering.
Peak resident memory is taken from the same runs, by GNU ``time`` (its child's
``ru_maxrss``): read in this process instead, it would count the benchmark's own pages that
the child held between ``fork`` and ``exec``. Runtimes alternate, so load from elsewhere on
the machine hits both alike.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..context import Context
from ..env import BENCH_DIR, REPO_ROOT
from ..jobs import QUEUE
from ..measure import median
from ..procs import PYTHON, RUBY, BenchError, base_env
from ..report import Measurement

SCENARIO = "startup"
TIME = "/usr/bin/time"


def _command(runtime: str) -> tuple[list[str], dict[str, str]]:
    if runtime == PYTHON:
        command = [sys.executable, "-m", "resque_compat", "work", "--queues", QUEUE]
        return [*command, "--app", "bench.jobs", "--interval", "0"], {}
    return ["ruby", str(BENCH_DIR / "ruby" / "worker.rb")], {"QUEUE": QUEUE, "INTERVAL": "0"}


def start_to_exit(ctx: Context, runtime: str) -> tuple[float, float]:
    """(seconds from the command to its exit, peak RSS in MiB) of one worker's life."""
    command, extra = _command(runtime)
    env = {**base_env(ctx.server.url, ctx.runtimes), **extra}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as scratch:
        peak_file = Path(scratch) / "peak"
        timed = [TIME, "-f", "%M", "-o", str(peak_file), *command]
        started = time.perf_counter()
        done = subprocess.run(
            ctx.placement.pin(timed),
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            errors = done.stderr.decode(errors="replace")[-3000:]
            raise BenchError(f"{runtime} worker exited with {done.returncode}:\n{errors}")
        peak_kib = int(peak_file.read_text().split()[-1])
    return elapsed, peak_kib / 1024


def run(ctx: Context) -> None:
    ctx.heading("startup: worker start to exit, empty queue, INTERVAL=0; peak RSS")
    ctx.skipped_baselines()
    if not Path(TIME).exists():
        ctx.out(f"  (not run: {TIME}, GNU time, is not installed)")
        return
    runtimes = [r for r in (PYTHON, RUBY) if ctx.available(r)]
    runs: dict[str, list[tuple[float, float]]] = {r: [] for r in runtimes}
    for _ in range(max(ctx.sizes.repeat, 1) * 3):
        for runtime in runtimes:
            ctx.server.flush()
            runs[runtime].append(start_to_exit(ctx, runtime))
    for runtime, values in runs.items():
        seconds = [s for s, _ in values]
        peaks = [m for _, m in values]
        detail = {"runs_s": seconds, "peak_rss_runs_mib": peaks}
        ctx.record(
            Measurement(SCENARIO, "start to exit", runtime, median(seconds), "s", False, detail)
        )
        ctx.record(Measurement(SCENARIO, "peak RSS", runtime, median(peaks), "MiB", False, detail))
    ctx.show(SCENARIO, "start to exit")
    ctx.show(SCENARIO, "peak RSS")
