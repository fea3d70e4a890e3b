"""What an idle worker costs Redis, at two polling intervals: 0.1 s, the one the latency
scenario gives Ruby and node-resque (it favours their pickup), and 5 s, Ruby's default
``INTERVAL`` and node-resque's default timeout, which is what most fleets run.

A poller's idle cost is the inverse of its interval, so the 0.1 s figure alone overstates
what a default Ruby worker costs; this scenario shows both. The Python worker blocks on
Redis (``BLPOP`` up to its own 5 s) instead of polling, so the interval does not change it:
it is measured in each case all the same, beside the pollers, under the same conditions.
Ruby runs in its default mode (fork per job), node-resque as it runs (in process).
Redis's own ``INFO commandstats`` counts the commands over ``idle_window_seconds``
(30 s in a full run: six of Ruby's 5 s polls), heartbeats included.
"""

from __future__ import annotations

from ..context import Context
from ..procs import NODE, WorkerSpec
from ..report import Measurement
from .latency import idle_rate

SCENARIO = "idle"
INTERVALS = (0.1, 5.0)


def specs_for(ctx: Context, interval: float) -> list[WorkerSpec]:
    forking = ctx.specs(True, poll=interval)
    node = [spec for spec in ctx.specs(False, poll=interval) if spec.runtime == NODE]
    return forking + node


def run(ctx: Context) -> None:
    seconds = ctx.sizes.idle_window_seconds
    ctx.heading(f"idle: commands/s of an idle worker over {seconds:g} s, INTERVAL 0.1 s and 5 s")
    ctx.skipped_baselines()
    for interval in INTERVALS:
        case = f"idle commands, INTERVAL {interval:g} s"
        for spec in specs_for(ctx, interval):
            with ctx.workers(spec) as workers:
                workers.wait_ready()
                rate, calls = idle_rate(ctx, seconds)
                workers.check_alive()
            detail = {
                "poll_interval_s": interval,
                "seconds": seconds,
                "per_command": {name: count / seconds for name, count in calls.items()},
            }
            ctx.record(Measurement(SCENARIO, case, spec.runtime, rate, "commands/s", False, detail))
        ctx.show(SCENARIO, case)
