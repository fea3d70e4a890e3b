"""Long runs, shortened for CI: RSS stays flat over many jobs; an idle worker keeps beating.

The large soak is ``python -m tests.chaos.soak --jobs 1000000`` (docs/reliability.md).
"""

from __future__ import annotations

import time
from pathlib import Path

import redis

from resque_compat import timefmt
from resque_compat.keys import Keys
from tests.chaos.jobs import CHAOS_QUEUE
from tests.chaos.procs import WorkerProcess, worker_env
from tests.chaos.soak import run_soak
from tests.workerproc import text, wait_for

KEYS = Keys()
SOAK_JOBS = 20_000
RSS_GROWTH_BOUND_KIB = 2048
"""A leak of 100 bytes per job would show as 2 MB over the CI soak."""
IDLE_SECONDS = 10.0


def test_rss_stays_flat_over_many_jobs(redis_url: str) -> None:
    report = run_soak(redis_url, SOAK_JOBS, sample_every=1_000)
    print(report.summary())
    assert report.exit_code == 0, report.output
    assert (report.processed, report.failed) == (SOAK_JOBS, 0), report.summary()
    assert report.end_kib - report.warm_kib <= RSS_GROWTH_BOUND_KIB, report.summary()


def test_an_idle_worker_keeps_its_heartbeat_fresh(redis_url: str, tmp_path: Path) -> None:
    """Forking (beats from its loop) and non-forking (beats from a thread) workers, idle with
    a 1 s heartbeat: every heartbeat stays within two intervals of Redis's clock, and moves."""
    env = worker_env(redis_url)
    args = ["--heartbeat-interval", "1", "--interval", "5"]
    procs = [
        WorkerProcess.python(CHAOS_QUEUE, args + extra, env, tmp_path / name)
        for name, extra in (("fork", []), ("nofork", ["--no-fork"]))
    ]
    client = redis.Redis.from_url(redis_url)
    try:
        wait_for(lambda: client.hlen(KEYS.heartbeats()) == 2, 20, "both workers to beat")
        worst, seen = _watch_heartbeats(client, IDLE_SECONDS)
        assert all(proc.alive() for proc in procs), [p.output() for p in procs]
    finally:
        for proc in procs:
            proc.finish()
        client.close()
    assert worst <= 2.5, f"a heartbeat was {worst:.1f} s old"
    assert all(len(stamps) >= IDLE_SECONDS - 2 for stamps in seen.values()), seen


def _watch_heartbeats(client: redis.Redis, seconds: float) -> tuple[float, dict[str, set[str]]]:
    """The oldest heartbeat age seen (by Redis's clock) and every value seen per worker."""
    worst = 0.0
    seen: dict[str, set[str]] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now_seconds, micros = client.time()
        now = now_seconds + micros / 1e6
        for worker_id, stamp in client.hgetall(KEYS.heartbeats()).items():
            beat = timefmt.parse_heartbeat(text(stamp))
            assert beat is not None, stamp
            worst = max(worst, now - beat)
            seen.setdefault(text(worker_id), set()).add(text(stamp))
        time.sleep(0.25)
    return worst, seen
