"""Big payloads: enqueue one by one and no-fork worker throughput with 1 KiB and 100 KiB.

The same runs as ``enqueue`` and ``throughput``, with a string of that many bytes as the
job's second argument: what it costs to encode, send, store, pop, decode and record it
(the worker copies the payload into ``worker:<id>``, as Ruby does).
"""

from __future__ import annotations

from ..context import Context
from .enqueue import record_one_by_one
from .throughput import rate_trials

SCENARIO = "payloads"


def size_label(pad_bytes: int) -> str:
    return f"{pad_bytes // 1024} KiB payload"


def run(ctx: Context) -> None:
    ctx.heading("payloads: enqueue one by one and no-fork workers, 1 KiB and 100 KiB args")
    ctx.skipped_baselines()
    for pad_bytes, jobs in ctx.sizes.payload_jobs.items():
        enqueue_case = f"enqueue one by one, {size_label(pad_bytes)}"
        record_one_by_one(ctx, SCENARIO, enqueue_case, jobs, pad_bytes)
        ctx.show(SCENARIO, enqueue_case)
        worker_case = f"worker no-fork, {size_label(pad_bytes)}"
        trials = rate_trials(ctx, ctx.specs(fork=False), jobs, pad_bytes)
        ctx.record_rates(SCENARIO, worker_case, trials, {"jobs": jobs, "pad_bytes": pad_bytes})
        ctx.show(SCENARIO, worker_case)
