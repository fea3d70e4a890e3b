"""Pickup latency of an idle worker, and what an idle worker costs Redis.

Each sample: the worker has been idle for 30-60 ms (a random gap, so that a polling
worker's phase is random too), the benchmark takes ``time.time()`` and enqueues a
``BenchStamp`` job; the job's first line reads the clock; the latency is the difference
(both clocks are this machine's). Afterwards the worker is left idle and Redis's own
``INFO commandstats`` counts what it sends per second (heartbeats included).

Ruby Resque and node-resque poll: they run with a 0.1 s interval here (Ruby's default
``INTERVAL`` is 5 s, node-resque's 5 s too), which favours them; their latency follows
the interval, their idle command rate its inverse.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from typing import Any

from resque_compat import Resque

from ..context import Context
from ..jobs import QUEUE, STAMPS_KEY
from ..measure import ServerCounters, median, percentile
from ..procs import PYTHON, RUBY, BenchError, WorkerSpec
from ..report import Measurement

SCENARIO = "latency"
GAP = (0.03, 0.06)
BASELINE_POLL = 0.1


def pickup_samples(ctx: Context, count: int) -> list[float]:
    """Milliseconds from enqueue to the job's first line, ``count`` times."""
    client = ctx.server.client
    latencies: list[float] = []
    with Resque.from_url(ctx.server.url) as resque:
        for index in range(count):
            time.sleep(random.uniform(*GAP))
            tag = f"pickup-{index}"
            sent = time.time()
            resque.enqueue_to(QUEUE, "BenchStamp", tag)
            reply = client.blpop([STAMPS_KEY], timeout=30)
            if reply is None:
                raise BenchError(f"no stamp for {tag} within 30 s")
            stamp = json.loads(reply[1])
            if stamp["tag"] != tag:
                raise BenchError(f"expected stamp {tag}, got {stamp}")
            latencies.append((float(stamp["t"]) - sent) * 1000)
    return latencies


def idle_rate(ctx: Context, seconds: float) -> tuple[float, Counter[str]]:
    """Commands per second an idle worker makes Redis run, and which."""
    time.sleep(min(1.0, seconds))
    before = ServerCounters.take(ctx.server.client)
    time.sleep(seconds)
    calls, _reads = ServerCounters.take(ctx.server.client).since(before)
    return sum(calls.values()) / seconds, calls


def measure(ctx: Context, spec: WorkerSpec, case_mode: str) -> None:
    with ctx.workers(spec) as workers:
        workers.wait_ready()
        latencies = pickup_samples(ctx, ctx.sizes.latency_samples)
        rate, calls = idle_rate(ctx, ctx.sizes.idle_seconds)
        workers.check_alive()
    poll = None if spec.runtime == PYTHON else spec.poll_interval
    detail: dict[str, Any] = {"samples": len(latencies), "poll_interval_s": poll}
    for name, value in (("median", median(latencies)), ("p99", percentile(latencies, 99))):
        case = f"pickup {name}, {case_mode}"
        full = {**detail, "all_ms": latencies} if name == "median" else detail
        ctx.record(Measurement(SCENARIO, case, spec.runtime, value, "ms", False, full))
    per_command = {name: count / ctx.sizes.idle_seconds for name, count in calls.items()}
    ctx.record(
        Measurement(
            SCENARIO,
            f"idle commands, {case_mode}",
            spec.runtime,
            rate,
            "commands/s",
            False,
            {**detail, "per_command": per_command, "seconds": ctx.sizes.idle_seconds},
        )
    )


def specs_for(ctx: Context, fork: bool) -> list[WorkerSpec]:
    """Python in both modes; Ruby in its default (fork) mode only, its pickup following
    INTERVAL either way; node-resque with the no-fork workers."""
    specs = ctx.specs(fork, poll=BASELINE_POLL)
    return [spec for spec in specs if fork or spec.runtime != RUBY]


def run(ctx: Context) -> None:
    ctx.heading(
        f"latency: idle worker pickup over {ctx.sizes.latency_samples} samples, then "
        f"{ctx.sizes.idle_seconds:g} s idle (Ruby and node poll every {BASELINE_POLL} s)"
    )
    ctx.skipped_baselines()
    for fork in (True, False):
        mode = "fork" if fork else "no-fork"
        for spec in specs_for(ctx, fork):
            measure(ctx, spec, mode)
        for name in ("pickup median", "pickup p99", "idle commands"):
            ctx.show(SCENARIO, f"{name}, {mode}")
