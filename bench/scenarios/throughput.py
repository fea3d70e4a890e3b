"""Worker throughput with no-op jobs: one process per runtime, then N processes.

Workers start on an empty queue and wait until registered and idle; then the whole run
(a start stamp, no-ops, an end stamp) is pushed in one transaction, and the rate is taken
between the two stamps, so neither start-up nor shutdown counts. The one-process runs are
pinned to the client CPUs; the ``--count N`` curve lets workers use every CPU, the one
redis-server is pinned to included, because that is how N processes meet their limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..context import Context
from ..measure import (
    push_atomically,
    rate_from_stamps,
    timed_batch,
    wait_processed,
    wait_stamps,
)
from ..procs import WorkerSpec, rss_kib
from .rtt import ping_key

SCENARIO = "throughput"
SCALING = "scaling"


@dataclass(frozen=True)
class RunFigures:
    rate: float
    rss_idle_kib: int
    rss_after_kib: int
    rss_peak_kib: int


def timed_run(
    ctx: Context, spec: WorkerSpec, jobs: int, pad_bytes: int = 0, cpus: Sequence[int] | None = None
) -> RunFigures:
    """One run of ``jobs`` jobs through freshly started workers."""
    client = ctx.server.client
    timeout = 60 + jobs / 20
    with ctx.workers(spec, cpus) as workers:
        workers.wait_ready()
        idle = rss_kib(workers.main_pid())
        push_atomically(client, timed_batch(jobs, pad_bytes))
        stamps = wait_stamps(client, 2, timeout)
        wait_processed(client, jobs, timeout)
        workers.check_alive()
        after = rss_kib(workers.main_pid())
    return RunFigures(rate_from_stamps(stamps, jobs), idle["VmRSS"], after["VmRSS"], after["VmHWM"])


def rate_trials(
    ctx: Context,
    specs: Sequence[WorkerSpec],
    jobs: int,
    pad_bytes: int = 0,
    cpus: Sequence[int] | None = None,
) -> list[tuple[str, Callable[[], float]]]:
    """One timed run per call, for each spec (see ``Context.record_rates``)."""

    def trial(spec: WorkerSpec) -> Callable[[], float]:
        return lambda: timed_run(ctx, spec, jobs, pad_bytes, cpus).rate

    return [(spec.runtime, trial(spec)) for spec in specs]


def mode_name(fork: bool) -> str:
    return "fork" if fork else "no-fork"


def run(ctx: Context) -> None:
    ctx.heading("throughput: no-op jobs, 1 worker process (pinned to the client CPUs)")
    ctx.skipped_baselines()
    for fork in (False, True):
        case = f"worker {mode_name(fork)}, 1 process"
        jobs = ctx.sizes.fork_jobs if fork else ctx.sizes.nofork_jobs
        ctx.record_rates(SCENARIO, case, rate_trials(ctx, ctx.specs(fork), jobs), {"jobs": jobs})
        ctx.show(SCENARIO, case, extra=[ping_key()])


def run_scaling(ctx: Context) -> None:
    cpus = ctx.placement.all_cpus
    ctx.heading(
        f"scaling: no-op jobs, N worker processes (resque-compat work --count N; "
        f"Ruby and node: N processes), workers on CPUs {','.join(map(str, cpus))}"
    )
    ctx.skipped_baselines()
    for fork in (False, True):
        base_jobs = ctx.sizes.fork_jobs if fork else ctx.sizes.nofork_jobs
        for processes in ctx.sizes.processes:
            case = f"worker {mode_name(fork)}, {processes} process{'es' if processes > 1 else ''}"
            jobs = base_jobs * min(processes, 2)
            trials = rate_trials(ctx, ctx.specs(fork, processes), jobs, cpus=cpus)
            detail = {"jobs": jobs, "processes": processes, "fork": fork}
            ctx.record_rates(SCALING, case, trials, detail)
            ctx.show(SCALING, case)
