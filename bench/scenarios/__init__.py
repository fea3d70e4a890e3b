"""The scenarios of ``python -m bench``, in the order a full run takes them."""

from __future__ import annotations

from collections.abc import Callable

from ..context import Context
from . import (
    commands,
    enqueue,
    forks,
    idle,
    latency,
    payloads,
    redis_cpu,
    rss,
    rtt,
    scheduler,
    scripts,
    startup,
    throughput,
)

Scenario = Callable[[Context], None]

SCENARIOS: dict[str, tuple[Scenario, str]] = {
    "rtt": (rtt.run, "round-trip limit from redis-benchmark (always run: it is a baseline)"),
    "throughput": (throughput.run, "worker jobs/s, no-op jobs, fork and no-fork, 1 process"),
    "forks": (forks.run, "worker jobs/s with JOBS_PER_FORK=100 beside Ruby fork and no-fork"),
    "scaling": (throughput.run_scaling, "worker jobs/s with N processes (--count N)"),
    "enqueue": (enqueue.run, "enqueue_to one by one, and enqueue_many"),
    "latency": (latency.run, "idle worker pickup latency; idle worker's commands/s"),
    "idle": (idle.run, "idle worker's commands/s at INTERVAL 0.1 s and at Ruby's default 5 s"),
    "commands": (commands.run, "Redis commands and round trips per job (MONITOR)"),
    "rss": (rss.run, "worker resident memory after N jobs"),
    "payloads": (payloads.run, "enqueue and worker throughput with 1 KiB and 100 KiB args"),
    "redis-cpu": (redis_cpu.run, "the Redis server's CPU per job: workers and producers"),
    "startup": (startup.run, "worker start to exit on an empty queue (INTERVAL=0), peak RSS"),
    "scripts": (scripts.run, "the reserve script's Redis CPU taken apart (EVALSHA in a loop)"),
    "fleet": (redis_cpu.run_fleet, "1, 4, 16 worker processes: jobs/s, Redis CPU, ceiling"),
    "scheduler": (scheduler.run, "delayed jobs: lateness, moving due jobs, enqueue_in"),
}
