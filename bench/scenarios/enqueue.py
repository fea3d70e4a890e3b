"""Enqueue rates: ``Resque.enqueue_to`` one job at a time, and ``enqueue_many``.

Each producer enqueues ``BenchNoop`` jobs onto an empty queue from its own process (this
one for Python, pinned to the client CPUs like the Ruby and node scripts); the time covers
the enqueue calls only, not interpreter start-up or connecting.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from resque_compat import Resque

from ..context import Context
from ..jobs import QUEUE
from ..procs import NODE, PYTHON, RUBY, run_enqueue_script
from .rtt import pipelined_key, rpush_key

SCENARIO = "enqueue"
ONE_BY_ONE = "enqueue one by one"
MANY = "enqueue_many"


def python_one_by_one(ctx: Context, count: int, pad_bytes: int = 0) -> float:
    ctx.server.flush()
    pad = "x" * pad_bytes
    with Resque.from_url(ctx.server.url) as resque:
        resque.redis.ping()
        started = time.perf_counter()
        if pad:
            for i in range(count):
                resque.enqueue_to(QUEUE, "BenchNoop", i, pad)
        else:
            for i in range(count):
                resque.enqueue_to(QUEUE, "BenchNoop", i)
        return count / (time.perf_counter() - started)


def python_many(ctx: Context, count: int) -> float:
    """The whole batch, encoding included: ``enqueue_many`` is given Python arguments."""
    ctx.server.flush()
    with Resque.from_url(ctx.server.url) as resque:
        resque.redis.ping()
        started = time.perf_counter()
        resque.enqueue_many(QUEUE, "BenchNoop", ([i] for i in range(count)))
        return count / (time.perf_counter() - started)


def one_by_one(ctx: Context, runtime: str, count: int, pad_bytes: int = 0) -> float:
    if runtime == PYTHON:
        return python_one_by_one(ctx, count, pad_bytes)
    ctx.server.flush()
    return run_enqueue_script(
        runtime, count, pad_bytes, ctx.server.url, ctx.runtimes, ctx.placement
    )


def record_one_by_one(ctx: Context, scenario: str, case: str, count: int, pad_bytes: int) -> None:
    def trial(runtime: str) -> Callable[[], float]:
        return lambda: one_by_one(ctx, runtime, count, pad_bytes)

    trials = [(runtime, trial(runtime)) for runtime in (PYTHON, RUBY, NODE)]
    available = [(runtime, run) for runtime, run in trials if ctx.available(runtime)]
    ctx.record_rates(scenario, case, available, {"jobs": count, "pad_bytes": pad_bytes})


def run(ctx: Context) -> None:
    ctx.heading("enqueue: Resque.enqueue_to one by one, and enqueue_many (client CPUs)")
    ctx.skipped_baselines()
    sizes = ctx.sizes
    record_one_by_one(ctx, SCENARIO, ONE_BY_ONE, sizes.enqueue_jobs, 0)
    ctx.show(SCENARIO, ONE_BY_ONE, extra=[rpush_key()])
    many = sizes.enqueue_many_jobs
    ctx.record_rates(SCENARIO, MANY, [(PYTHON, lambda: python_many(ctx, many))], {"jobs": many})
    ruby_one_by_one = f"{SCENARIO}/{ONE_BY_ONE}/{RUBY}"
    ctx.show(SCENARIO, MANY, extra=[ruby_one_by_one, pipelined_key()])
