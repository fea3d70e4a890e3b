"""The round-trip limit: ``redis-benchmark -c 1 -P 1`` on the same server and CPUs.

One connection, one command per round trip: the most a client doing one round trip per
job or per enqueue could ever reach here. With the client and server on different CPUs
and then on one CPU, since a round trip costs about twice as much when they share one.
Pipelined ``RPUSH`` (``-P 100``) is the ceiling for batch enqueues.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence

from ..context import Context
from ..procs import BenchError
from ..report import Measurement

SCENARIO = "rtt"
ROUND_TRIP = "round trip (1 connection, -P 1)"
_RESULT = re.compile(r"([A-Z_]+): ([\d.]+) requests per second")


def redis_benchmark(
    ctx: Context, tests: str, pipeline: int, requests: int, cpus: Sequence[int] | None = None
) -> dict[str, float]:
    """Requests per second of each test, client pinned like every other client (or to cpus)."""
    command = ["redis-benchmark", "-p", str(ctx.server.port), "-c", "1", "-P", str(pipeline)]
    command += ["-t", tests, "-q", "-n", str(requests)]
    done = subprocess.run(
        ctx.placement.pin(command, cpus), capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"redis-benchmark failed: {done.stderr[-2000:]}")
    found = {name.lower(): float(rate) for name, rate in _RESULT.findall(done.stdout)}
    ctx.server.flush()
    return found


def run(ctx: Context) -> None:
    ctx.heading("rtt: the Redis round-trip limit (redis-benchmark -c 1 -P 1)")
    if _no_redis_benchmark():
        ctx.out("  redis-benchmark not found: no round-trip baseline in this run")
        return
    sizes = ctx.sizes
    single = redis_benchmark(ctx, "ping_mbulk,rpush", 1, sizes.rtt_requests)
    for test, rate in single.items():
        ctx.record(_limit(f"redis {test} -P 1", rate, ctx.placement.shares_cpu))
    if ctx.placement.server_cpus is not None and not ctx.placement.shares_cpu:
        shared = redis_benchmark(
            ctx, "ping_mbulk", 1, sizes.rtt_requests, ctx.placement.server_cpus
        )
        ctx.record(_limit("redis ping_mbulk -P 1, shared CPU", shared["ping_mbulk"], True))
    piped = redis_benchmark(ctx, "rpush", 100, sizes.rtt_requests * 10)
    ctx.record(
        Measurement(
            SCENARIO, "pipelined RPUSH (-P 100)", "redis rpush -P 100", piped["rpush"], "ops/s"
        )
    )
    for measurement in ctx.results.of_scenario(SCENARIO):
        each = f"{1e6 / measurement.value:.1f} µs each"
        ctx.out(f"  {measurement.runtime:<40} {measurement.value:>12,.0f} ops/s  ({each})")


def _limit(runtime: str, rate: float, shared: bool | None) -> Measurement:
    return Measurement(
        SCENARIO,
        ROUND_TRIP,
        runtime,
        rate,
        "ops/s",
        detail={"client_and_server_share_a_cpu": shared},
    )


def _no_redis_benchmark() -> bool:
    return shutil.which("redis-benchmark") is None


def ping_key() -> str:
    """The measurement other scenarios compare with: one round trip as placed for clients."""
    return f"{SCENARIO}/{ROUND_TRIP}/redis ping_mbulk -P 1"


def rpush_key() -> str:
    return f"{SCENARIO}/{ROUND_TRIP}/redis rpush -P 1"


def pipelined_key() -> str:
    return f"{SCENARIO}/pipelined RPUSH (-P 100)/redis rpush -P 100"
