"""The scheduler on a Redis that refuses writes (OOM at ``maxmemory``, a READONLY replica).

It says so in one line, and that Redis is back in another, retries with backoff, moves
every delayed job exactly once when Redis accepts writes again, and holds the master lock
(Ruby's key, its ``host:pid``) afterwards. Run as ``resque-compat scheduler``, as deployed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from resque_compat import Resque
from resque_compat.devserver import RedisServerProcess
from resque_compat.errors import OutOfMemory
from resque_compat.scheduler.recurring import RecurringSchedules
from tests.refusing import (
    break_saving,
    fill,
    free,
    promote,
    repair_saving,
    replica_pair,
    saving_args,
)
from tests.workerproc import wait_for

LOCK = "resque:resque:resque_scheduler_master_lock"
JOBS = 20


@contextmanager
def scheduler(url: str) -> Iterator[subprocess.Popen[str]]:
    """``resque-compat scheduler`` on ``url``; killed at the end if it is still running."""
    env = {k: v for k, v in os.environ.items() if k not in ("QUIET", "VERBOSE", "LOGFILE")}
    env.update({"REDIS_URL": url, "RESQUE_SCHEDULER_INTERVAL": "0.5"})
    command = [sys.executable, "-m", "resque_compat", "scheduler"]
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()


def stopped(process: subprocess.Popen[str]) -> str:
    """TERM, then the whole output; the scheduler must have exited 0."""
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=15)
    assert process.returncode == 0, output
    return output


def delay_jobs(url: str) -> float:
    """Jobs due over three seconds from two seconds on (a time in the past, in whole
    seconds, is enqueued at once, as resque-scheduler does: one second ahead, truncated, was
    sometimes already now on a slow run); when the last is due."""
    due = time.time() + 2
    with Resque.from_url(url) as producer:
        for number in range(JOBS):
            producer.enqueue_at_with_queue("delayed", due + number % 3, "Tick", number)
    return due + 2


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()) + 0.5)


def lock_holder(client: redis.Redis) -> str:
    value = client.get(LOCK)
    return value.decode() if isinstance(value, bytes) else ""


def assert_moved_once(client: redis.Redis) -> None:
    moved = [json.loads(raw)["args"] for raw in client.lrange("resque:queue:delayed", 0, -1)]
    assert sorted(moved) == [[number] for number in range(JOBS)]
    assert client.zcard("resque:delayed_queue_schedule") == 0
    assert client.keys("resque:delayed:1*") == client.keys("resque:timestamps:*") == []


def assert_one_outage(output: str, words: str) -> None:
    assert output.count("Redis refuses writes") == 1, output
    assert words in output and output.count("Redis is back after") == 1, output
    assert "Traceback" not in output, output


def test_a_scheduler_started_on_a_full_redis_moves_everything_once_it_has_room(
    small_redis: RedisServerProcess,
) -> None:
    client = redis.Redis(port=small_redis.port)
    last_due = delay_jobs(small_redis.url)
    ballast = fill(client)
    with scheduler(small_redis.url) as process:
        sleep_until(last_due)
        assert process.poll() is None
        assert client.llen("resque:queue:delayed") == 0 and client.get(LOCK) is None
        free(client, ballast)
        wait_for(lambda: client.llen("resque:queue:delayed") == JOBS, what="the jobs moved")
        assert lock_holder(client).endswith(f":{process.pid}")
        output = stopped(process)
    assert_one_outage(output, "OOM command not allowed when used memory > 'maxmemory'")
    assert_moved_once(client)
    assert client.get(LOCK) is None  # released at exit
    client.close()


def test_a_master_waits_out_a_full_redis_and_keeps_the_lock(
    small_redis: RedisServerProcess,
) -> None:
    client = redis.Redis(port=small_redis.port)
    with scheduler(small_redis.url) as process:
        wait_for(lambda: client.get(LOCK), what="the scheduler master")
        holder = client.get(LOCK)
        last_due = delay_jobs(small_redis.url)
        ballast = fill(client)
        sleep_until(last_due)  # the lock cannot be renewed meanwhile (SETNX refused)
        assert process.poll() is None
        assert client.llen("resque:queue:delayed") == 0
        free(client, ballast)
        wait_for(lambda: client.llen("resque:queue:delayed") == JOBS, what="the jobs moved")
        assert client.get(LOCK) == holder
        output = stopped(process)
    assert_one_outage(output, "OOM command not allowed")
    assert_moved_once(client)
    client.close()


def test_a_scheduler_on_a_replica_moves_everything_once_promoted() -> None:
    with replica_pair() as (primary, replica):
        client = redis.Redis(port=replica.port)
        last_due = delay_jobs(primary.url)
        wait_for(lambda: client.zcard("resque:delayed_queue_schedule") == 3, what="replication")
        with scheduler(replica.url) as process:
            sleep_until(last_due)
            assert process.poll() is None
            assert client.llen("resque:queue:delayed") == 0
            promote(replica)  # the failover
            wait_for(lambda: client.llen("resque:queue:delayed") == JOBS, what="the jobs moved")
            assert lock_holder(client).endswith(f":{process.pid}")
            output = stopped(process)
        assert_one_outage(output, "READONLY You can't write against a read only replica")
        assert_moved_once(client)
        client.close()


def test_a_recurring_firing_refused_by_redis_stays_due(
    small_redis: RedisServerProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """Ruby's scheduler logs the failed enqueue and skips that firing; here the refusal goes
    up to the loop's outage handling and the firing is enqueued once Redis has room."""
    client = redis.Redis(port=small_redis.port)
    schedule = {"tick": {"every": "1s", "class": "Tick", "queue": "recurring", "args": [1]}}
    with Resque.from_url(small_redis.url) as producer:
        recurring = RecurringSchedules(producer, schedule)
        recurring.load()
        due = recurring.next_due()
        assert due is not None
        ballast = fill(client)
        with pytest.raises(OutOfMemory):
            recurring.fire_due(due)
        assert recurring.next_due() == due
        free(client, ballast)
        assert recurring.fire_due(due) == 1
    assert client.llen("resque:queue:recurring") == 1
    assert "enqueueing Tick failed" not in caplog.text
    client.close()


def test_a_scheduler_rides_out_a_redis_restart_with_one_line_each_way() -> None:
    with RedisServerProcess() as first:
        port = first.port
        with scheduler(first.url) as process:
            client = redis.Redis(port=port)
            wait_for(lambda: client.get(LOCK), what="the scheduler master")
            first.stop()
            time.sleep(2)
            assert process.poll() is None
            with RedisServerProcess(port=port) as second:
                client = redis.Redis(port=port)
                delay_jobs(second.url)
                wait_for(lambda: client.llen("resque:queue:delayed") == JOBS, what="the moves")
                output = stopped(process)
                assert_moved_once(client)
                client.close()
    assert output.count("Redis unavailable") == 1, output
    assert output.count("Redis is back after") == 1, output
    assert "Traceback" not in output, output


def test_a_scheduler_waits_out_a_redis_that_cannot_save(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with RedisServerProcess(extra_args=saving_args(data)) as server:
        client = redis.Redis(port=server.port)
        last_due = delay_jobs(server.url)
        break_saving(client, data)
        with scheduler(server.url) as process:
            sleep_until(last_due)
            assert process.poll() is None
            assert client.llen("resque:queue:delayed") == 0
            repair_saving(client, data)
            wait_for(lambda: client.llen("resque:queue:delayed") == JOBS, what="the jobs moved")
            output = stopped(process)
        assert_one_outage(output, "MISCONF ")
        assert_moved_once(client)
        client.close()
