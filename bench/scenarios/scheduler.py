"""Delayed jobs: the Python scheduler beside resque-scheduler 5.0, and delayed enqueues.

* lateness: jobs due at every second of a window, several per second; a scheduler of each
  runtime (started before, alone, settings as deployed: RESQUE_SCHEDULER_INTERVAL at its
  default 5 s) moves them; the benchmark pops each job the moment it lands (BLPOP) and
  records now minus its due second. Median and p99 in ms, lower is better.
* move rate: ``scheduler_move_jobs`` jobs due in the same second, one scheduler of each
  runtime (interval 0.1 s so that polling does not count); jobs/s from the first jobs seen on
  the queue (not counted) to the last.
* enqueue_in: ``Resque.enqueue_in`` one by one (Ruby and Python), and Python's batch
  ``enqueue_at_many``; jobs/s.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import redis

from resque_compat import Resque

from ..context import Context
from ..env import BENCH_DIR, REPO_ROOT
from ..jobs import QUEUE
from ..measure import median, percentile
from ..procs import PYTHON, RUBY, BenchError, Proc, base_env
from ..report import Measurement

SCENARIO = "scheduler"
LOCK = "resque:resque:resque_scheduler_master_lock"
SCHEDULER_LIB = REPO_ROOT.parent / "shared" / "ruby" / "resque-scheduler-5.0.0" / "lib"
PER_SECOND = 5


def _env(ctx: Context, interval: float) -> dict[str, str]:
    env = base_env(ctx.server.url, ctx.runtimes)
    env.update({"RESQUE_SCHEDULER_INTERVAL": str(interval), "LOCK_TIMEOUT": "60"})
    if SCHEDULER_LIB.is_dir():
        env["RESQUE_SCHEDULER_LIB"] = str(SCHEDULER_LIB)
    return env


def _start(ctx: Context, runtime: str, interval: float) -> Proc:
    """A scheduler of ``runtime``, returned once it holds the master lock."""
    ctx.server.client.delete(LOCK)
    if runtime == PYTHON:
        command = [sys.executable, "-m", "resque_compat", "scheduler", "--quiet"]
    else:
        command = ["ruby", str(BENCH_DIR / "ruby" / "scheduler.rb")]
    proc = Proc(ctx.placement.pin(command), _env(ctx, interval), f"{runtime}-scheduler")
    deadline = time.monotonic() + 60
    while ctx.server.client.get(LOCK) is None:
        if not proc.alive() or time.monotonic() > deadline:
            proc.stop(signal.SIGTERM)
            raise BenchError(f"{runtime} scheduler did not become master:\n{proc.output()}")
        time.sleep(0.01)
    return proc


def _lateness(ctx: Context, runtime: str, seconds: int) -> list[float]:
    """Milliseconds between each job's due second and its arrival on the queue."""
    ctx.server.flush()
    proc = _start(ctx, runtime, 5.0)
    start = int(time.time()) + 2
    entries = [(start + s, [start + s]) for s in range(seconds) for _ in range(PER_SECOND)]
    with Resque.from_url(ctx.server.url) as resque:
        resque.enqueue_at_many("BenchNoop", entries, queue=QUEUE)
    arrivals: list[float] = []
    watcher = redis.Redis.from_url(ctx.server.url)
    try:
        quiet_since = time.monotonic()
        while len(arrivals) < len(entries):
            popped = watcher.blpop([f"resque:queue:{QUEUE}"], timeout=1)
            if popped is None:
                if time.monotonic() - quiet_since > 30:
                    raise BenchError(
                        f"{runtime} scheduler moved nothing for 30 s:\n{proc.output()}"
                    )
                continue
            quiet_since = time.monotonic()
            payload = popped[1] if isinstance(popped[1], str) else popped[1].decode()
            due = int(payload.split("[", 1)[1].split("]", 1)[0])
            arrivals.append((time.time() - due) * 1000)
    finally:
        watcher.close()
        proc.stop(signal.SIGTERM)
    return arrivals


def _move_rate(ctx: Context, runtime: str, count: int) -> float:
    ctx.server.flush()
    due = int(time.time()) + 3
    with Resque.from_url(ctx.server.url) as resque:
        resque.enqueue_at_many("BenchNoop", ((due, [i]) for i in range(count)), queue=QUEUE)
    proc = _start(ctx, runtime, 0.1)
    client, key = ctx.server.client, f"resque:queue:{QUEUE}"
    try:
        while not (already := int(client.llen(key))):
            time.sleep(0.0002)
        first = time.perf_counter()
        while (moved := int(client.llen(key))) < count:
            if not proc.alive():
                raise BenchError(f"{runtime} scheduler died:\n{proc.output()}")
            time.sleep(0.0002)
        if moved == already:
            raise BenchError(f"{runtime} moved all {count} jobs at once: use more jobs")
        return (count - already) / (time.perf_counter() - first)
    finally:
        proc.stop(signal.SIGTERM)


def _enqueue_in(ctx: Context, runtime: str, count: int) -> float:
    ctx.server.flush()
    if runtime == RUBY:
        command = ["ruby", str(BENCH_DIR / "ruby" / "enqueue_in.rb"), str(count)]
        return _script_rate(ctx.placement.pin(command), _env(ctx, 5.0))
    with Resque.from_url(ctx.server.url) as resque:
        resque.redis.ping()
        started = time.perf_counter()
        for i in range(count):
            resque.enqueue_in(3600 + i % 60, "BenchNoop", i)
        return count / (time.perf_counter() - started)


def _script_rate(command: list[str], env: dict[str, str]) -> float:
    """A Ruby script's ``{"count","seconds"}`` report as jobs/s (boot excluded)."""
    done = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"{command[1]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return float(report["count"]) / float(report["seconds"])


def _enqueue_batch(ctx: Context, count: int) -> float:
    ctx.server.flush()
    with Resque.from_url(ctx.server.url) as resque:
        resque.redis.ping()
        started = time.perf_counter()
        now = time.time()
        resque.enqueue_at_many("BenchNoop", ((now + 3600 + i % 60, [i]) for i in range(count)))
        return count / (time.perf_counter() - started)


def _record_lateness(ctx: Context, runtimes: list[str], seconds: int) -> None:
    for runtime in runtimes:
        samples = _lateness(ctx, runtime, seconds)
        detail = {"jobs": len(samples), "seconds": seconds, "interval": 5.0}
        for case, value in (("median", median(samples)), ("p99", percentile(samples, 99))):
            name = f"lateness {case}"
            ctx.record(Measurement(SCENARIO, name, runtime, value, "ms", False, detail))
    ctx.show(SCENARIO, "lateness median")
    ctx.show(SCENARIO, "lateness p99")


def run(ctx: Context) -> None:
    ctx.heading("scheduler: delayed-job lateness, moving due jobs, enqueue_in (resque-scheduler)")
    ctx.skipped_baselines()
    runtimes = [PYTHON, *([RUBY] if ctx.available(RUBY) else [])]
    sizes = ctx.sizes
    _record_lateness(ctx, runtimes, sizes.scheduler_seconds)

    def trial(
        run_one: Callable[[Context, str, int], float], rt: str, n: int
    ) -> Callable[[], float]:
        return lambda: run_one(ctx, rt, n)

    moves = sizes.scheduler_move_jobs
    trials = [(rt, trial(_move_rate, rt, moves)) for rt in runtimes]
    ctx.record_rates(SCENARIO, "move due jobs", trials, {"jobs": moves})
    ctx.show(SCENARIO, "move due jobs")
    count = sizes.enqueue_jobs
    trials = [(rt, trial(_enqueue_in, rt, count)) for rt in runtimes]
    ctx.record_rates(SCENARIO, "enqueue_in one by one", trials, {"jobs": count})
    ctx.show(SCENARIO, "enqueue_in one by one")
    many = sizes.enqueue_many_jobs
    batch = [(PYTHON, lambda: _enqueue_batch(ctx, many))]
    ctx.record_rates(SCENARIO, "enqueue_at_many", batch, {"jobs": many})
    ctx.show(SCENARIO, "enqueue_at_many", extra=[f"{SCENARIO}/enqueue_in one by one/{RUBY}"])
