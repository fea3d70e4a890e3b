"""Redis commands per job, from MONITOR, and round trips per job, from Redis's read count.

Workers start idle; MONITOR starts; a batch of no-op jobs is pushed in one transaction;
MONITOR stops once ``stat:processed`` says all are done. The benchmark's own connection is
left out of the counts. MONITOR shows commands a Lua script runs as coming from ``lua``:
they are counted apart from the ones a client sent. ``total_reads_processed`` (INFO stats)
counts socket reads, about one per round trip; the benchmark's own reads are subtracted.
"""

from __future__ import annotations

from collections import Counter

from ..context import Context
from ..measure import (
    Monitor,
    ServerCounters,
    client_addr,
    noop_payload,
    push_atomically,
    wait_processed,
)
from ..procs import WorkerSpec
from ..report import Measurement

SCENARIO = "commands"


def per_job(counts: Counter[str], jobs: int) -> dict[str, float]:
    return {name: round(count / jobs, 3) for name, count in counts.most_common()}


def measure(ctx: Context, spec: WorkerSpec) -> None:
    client = ctx.server.client
    jobs = ctx.sizes.monitor_jobs
    with ctx.workers(spec) as workers:
        workers.wait_ready()
        own = client_addr(client)
        before = ServerCounters.take(client)
        with Monitor(ctx.server.port) as monitor:
            push_atomically(client, [noop_payload(i) for i in range(jobs)])
            polls = wait_processed(client, jobs, 60 + jobs / 20)
        after = ServerCounters.take(client)
        workers.check_alive()
    sent, in_lua = monitor.commands(ignore_addrs=[own])
    _calls, reads = after.since(before)
    own_reads = 4 + polls  # MONITOR, the push, the polls, the INFO pair of the last snapshot
    mode = "fork" if spec.fork else "no-fork"
    detail = {
        "jobs": jobs,
        "client_sent_per_job": per_job(sent, jobs),
        "lua_internal_per_job": per_job(in_lua, jobs),
    }
    for case, value, unit in (
        (f"client-sent commands per job, {mode}", sum(sent.values()) / jobs, "commands"),
        (f"Lua-internal commands per job, {mode}", sum(in_lua.values()) / jobs, "commands"),
        (f"round trips per job, {mode}", (reads - own_reads) / jobs, "reads"),
    ):
        ctx.record(Measurement(SCENARIO, case, spec.runtime, value, unit, False, detail))


def run(ctx: Context) -> None:
    ctx.heading(f"commands: Redis commands per job (MONITOR over {ctx.sizes.monitor_jobs} jobs)")
    ctx.skipped_baselines()
    for fork in (False, True):
        mode = "fork" if fork else "no-fork"
        for spec in ctx.specs(fork):
            measure(ctx, spec)
        for name in ("client-sent commands per job", "Lua-internal commands per job"):
            ctx.show(SCENARIO, f"{name}, {mode}")
        ctx.show(SCENARIO, f"round trips per job, {mode}")
        for measurement in ctx.results.of_scenario(SCENARIO):
            if measurement.case == f"client-sent commands per job, {mode}":
                sent = measurement.detail["client_sent_per_job"]
                lua = measurement.detail["lua_internal_per_job"]
                ctx.out(f"    {measurement.runtime}: sent {sent}  in Lua {lua}")
