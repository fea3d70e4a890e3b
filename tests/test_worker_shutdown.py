"""Stopping a busy worker with a backlog: every job runs, fails for a reason, or stays queued.

Ruby pops a job only when it is about to run it, so a stop leaves the rest of the backlog
queued and fails nothing that never ran. These tests stop workers mid-backlog, with each
stop signal and in both modes, and account for every job.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
import redis

from resque_compat import Resque
from tests.workerproc import PythonWorker, wait_for

BACKLOG = 3000
STOPS = [
    pytest.param(signal.SIGQUIT, [], id="quit-fork"),
    pytest.param(signal.SIGQUIT, ["--no-fork"], id="quit-nofork"),
    pytest.param(signal.SIGTERM, [], id="term-fork"),
    pytest.param(signal.SIGTERM, ["--no-fork"], id="term-nofork"),
    pytest.param(signal.SIGINT, [], id="int-fork"),
    pytest.param(signal.SIGINT, ["--no-fork"], id="int-nofork"),
]


def failures(raw_redis: redis.Redis) -> list[dict[str, Any]]:
    return [json.loads(item) for item in raw_redis.lrange("resque:failed", 0, -1)]


def processed(raw_redis: redis.Redis) -> int:
    return int(raw_redis.get("resque:stat:processed") or 0)


@pytest.mark.parametrize(("signum", "mode"), STOPS)
def test_stop_with_a_backlog_fails_no_job_that_never_ran(
    redis_url: str, raw_redis: redis.Redis, signum: int, mode: list[str]
) -> None:
    Resque.from_url(redis_url).enqueue_many("compat", "Noop", [[i] for i in range(BACKLOG)])
    with PythonWorker(redis_url, "compat", *mode) as worker:
        wait_for(lambda: processed(raw_redis) >= 50, what="jobs running")
        worker.signal(signum)
        assert worker.wait() == 0, worker.output()
    recorded = failures(raw_redis)
    assert not [f for f in recorded if f["error"] == "Job still being processed"], recorded
    # Only a job stopped mid-run may fail (TERM and INT kill the child, as Ruby's do).
    assert all(f["error"].startswith("Child process received") for f in recorded), recorded
    assert signum != signal.SIGQUIT or recorded == []
    left = [json.loads(raw)["args"][0] for raw in raw_redis.lrange("resque:queue:compat", 0, -1)]
    assert left, "the stop came after the whole backlog"
    # The rest of the backlog is still queued, in order, none missing, none run twice.
    assert left == list(range(BACKLOG - len(left), BACKLOG))
    assert processed(raw_redis) == BACKLOG - len(left)
    assert raw_redis.keys("resque:worker:*") == []


def test_an_idle_worker_woken_by_work_and_a_stop_together_takes_nothing(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """The stop and the push arrive in the same wait: the stop wins, the job stays queued."""
    with PythonWorker(redis_url, "compat", "--interval", "60") as worker:
        worker.wait_registered()
        worker.signal(signal.SIGSTOP)
        Resque.from_url(redis_url).enqueue_to("compat", "RecordArgs", 1)
        worker.signal(signal.SIGQUIT)
        worker.signal(signal.SIGCONT)
        assert worker.wait() == 0, worker.output()
    assert failures(raw_redis) == []
    assert raw_redis.llen("resque:queue:compat") + raw_redis.llen("compat:performed") == 1


def test_an_idle_worker_stopped_with_work_on_a_queue_it_does_not_block_on(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """An idle worker blocks on its first 16 queues; a job on the 17th waits for the next
    reserve. A stop wakes the worker: it must not reserve that job on its way out."""
    queues = [f"q{number:02}" for number in range(1, 18)]
    with PythonWorker(redis_url, ",".join(queues), "--interval", "60") as worker:
        worker.wait_registered()
        wait_for(lambda: "Waiting for" in _title(worker.pid), what="the worker idle")
        Resque.from_url(redis_url).enqueue_to("q17", "RecordArgs", 1)
        worker.signal(signal.SIGQUIT)
        assert worker.wait() == 0, worker.output()
    assert failures(raw_redis) == []
    assert raw_redis.llen("resque:queue:q17") == 1


def _title(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
