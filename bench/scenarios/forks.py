"""Many jobs per forked child (JOBS_PER_FORK=100) beside the two workers it sits between.

A fork per job pays for a fork with every job; resque-multi-job-forks pays once per 100.
The case measures Python with JOBS_PER_FORK=100 against Ruby's fork per job (what a Ruby
fleet without the plugin runs) and against Python's own no-fork worker (the ceiling: the
same loop with no child at all), all in the same run, with no-op jobs as ``throughput``.
"""

from __future__ import annotations

from collections.abc import Callable

from ..context import Context
from ..procs import PYTHON, RUBY, WorkerSpec
from .throughput import timed_run

SCENARIO = "forks"
CASE = "JOBS_PER_FORK=100, 1 process"
JOBS_PER_FORK = 100
NOFORK = "python-nofork"


def run(ctx: Context) -> None:
    ctx.heading("forks: no-op jobs, JOBS_PER_FORK=100 vs Ruby fork per job and our no-fork")
    ctx.skipped_baselines()
    many = ctx.sizes.nofork_jobs
    trials: list[tuple[str, Callable[[], float]]] = [
        (PYTHON, _trial(ctx, WorkerSpec(PYTHON, True, jobs_per_fork=JOBS_PER_FORK), many)),
        (NOFORK, _trial(ctx, WorkerSpec(PYTHON, False), many)),
    ]
    if ctx.available(RUBY):
        trials.insert(1, (RUBY, _trial(ctx, WorkerSpec(RUBY, True), ctx.sizes.fork_jobs)))
    detail = {"jobs_per_fork": JOBS_PER_FORK, "jobs": many, "ruby_jobs": ctx.sizes.fork_jobs}
    ctx.record_rates(SCENARIO, CASE, trials, detail)
    ctx.show(SCENARIO, CASE)


def _trial(ctx: Context, spec: WorkerSpec, jobs: int) -> Callable[[], float]:
    return lambda: timed_run(ctx, spec, jobs).rate
