"""Worker memory: resident set of the worker process, idle at start and after N jobs.

Read from ``/proc/<pid>/status`` (VmRSS now, VmHWM the peak) of the process a user starts:
``resque-compat work`` with one worker, Ruby's worker (the parent, when it forks),
node-resque's worker.
"""

from __future__ import annotations

from ..context import Context
from ..report import Measurement
from .throughput import timed_run

SCENARIO = "rss"


def run(ctx: Context) -> None:
    jobs = ctx.sizes.rss_jobs
    ctx.heading(f"rss: worker resident memory after {jobs} no-op jobs")
    ctx.skipped_baselines()
    for fork in (False, True):
        case = f"worker RSS, {'fork' if fork else 'no-fork'}"
        for spec in ctx.specs(fork):
            figures = timed_run(ctx, spec, jobs)
            detail = {
                "jobs": jobs,
                "rss_idle_mib": figures.rss_idle_kib / 1024,
                "rss_peak_mib": figures.rss_peak_kib / 1024,
            }
            mib = figures.rss_after_kib / 1024
            ctx.record(Measurement(SCENARIO, case, spec.runtime, mib, "MiB", False, detail))
        ctx.show(SCENARIO, case)
