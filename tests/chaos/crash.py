"""The crash test: workers SIGKILLed at random moments while they drain a queue; no job lost.

N ``ChaosJob``s are enqueued; worker processes (Python with and without fork, and Ruby
Resque when present) drain them while a killer SIGKILLs a random parent or job child every
50-500 ms and restarts whatever died. When the queues are empty every worker is killed
once more, the pruning lock is deleted and a clean worker (``--queues '*'``) starts: its
startup pruning turns the jobs the dead workers still held in ``worker:<id>`` into
``DirtyExit`` failures, which is how Resque recovers a killed worker's job. Then every job
must have run (its id is in ``chaos:ran``) or sit in the failed list with a DirtyExit or
prune record naming it. Finally every failure is requeued and drained, after which every
job must have run; how many ran twice is reported.

Ruby's worker pops a job (LPOP) and records it (SET worker:<id>) in two round trips, so a
Ruby worker killed in between loses the job. Ruby workers on the shared queue therefore
only have their job children killed; one more Ruby worker, alone on its own queue, has
its parent killed too, and its losses are counted apart (the behaviour this project's
atomic reserve fixes).

    python -m tests.chaos.crash --jobs 5000 --workers 4      # see docs/reliability.md
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from compat_tests.runtimes import ruby_skip_reason, start_ruby
from resque_compat import Resque, codec
from resque_compat.devserver import RedisServerProcess
from resque_compat.errors import DecodeError
from resque_compat.failure import RedisBackend
from resque_compat.keys import Keys
from resque_compat.store import SyncDriver
from tests.chaos.jobs import CHAOS_QUEUE, RAN_KEY
from tests.chaos.procs import WorkerProcess, cmdline, tail, worker_env
from tests.workerproc import text

RUBY_QUEUE = "chaos_ruby"
RUBY_WORKER = Path(__file__).resolve().parent / "ruby_worker.rb"
RECOVERY_EXCEPTIONS = frozenset({"Resque::DirtyExit", "Resque::PruneDeadWorkerDirtyExit"})
KEYS = Keys()


@dataclass(frozen=True)
class CrashConfig:
    jobs: int = 400
    workers: int = 4
    """Python workers, alternately forking and not."""
    ruby: bool = False
    """Add Ruby Resque workers (one on the shared queue, one alone with parent kills)."""
    ruby_share: float = 0.1
    """Fraction of the jobs queued for the Ruby-only queue."""
    min_kill_ms: int = 50
    max_kill_ms: int = 500
    max_job_ms: int = 40
    seed: int = 7
    timeout: float = 300.0


@dataclass
class Slot:
    """One worker position the killer keeps filled: when its process dies, a new one starts."""

    name: str
    runtime: str
    start: Callable[[], WorkerProcess]
    kill_parent: bool
    proc: WorkerProcess | None = None
    killed: set[int] = field(default_factory=set)
    retired: list[WorkerProcess] = field(default_factory=list)


@dataclass
class Ledger:
    """What Redis says happened to each job id."""

    runs: Counter[str]
    failed: Counter[str]
    failure_kinds: Counter[str]
    other_failures: list[str]
    queued: set[str]
    held: set[str]

    def accounted(self, job_id: str) -> bool:
        return any(
            (self.runs[job_id], self.failed[job_id], job_id in self.queued, job_id in self.held)
        )


@dataclass
class CrashReport:
    config: CrashConfig
    jobs_by_queue: dict[str, list[str]]
    seconds: float = 0.0
    kills: Counter[str] = field(default_factory=Counter)
    starts: int = 0
    unexpected_exits: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    after_crash: Ledger | None = None
    after_retry: Ledger | None = None
    leftover_workers: list[str] = field(default_factory=list)
    requeued: int = 0

    def vanished(self, queue: str, ledger: Ledger | None = None) -> list[str]:
        """Ids of ``queue`` that neither ran nor sit anywhere in Redis."""
        ledger = ledger or self.after_crash
        assert ledger is not None
        return [i for i in self.jobs_by_queue.get(queue, []) if not ledger.accounted(i)]

    def ran_twice(self, ledger: Ledger) -> int:
        return sum(1 for count in ledger.runs.values() if count >= 2)

    def never_ran(self, queue: str) -> list[str]:
        assert self.after_retry is not None
        return [i for i in self.jobs_by_queue.get(queue, []) if not self.after_retry.runs[i]]

    def summary(self) -> str:
        crash, retry = self.after_crash, self.after_retry
        assert crash is not None and retry is not None
        per_queue = ", ".join(f"{q}: {len(ids)}" for q, ids in self.jobs_by_queue.items())
        lines = [
            f"jobs: {self.config.jobs} ({per_queue})",
            f"run time: {self.seconds:.1f} s; worker processes started: {self.starts}",
            f"SIGKILLs: {dict(sorted(self.kills.items()))} (total {sum(self.kills.values())})",
            f"after the crash run: ran {len(+crash.runs)}, ran twice {self.ran_twice(crash)}, "
            f"failure records {sum(crash.failed.values())} {dict(crash.failure_kinds)}",
            f"vanished (Python-served queue {CHAOS_QUEUE}): {len(self.vanished(CHAOS_QUEUE))}",
            f"lost by Ruby workers killed between LPOP and SET ({RUBY_QUEUE}): "
            f"{len(self.vanished(RUBY_QUEUE))} of {len(self.jobs_by_queue.get(RUBY_QUEUE, []))}",
            f"after requeueing {self.requeued} failures and draining: "
            f"never ran {len(self.never_ran(CHAOS_QUEUE))}, ran more than once "
            f"{self.ran_twice(retry)}",
            f"unexpected worker exits: {len(self.unexpected_exits)}; tracebacks in Python "
            f"worker logs: {len(self.tracebacks)}; workers left registered: "
            f"{len(self.leftover_workers)}; other failures: {len(crash.other_failures)}",
        ]
        return "\n".join(lines)


# -- the run ------------------------------------------------------------------------------


def run_crash(redis_url: str, config: CrashConfig) -> CrashReport:
    """Enqueue, kill and restart workers until the queues are empty, recover, account."""
    rng = random.Random(config.seed)
    client = redis.Redis.from_url(redis_url)
    with tempfile.TemporaryDirectory(prefix="resque-chaos-") as workdir:
        report = CrashReport(config, enqueue(redis_url, config, rng))
        started = time.monotonic()
        with _slots(redis_url, config, Path(workdir)) as slots:
            _kill_until_drained(client, slots, rng, report)
        report.seconds = time.monotonic() - started
        report.leftover_workers = drain(redis_url, client, Path(workdir))
        report.after_crash = read_ledger(client)
        report.requeued = requeue_failures(client)
        report.leftover_workers += drain(redis_url, client, Path(workdir))
        report.after_retry = read_ledger(client)
        report.tracebacks = _tracebacks(Path(workdir))
    client.close()
    return report


def enqueue(redis_url: str, config: CrashConfig, rng: random.Random) -> dict[str, list[str]]:
    ruby_jobs = int(config.jobs * config.ruby_share) if config.ruby else 0
    jobs = {
        CHAOS_QUEUE: [f"py-{n:06d}" for n in range(config.jobs - ruby_jobs)],
        RUBY_QUEUE: [f"rb-{n:06d}" for n in range(ruby_jobs)],
    }
    with Resque.from_url(redis_url) as resque:
        for queue, ids in jobs.items():
            if ids:
                args = [[i, rng.randint(0, config.max_job_ms)] for i in ids]
                resque.enqueue_many(queue, "ChaosJob", args)
    return {queue: ids for queue, ids in jobs.items() if ids}


@contextmanager
def _slots(redis_url: str, config: CrashConfig, workdir: Path) -> Iterator[list[Slot]]:
    slots = make_slots(redis_url, config, workdir)
    try:
        for slot in slots:
            slot.proc = slot.start()
        yield slots
    finally:
        for slot in slots:
            for proc in [*slot.retired, *([slot.proc] if slot.proc else [])]:
                proc.finish()


def make_slots(redis_url: str, config: CrashConfig, workdir: Path) -> list[Slot]:
    env = worker_env(redis_url)
    counter = iter(range(1_000_000))

    def python(mode: str) -> Callable[[], WorkerProcess]:
        # The pruning lock expires after the heartbeat interval (2 s), so workers started
        # during the run prune the dead ones under load, next to live ones they must spare.
        args = ["--interval", "0.5", "--heartbeat-interval", "2", "--prune-interval", "30"]
        args += [] if mode == "fork" else ["--no-fork"]
        return lambda: WorkerProcess.python(
            CHAOS_QUEUE, args, env, workdir / f"python-{mode}-{next(counter)}.log"
        )

    modes = ["fork" if n % 2 == 0 else "nofork" for n in range(config.workers)]
    slots = [
        Slot(f"python-{mode}-{n}", "python", python(mode), kill_parent=True)
        for n, mode in enumerate(modes)
    ]
    if config.ruby:
        slots.append(Slot("ruby-shared", "ruby", _ruby(redis_url, CHAOS_QUEUE), False))
        slots.append(Slot("ruby-own", "ruby", _ruby(redis_url, RUBY_QUEUE), True))
    return slots


def _ruby(redis_url: str, queue: str) -> Callable[[], WorkerProcess]:
    def start() -> WorkerProcess:
        proc = start_ruby(str(RUBY_WORKER), redis_url, env={"QUEUE": queue, "INTERVAL": "0.1"})
        return WorkerProcess(proc)

    return start


def _kill_until_drained(
    client: redis.Redis, slots: list[Slot], rng: random.Random, report: CrashReport
) -> None:
    config = report.config
    report.starts = len(slots)
    deadline = time.monotonic() + config.timeout
    while _queued(client, report.jobs_by_queue) and time.monotonic() < deadline:
        time.sleep(rng.uniform(config.min_kill_ms, config.max_kill_ms) / 1000)
        victim = pick_victim(slots, rng)
        if victim is not None:
            slot, pid, part = victim
            _kill(slot, pid, part, report)
        refill(slots, report)


def _queued(client: redis.Redis, jobs_by_queue: dict[str, list[str]]) -> int:
    return sum(int(client.llen(KEYS.queue(q))) for q in jobs_by_queue)


def pick_victim(slots: list[Slot], rng: random.Random) -> tuple[Slot, int, str] | None:
    """A random live parent (where its slot allows) or job child; children half the time."""
    parents = [
        (s, s.proc.pid, "parent") for s in slots if s.kill_parent and s.proc and s.proc.alive()
    ]
    children = [(s, pid, "child") for s in slots for pid in _job_children(s)]
    pool = children if children and (not parents or rng.random() < 0.5) else parents
    return rng.choice(pool) if pool else None


def _job_children(slot: Slot) -> list[int]:
    """Only children (or a fork server's children) titled as a running job: a Ruby worker
    also forks ``ps`` to prune."""
    if slot.proc is None:
        return []
    found = []
    for pid in slot.proc.children():
        try:
            if "Processing" in cmdline(pid):
                found.append(pid)
        except OSError:
            continue
    return found


def _kill(slot: Slot, pid: int, part: str, report: CrashReport) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if part == "parent":
        slot.killed.add(pid)
    report.kills[f"{slot.runtime} {part}"] += 1


def refill(slots: list[Slot], report: CrashReport) -> None:
    """Start a new process for every slot whose process died; note deaths we did not cause."""
    for slot in slots:
        if slot.proc is None or slot.proc.alive():
            continue
        if slot.proc.pid not in slot.killed:
            report.unexpected_exits.append(
                f"{slot.name} pid {slot.proc.pid} exited on its own:\n{tail(slot.proc.output())}"
            )
        slot.retired.append(slot.proc)
        slot.proc = slot.start()
        report.starts += 1


# -- recovery and accounting --------------------------------------------------------------


def drain(redis_url: str, client: redis.Redis, workdir: Path, attempts: int = 3) -> list[str]:
    """Run clean workers on every queue until one leaves nobody registered; leftovers."""
    leftovers: list[str] = []
    for attempt in range(attempts):
        client.delete(KEYS.pruning_lock())
        log = workdir / f"drain-{attempt}-{time.monotonic_ns()}.log"
        proc = WorkerProcess.python(
            "*", ["--interval", "0", "--no-fork"], worker_env(redis_url), log
        )
        code = proc.wait(timeout=600)
        if code != 0:
            raise AssertionError(f"the draining worker exited with {code}:\n{proc.output()}")
        leftovers = sorted(text(m) for m in client.smembers(KEYS.workers()))
        if not leftovers and not _held(client):
            return []
    return leftovers


def requeue_failures(client: redis.Redis) -> int:
    """Resque's "retry all" (``Failure.requeue_all``), then clear the failed list."""
    backend = RedisBackend(KEYS)
    driver = SyncDriver(client)
    requeued = driver.run(backend.requeue_all())
    driver.run(backend.clear())
    return requeued


def read_ledger(client: redis.Redis) -> Ledger:
    runs = Counter(text(item) for item in client.lrange(RAN_KEY, 0, -1))
    failed: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    other: list[str] = []
    for raw in client.lrange(KEYS.failed(), 0, -1):
        record = codec.decode(raw)
        job_id = _chaos_id(record.get("payload"))
        kinds[record["exception"]] += 1
        if job_id is not None and record["exception"] in RECOVERY_EXCEPTIONS:
            failed[job_id] += 1
        else:
            other.append(text(raw))
    queued = {
        str(_chaos_id(codec.decode(raw)))
        for queue in (CHAOS_QUEUE, RUBY_QUEUE)
        for raw in client.lrange(KEYS.queue(queue), 0, -1)
    }
    return Ledger(runs, failed, kinds, other, queued, _held(client))


def _held(client: redis.Redis) -> set[str]:
    """Ids of the jobs recorded in some ``worker:<id>`` (in flight, or left by a dead one)."""
    held = set()
    for key in client.scan_iter(match=KEYS.worker("*")):
        value = client.get(key)
        if key.endswith(b":started") or value is None:
            continue
        try:
            job_id = _chaos_id(codec.decode(value).get("payload"))
        except (DecodeError, AttributeError):
            job_id = text(value)
        if job_id is not None:
            held.add(job_id)
    return held


def _chaos_id(payload: Any) -> str | None:
    if isinstance(payload, dict) and payload.get("class") == "ChaosJob":
        args = payload.get("args") or [None]
        return str(args[0])
    return None


def _tracebacks(workdir: Path) -> list[str]:
    return [
        f"{log.name}:\n{tail(log.read_text(errors='replace'))}"
        for log in sorted(workdir.glob("*.log"))
        if "Traceback" in log.read_text(errors="replace")
    ]


# -- command line -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--max-job-ms", type=int, default=40)
    parser.add_argument("--ruby", choices=["auto", "yes", "no"], default="auto")
    parser.add_argument("--redis", help="use this Redis (flushed!) instead of a private one")
    options = parser.parse_args(argv)
    skip = ruby_skip_reason()
    if options.ruby == "yes" and skip:
        parser.error(skip)
    config = CrashConfig(
        jobs=options.jobs,
        workers=options.workers,
        ruby=options.ruby != "no" and skip is None,
        max_job_ms=options.max_job_ms,
        seed=options.seed,
        timeout=max(300.0, options.jobs * 0.1),
    )
    print(f"seed {config.seed}; Ruby workers: {'yes' if config.ruby else f'no ({skip})'}")
    if options.redis:
        redis.Redis.from_url(options.redis).flushdb()
        report = run_crash(options.redis, config)
    else:
        with RedisServerProcess() as server:
            report = run_crash(server.url, config)
    print(report.summary())
    print(json.dumps({"unexpected_exits": report.unexpected_exits}, indent=1)[:4000])
    ok = not (report.vanished(CHAOS_QUEUE) or report.never_ran(CHAOS_QUEUE))
    return 0 if ok and not report.unexpected_exits else 1


if __name__ == "__main__":
    sys.exit(main())
