"""The soak: one non-forking worker runs many no-op jobs while its RSS is sampled.

A worker that runs jobs in-process must not grow: a few bytes kept per job are megabytes
after a million jobs. The queue is topped up in chunks while the worker drains it (Redis
stays small and the worker never idles), the worker's RSS is read from /proc every
``sample_every`` jobs, and the report gives it at start (registered, before any job),
after the warm-up (the first tenth of the jobs), at its highest, and at the end.

    python -m tests.chaos.soak --jobs 1000000      # see docs/reliability.md
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from resque_compat import Resque
from resque_compat.devserver import RedisServerProcess
from resque_compat.keys import Keys
from tests.chaos.jobs import CHAOS_QUEUE
from tests.chaos.procs import WorkerProcess, rss_kib, worker_env
from tests.workerproc import wait_for

KEYS = Keys()
CHUNK = 20_000


@dataclass
class SoakReport:
    jobs: int
    samples: list[tuple[int, int]] = field(default_factory=list)
    """(jobs processed, RSS in KiB), the first taken before any job."""
    seconds: float = 0.0
    processed: int = 0
    failed: int = 0
    exit_code: int | None = None
    output: str = ""

    @property
    def start_kib(self) -> int:
        return self.samples[0][1]

    @property
    def warm_kib(self) -> int:
        """RSS once a tenth of the jobs ran: imports, caches and pools are all in by then."""
        warm = [rss for done, rss in self.samples if done >= self.jobs // 10]
        return warm[0] if warm else self.end_kib

    @property
    def end_kib(self) -> int:
        return self.samples[-1][1]

    @property
    def max_kib(self) -> int:
        return max(rss for _done, rss in self.samples)

    def summary(self) -> str:
        rate = self.processed / self.seconds if self.seconds else 0.0
        return (
            f"{self.processed} no-op jobs in {self.seconds:.1f} s ({rate:.0f} jobs/s), "
            f"{self.failed} failed, exit {self.exit_code}; RSS KiB: start {self.start_kib}, "
            f"after warm-up {self.warm_kib}, max {self.max_kib}, end {self.end_kib} "
            f"(end - warm-up: {self.end_kib - self.warm_kib:+d} KiB, {len(self.samples)} samples)"
        )


def run_soak(redis_url: str, jobs: int, sample_every: int = 2_000) -> SoakReport:
    report = SoakReport(jobs)
    client = redis.Redis.from_url(redis_url)
    resque = Resque.from_url(redis_url)
    with tempfile.TemporaryDirectory(prefix="resque-soak-") as workdir:
        worker = WorkerProcess.python(
            CHAOS_QUEUE,
            ["--no-fork", "--interval", "1"],
            worker_env(redis_url),
            Path(workdir) / "worker.log",
        )
        try:
            wait_for(lambda: client.scard(KEYS.workers()) == 1, 20, "the worker to register")
            report.samples.append((0, rss_kib(worker.pid)))
            started = time.monotonic()
            _feed_and_sample(client, resque, worker, report, sample_every)
            report.seconds = time.monotonic() - started
            worker.signal(signal.SIGQUIT)
            report.exit_code = worker.wait(30)
        finally:
            worker.finish()
            report.output = worker.output()
            resque.close()
    report.processed = int(client.get(KEYS.stat("processed")) or 0)
    report.failed = int(client.get(KEYS.stat("failed")) or 0)
    client.close()
    return report


def _feed_and_sample(
    client: redis.Redis,
    resque: Resque,
    worker: WorkerProcess,
    report: SoakReport,
    sample_every: int,
) -> None:
    enqueued = 0
    next_sample = sample_every
    while True:
        processed = int(client.get(KEYS.stat("processed")) or 0)
        if processed >= next_sample or processed >= report.jobs:
            report.samples.append((processed, rss_kib(worker.pid)))
            next_sample = processed + sample_every
        if processed >= report.jobs:
            return
        if enqueued < report.jobs and client.llen(KEYS.queue(CHAOS_QUEUE)) < CHUNK // 2:
            count = min(CHUNK, report.jobs - enqueued)
            resque.enqueue_many(CHAOS_QUEUE, "ChaosNoop", [[]] * count)
            enqueued += count
        if not worker.alive():
            raise AssertionError(f"the worker died:\n{worker.output()}")
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--sample-every", type=int, default=10_000)
    parser.add_argument("--redis", help="use this Redis (flushed!) instead of a private one")
    options = parser.parse_args(argv)
    if options.redis:
        redis.Redis.from_url(options.redis).flushdb()
        report = run_soak(options.redis, options.jobs, options.sample_every)
    else:
        with RedisServerProcess() as server:
            report = run_soak(server.url, options.jobs, options.sample_every)
    print(report.summary())
    print("samples (jobs, KiB):", report.samples[:: max(1, len(report.samples) // 20)])
    return 0 if report.exit_code == 0 and report.processed == options.jobs else 1


if __name__ == "__main__":
    sys.exit(main())
