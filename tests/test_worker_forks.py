"""Many jobs per forked child (resque-multi-job-forks' JOBS_PER_FORK and MINUTES_PER_FORK).

Each limit, each signal with its meaning for the child, a child killed mid-job, and the
counters and failure records compared with fork per job's for the same jobs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import redis

from resque_compat import Resque
from resque_compat.worker import ForkLimits
from resque_compat.worker.forks import ForkBudget
from tests.workerproc import PythonWorker, wait_for

SLOW = ["Slow", [1.5, "slow"]]


def enqueue(redis_url: str, jobs: Sequence[Sequence[Any]]) -> None:
    with Resque.from_url(redis_url) as resque:
        for class_name, args in jobs:
            resque.enqueue_to("compat", class_name, *args)


def records(count: int) -> list[list[Any]]:
    return [["RecordArgs", [number]] for number in range(count)]


def performed(raw_redis: redis.Redis) -> list[tuple[int, list[Any]]]:
    entries = [json.loads(raw) for raw in raw_redis.lrange("compat:performed", 0, -1)]
    return [(entry["pid"], entry["args"]) for entry in entries]


def runs_per_child(raw_redis: redis.Redis) -> list[int]:
    """How many jobs each child ran, in order."""
    counts: dict[int, int] = {}
    for pid, _args in performed(raw_redis):
        counts[pid] = counts.get(pid, 0) + 1
    return list(counts.values())


def failures(raw_redis: redis.Redis) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in raw_redis.lrange("resque:failed", 0, -1)]


def queued(raw_redis: redis.Redis) -> list[Any]:
    return [json.loads(raw)["args"] for raw in raw_redis.lrange("resque:queue:compat", 0, -1)]


def title(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()


def child_of(worker: PythonWorker) -> int:
    """The pid of the worker's current child, from the worker's title (Ruby's words)."""
    found = re.search(r"Forked (\d+) at", title(worker.pid))
    assert found, title(worker.pid)
    return int(found.group(1))


def running(raw_redis: redis.Redis, class_name: str) -> bool:
    """Whether some worker:<id> records a job of ``class_name`` as running."""
    for key in raw_redis.keys("resque:worker:*"):
        record = raw_redis.get(key)
        if isinstance(record, bytes) and record.startswith(b"{") and class_name.encode() in record:
            return True
    return False


def run_to_the_end(redis_url: str, *args: str, env: dict[str, str]) -> str:
    with PythonWorker(redis_url, "compat", "--interval", "0", *args, env=env) as worker:
        assert worker.wait(60) == 0, worker.output()
        return worker.output()


# -- the limits -------------------------------------------------------------------------


def test_jobs_per_fork_runs_that_many_jobs_in_each_child(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    enqueue(redis_url, records(7))
    output = run_to_the_end(redis_url, env={"JOBS_PER_FORK": "3"})
    assert "3 jobs per fork" in output
    assert runs_per_child(raw_redis) == [3, 3, 1]
    assert [args for _pid, args in performed(raw_redis)] == [[n] for n in range(7)]
    assert raw_redis.get("resque:stat:processed") == b"7"
    assert raw_redis.keys("resque:worker*") == []


def test_jobs_per_fork_wins_over_minutes_per_fork(redis_url: str, raw_redis: redis.Redis) -> None:
    """The plugin reads MINUTES_PER_FORK only when JOBS_PER_FORK is not set."""
    enqueue(redis_url, records(5))
    run_to_the_end(redis_url, env={"JOBS_PER_FORK": "2", "MINUTES_PER_FORK": "0"})
    assert runs_per_child(raw_redis) == [2, 2, 1]


@pytest.mark.parametrize(("minutes", "expected"), [("1", [5]), ("0", [1] * 5)])
def test_minutes_per_fork(
    redis_url: str, raw_redis: redis.Redis, minutes: str, expected: list[int]
) -> None:
    """Quick jobs all run in one child within a minute; with 0 minutes (``to_i`` of the
    variable) a child's time is up after its first job."""
    enqueue(redis_url, records(5))
    run_to_the_end(redis_url, env={"MINUTES_PER_FORK": minutes})
    assert runs_per_child(raw_redis) == expected


TIMED_WORKER = """
import compat_tests.jobs
from resque_compat import RedisSettings
from resque_compat.worker import ForkLimits, Intervals, QueueSelector, Worker, WorkerSettings
settings = WorkerSettings(
    QueueSelector.parse("compat"), Intervals(interval=0), multi_job_forks=ForkLimits(seconds=0.5)
)
Worker(settings, RedisSettings.from_url(%r)).work()
"""


def test_a_child_runs_jobs_until_its_time_is_up(redis_url: str, raw_redis: redis.Redis) -> None:
    """MINUTES_PER_FORK in seconds (the API takes any duration): 0.2 s jobs, 0.5 s after the
    first one, so each child runs a few jobs and the next child the rest."""
    enqueue(redis_url, [["Slow", [0.2, number]] for number in range(8)])
    env = {**os.environ, "REDIS_URL": redis_url}
    done = subprocess.run(
        [sys.executable, "-c", TIMED_WORKER % redis_url], env=env, timeout=60, check=False
    )
    assert done.returncode == 0
    runs = runs_per_child(raw_redis)
    assert sum(runs) == 8 and len(runs) >= 2 and 2 <= runs[0] <= 7, runs


def test_the_time_limit_counts_from_the_end_of_the_first_job() -> None:
    budget = ForkBudget(ForkLimits(seconds=0.3))
    assert not budget.spent()
    time.sleep(0.35)
    budget.job_done()
    assert not budget.spent() and 0 < budget.seconds_left() <= 0.3
    time.sleep(0.35)
    assert budget.spent()


def test_a_child_always_runs_one_job_and_a_memory_threshold_ends_it() -> None:
    assert ForkLimits.from_ruby("0", None, None) == ForkLimits(jobs=0)
    budget = ForkBudget(ForkLimits(jobs=0))
    assert not budget.spent()
    budget.job_done()
    assert budget.spent()
    over = ForkBudget(ForkLimits(jobs=100, memory_kb=1))
    over.job_done()
    assert over.spent()
    assert ForkLimits.from_ruby(None, "1.5", "junk") == ForkLimits(seconds=60.0)


def test_disabled_or_unset_is_one_job_per_child(redis_url: str, raw_redis: redis.Redis) -> None:
    enqueue(redis_url, records(3))
    env = {"JOBS_PER_FORK": "5", "DISABLE_MULTI_JOBS_PER_FORK": "1"}
    assert "fork per job" in run_to_the_end(redis_url, env=env)
    assert runs_per_child(raw_redis) == [1, 1, 1]


# -- the same counters and records as fork per job ---------------------------------------

MIXED: list[list[Any]] = [
    ["RecordArgs", [0]],
    ["Failing", [1]],
    ["RecordArgs", [2]],
    ["KilledJob", []],
    ["ArityJob", [1, 2]],
    ["RecordArgs", [3]],
    ["Failing", [4]],
]


def _outcome(raw_redis: redis.Redis) -> dict[str, Any]:
    recorded = [
        (f["payload"], f["exception"], re.sub(r"pid \d+", "pid N", f["error"]), f["queue"])
        for f in failures(raw_redis)
    ]
    outcome = {
        "performed": [args for _pid, args in performed(raw_redis)],
        "failures": recorded,
        "processed": raw_redis.get("resque:stat:processed"),
        "failed": raw_redis.get("resque:stat:failed"),
        "left": raw_redis.keys("resque:worker*"),
    }
    raw_redis.flushall()
    return outcome


def test_counters_and_failure_records_are_fork_per_jobs(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """Successes, failures, a child killed mid-job (its job a DirtyExit, not counted in
    ``failed``, as Ruby's): the same keys with three jobs per child as with one."""
    enqueue(redis_url, MIXED)
    run_to_the_end(redis_url, env={})
    per_job = _outcome(raw_redis)
    enqueue(redis_url, MIXED)
    run_to_the_end(redis_url, env={"JOBS_PER_FORK": "3"})
    assert _outcome(raw_redis) == per_job
    assert per_job["processed"] == b"7" and per_job["failed"] == b"3"
    assert [f[1] for f in per_job["failures"]] == [
        "RuntimeError",
        "Resque::DirtyExit",
        "TypeError",
        "RuntimeError",
    ]


def test_a_child_killed_mid_job_loses_nothing(redis_url: str, raw_redis: redis.Redis) -> None:
    """The second job of a child kills it: that job (not the child's first) is the DirtyExit
    failure, and a new child runs the rest."""
    enqueue(redis_url, [["RecordArgs", [0]], ["KilledJob", []], *records(3)[1:]])
    run_to_the_end(redis_url, env={"JOBS_PER_FORK": "10"})
    [failure] = failures(raw_redis)
    assert failure["payload"] == {"class": "KilledJob", "args": []}
    assert failure["exception"] == "Resque::DirtyExit"
    assert re.fullmatch(
        r"Child process received unhandled signal pid \d+ SIGKILL \(signal 9\)", failure["error"]
    )
    assert runs_per_child(raw_redis) == [1, 2]
    assert raw_redis.get("resque:stat:processed") == b"4"


# -- signals ----------------------------------------------------------------------------


def _slow_in_second_place(redis_url: str, raw_redis: redis.Redis, *args: str) -> PythonWorker:
    """A worker whose child ran one job and is in the middle of Slow, two jobs behind it."""
    enqueue(redis_url, [["RecordArgs", [0]], SLOW, ["RecordArgs", [1]], ["RecordArgs", [2]]])
    worker = PythonWorker(redis_url, "compat", *args, env={"JOBS_PER_FORK": "10"})
    wait_for(lambda: running(raw_redis, "Slow"), what="Slow running")
    return worker


def test_quit_lets_the_child_finish_its_job_then_both_exit(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    with _slow_in_second_place(redis_url, raw_redis) as worker:
        worker.signal(signal.SIGQUIT)
        assert worker.wait() == 0, worker.output()
    assert [args for _pid, args in performed(raw_redis)] == [[0], [1.5, "slow"]]
    assert failures(raw_redis) == [] and queued(raw_redis) == [[1], [2]]
    assert raw_redis.get("resque:stat:processed") == b"2"
    assert raw_redis.keys("resque:worker*") == []


@pytest.mark.parametrize(
    ("mode", "exception"),
    [([], "Resque::DirtyExit"), (["--term-child"], "Resque::TermException")],
)
def test_term_stops_the_childs_job_now(
    redis_url: str, raw_redis: redis.Redis, mode: list[str], exception: str
) -> None:
    """TERM: the child is killed (or, with TERM_CHILD, its job gets TermException); the job
    running is the failure, the rest stays queued."""
    with _slow_in_second_place(redis_url, raw_redis, *mode) as worker:
        worker.signal(signal.SIGTERM)
        assert worker.wait() == 0, worker.output()
    [failure] = failures(raw_redis)
    assert (failure["payload"]["class"], failure["exception"]) == ("Slow", exception)
    assert queued(raw_redis) == [[1], [2]]
    assert raw_redis.keys("resque:worker*") == []


def test_usr1_kills_the_child_and_a_new_child_goes_on(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    with _slow_in_second_place(redis_url, raw_redis, "--interval", "0") as worker:
        first_child = child_of(worker)
        worker.signal(signal.SIGUSR1)
        assert worker.wait() == 0, worker.output()
    [failure] = failures(raw_redis)
    assert (failure["payload"]["class"], failure["exception"]) == ("Slow", "Resque::DirtyExit")
    pids = [pid for pid, _args in performed(raw_redis)]
    assert pids[0] == first_child and set(pids[1:]) - {first_child}
    assert [args for _pid, args in performed(raw_redis)] == [[0], [1], [2]]


def test_usr2_ends_the_child_after_its_job_and_cont_forks_a_new_one(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    with _slow_in_second_place(redis_url, raw_redis) as worker:
        first_child = child_of(worker)
        worker.signal(signal.SIGUSR2)
        wait_for(lambda: "Paused" in title(worker.pid), what="the worker paused")
        assert not Path(f"/proc/{first_child}").exists() or "Processing" not in title(first_child)
        assert queued(raw_redis) == [[1], [2]]
        worker.signal(signal.SIGCONT)
        wait_for(lambda: len(performed(raw_redis)) == 4, what="the rest done")
        worker.signal(signal.SIGQUIT)
        assert worker.wait() == 0, worker.output()
    assert failures(raw_redis) == [] and queued(raw_redis) == []
    pids = [pid for pid, _args in performed(raw_redis)]
    assert pids[:2] == [first_child] * 2 and first_child not in pids[2:]


def test_quit_to_the_child_ends_only_the_child(redis_url: str, raw_redis: redis.Redis) -> None:
    """The plugin's child finishes its job on QUIT and exits; the worker forks another."""
    with _slow_in_second_place(redis_url, raw_redis, "--interval", "0") as worker:
        first_child = child_of(worker)
        os.kill(first_child, signal.SIGQUIT)
        assert worker.wait() == 0, worker.output()
    assert failures(raw_redis) == []
    pids = [pid for pid, _args in performed(raw_redis)]
    assert pids[:2] == [first_child] * 2 and first_child not in pids[2:]
    assert raw_redis.get("resque:stat:processed") == b"4"


@pytest.mark.parametrize("env", [{}, {"JOBS_PER_FORK": "3"}], ids=["fork-per-job", "3-per-fork"])
def test_a_killed_childs_job_gets_its_failure_hooks_in_the_worker(
    redis_url: str, raw_redis: redis.Redis, env: dict[str, str]
) -> None:
    """Ruby's parent calls ``job.fail(DirtyExit)``, which runs the job's on_failure hooks
    with its arguments: so does the Python worker, in its own process."""
    enqueue(redis_url, [["RecordArgs", [0]], ["KilledWithHook", ["a", 1]]])
    with PythonWorker(redis_url, "compat", "--interval", "0", env=env) as worker:
        assert worker.wait(30) == 0, worker.output()
        worker_pid = worker.pid
    hooked = [(pid, args) for pid, args in performed(raw_redis) if args[0] == "on_failure"]
    assert hooked == [(worker_pid, ["on_failure", "Resque::DirtyExit", "a", 1])]
    [failure] = failures(raw_redis)
    assert (failure["exception"], failure["payload"]["args"]) == ("Resque::DirtyExit", ["a", 1])
