"""What each job costs the Redis server: its CPU time per job, and the fleet's ceiling.

A Resque fleet meets one wall first: the single Redis server's CPU. Every worker's round
trips and every command a script runs land on that one core. The figure is read from Redis
itself (``INFO cpu``: the main thread's user + system seconds, where commands, scripts and
network reads and writes all run), before and after a batch is drained, so nothing on the
client side is counted. ``INFO commandstats`` is taken beside it, to show where the time went.

The batch is pushed while the workers are idle, and the push's own cost (measured once per
run by pushing the same batch into a list no worker reads) is subtracted. The projected
ceiling is how many jobs per second one Redis core could serve at that cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from ..context import Context
from ..measure import noop_payload, push_atomically, timed_batch, wait_processed, wait_stamps
from ..measure import rate_from_stamps as stamps_rate
from ..procs import NODE, PYTHON, RUBY, WorkerSpec
from ..report import Measurement
from .enqueue import one_by_one

SCENARIO = "redis-cpu"
FLEET = "fleet"
_PROBE_QUEUE = "bench-cpu-probe"


@dataclass(frozen=True)
class CpuSnapshot:
    """Redis's main-thread CPU seconds and its per-command counters at one moment."""

    seconds: float
    commands: dict[str, tuple[int, int]]
    """command -> (calls, microseconds)"""

    @classmethod
    def take(cls, client: redis.Redis) -> CpuSnapshot:
        cpu = client.info("cpu")
        user = cpu.get("used_cpu_user_main_thread", cpu["used_cpu_user"])
        system = cpu.get("used_cpu_sys_main_thread", cpu["used_cpu_sys"])
        stats = client.info("commandstats")
        commands = {
            name.removeprefix("cmdstat_"): (int(figures["calls"]), int(figures["usec"]))
            for name, figures in stats.items()
        }
        return cls(float(user) + float(system), commands)

    def since(self, earlier: CpuSnapshot) -> tuple[float, dict[str, tuple[int, int]]]:
        """Microseconds of CPU, and each command's (calls, usec), between the two snapshots."""
        delta: dict[str, tuple[int, int]] = {}
        for name, (calls, usec) in self.commands.items():
            old_calls, old_usec = earlier.commands.get(name, (0, 0))
            if calls > old_calls and name != "info":
                delta[name] = (calls - old_calls, usec - old_usec)
        return (self.seconds - earlier.seconds) * 1e6, delta


def per_job_commands(delta: dict[str, tuple[int, int]], jobs: int) -> dict[str, Any]:
    """Per job: calls and the microseconds Redis spent inside each command (scripts included)."""
    ordered = sorted(delta.items(), key=lambda item: -item[1][1])
    return {
        name: {"calls": round(calls / jobs, 3), "usec": round(usec / jobs, 2)}
        for name, (calls, usec) in ordered
    }


def push_cost_us(ctx: Context, jobs: int) -> float:
    """Redis CPU of pushing ``jobs`` no-op payloads in one transaction, per job."""
    client = ctx.server.client
    ctx.server.flush()
    payloads = [noop_payload(i) for i in range(jobs)]
    before = CpuSnapshot.take(client)
    with client.pipeline(transaction=True) as pipe:
        for start in range(0, jobs, 1000):
            pipe.rpush(_PROBE_QUEUE, *payloads[start : start + 1000])
        pipe.execute()
    used, _delta = CpuSnapshot.take(client).since(before)
    client.delete(_PROBE_QUEUE)
    return used / jobs


def drain_cost(ctx: Context, spec: WorkerSpec, jobs: int, push_us: float) -> Measurement:
    """Redis CPU per job while ``spec``'s workers drain a batch pushed while they idled."""
    client = ctx.server.client
    with ctx.workers(spec) as workers:
        workers.wait_ready()
        before = CpuSnapshot.take(client)
        push_atomically(client, [noop_payload(i) for i in range(jobs)])
        wait_processed(client, jobs, 60 + jobs / 20)
        used, delta = CpuSnapshot.take(client).since(before)
        workers.check_alive()
    mode = "fork" if spec.fork else "no-fork"
    per_job = max(used / jobs - push_us, 0.0)
    detail: dict[str, Any] = {"jobs": jobs, "push_us_subtracted": round(push_us, 2)}
    detail["commands_per_job"] = per_job_commands(delta, jobs)
    case = f"Redis CPU per job, {mode}"
    return Measurement(SCENARIO, case, spec.runtime, per_job, "us", False, detail)


def producer_cost(ctx: Context, runtime: str, jobs: int) -> Measurement:
    """Redis CPU per ``enqueue`` one by one (the producer's round trips and commands)."""
    client = ctx.server.client
    before = CpuSnapshot.take(client)
    one_by_one(ctx, runtime, jobs)
    used, delta = CpuSnapshot.take(client).since(before)
    detail = {"jobs": jobs, "commands_per_job": per_job_commands(delta, jobs)}
    return Measurement(SCENARIO, "Redis CPU per enqueue", runtime, used / jobs, "us", False, detail)


def run(ctx: Context) -> None:
    jobs = ctx.sizes.cpu_jobs
    ctx.heading(f"redis-cpu: the Redis server's CPU per job (INFO cpu over {jobs} jobs)")
    ctx.skipped_baselines()
    push_us = push_cost_us(ctx, jobs)
    ctx.out(f"  (the batch push itself: {push_us:.2f} us/job of Redis CPU, subtracted)")
    for fork in (False, True):
        mode = "fork" if fork else "no-fork"
        count = jobs if not fork else max(jobs // 10, 10)
        for spec in ctx.specs(fork):
            ctx.record(drain_cost(ctx, spec, count, push_us))
        ctx.show(SCENARIO, f"Redis CPU per job, {mode}")
        show_commands(ctx, f"Redis CPU per job, {mode}")
    for runtime in (PYTHON, RUBY, NODE):
        if ctx.available(runtime):
            ctx.record(producer_cost(ctx, runtime, ctx.sizes.enqueue_jobs))
    ctx.show(SCENARIO, "Redis CPU per enqueue")
    show_commands(ctx, "Redis CPU per enqueue")


def show_commands(ctx: Context, case: str) -> None:
    for measurement in ctx.results.of_scenario(SCENARIO):
        if measurement.case == case:
            ctx.out(f"    {measurement.runtime}: {measurement.detail['commands_per_job']}")


def fleet_trial(ctx: Context, spec: WorkerSpec, jobs: int) -> tuple[float, float]:
    """(jobs/s, Redis CPU us per job) for ``spec``'s processes draining ``jobs`` together."""
    client = ctx.server.client
    with ctx.workers(spec, cpus=ctx.placement.all_cpus) as workers:
        workers.wait_ready()
        before = CpuSnapshot.take(client)
        push_atomically(client, timed_batch(jobs))
        stamps = wait_stamps(client, 2, 120 + jobs / 50)
        wait_processed(client, jobs, 120 + jobs / 50)
        used, _delta = CpuSnapshot.take(client).since(before)
        workers.check_alive()
    return stamps_rate(stamps, jobs), used / jobs


def run_fleet(ctx: Context) -> None:
    jobs = ctx.sizes.fleet_jobs
    ctx.heading(f"fleet: N no-fork worker processes draining {jobs} jobs, Redis CPU per job")
    ctx.skipped_baselines()
    for processes in ctx.sizes.fleet_processes:
        case = f"fleet x{processes}"
        for spec in ctx.specs(False, processes):
            rate, cpu_us = fleet_trial(ctx, spec, jobs)
            ceiling = 1e6 / cpu_us if cpu_us > 0 else float("inf")
            detail: dict[str, Any] = {"jobs": jobs, "redis_cpu_us_per_job": round(cpu_us, 2)}
            detail["projected_jobs_per_redis_core"] = round(ceiling)
            ctx.record(Measurement(FLEET, case, spec.runtime, rate, "jobs/s", True, detail))
        ctx.show(FLEET, case)
        show_ceilings(ctx, case)


def show_ceilings(ctx: Context, case: str) -> None:
    for m in ctx.results.of_scenario(FLEET):
        if m.case == case:
            ctx.out(
                f"    {m.runtime}: {m.detail['redis_cpu_us_per_job']} us of Redis CPU per job, "
                f"one Redis core saturates near {m.detail['projected_jobs_per_redis_core']:,} "
                "jobs/s"
            )
