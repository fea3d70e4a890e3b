"""Stopping a busy worker with a backlog: every job runs, fails for a reason, or stays queued.

Ruby pops a job only when it is about to run it, so a stop leaves the rest of the backlog
queued and fails nothing that never ran. These tests stop workers mid-backlog, with each
stop signal and in both modes, and account for every job.
"""

from __future__ import annotations

import json
import signal
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


def test_an_idle_worker_stopped_with_work_on_another_queue_takes_nothing(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """A job on a queue the worker does not block on (past the watched ones) stays queued."""
    with PythonWorker(redis_url, "compat", "--interval", "60") as worker:
        worker.wait_registered()
        worker.signal(signal.SIGSTOP)
        Resque.from_url(redis_url).enqueue_to("compat", "RecordArgs", 1)
        worker.signal(signal.SIGQUIT)
        worker.signal(signal.SIGCONT)
        assert worker.wait() == 0, worker.output()
    assert failures(raw_redis) == []
    assert raw_redis.llen("resque:queue:compat") + raw_redis.llen("compat:performed") == 1
