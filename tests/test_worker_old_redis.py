"""A Redis without BLMOVE (older than 6.2): the worker polls instead, and says so once.

The server here has BLMOVE renamed away, as a 6.0 server lacks it; the worker tests that
depend on the idle wait (pickup, shutdown, pause) run against it unchanged.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
import redis

from resque_compat import Resque
from resque_compat.devserver import RedisServerProcess
from tests.test_worker import (  # noqa: F401 - collected here again, against this server
    test_idle_worker_picks_up_without_waiting_out_the_interval,
    test_pause_all_workers_key,
    test_quit_lets_the_job_finish,
    test_usr2_pauses_and_cont_resumes,
)
from tests.test_worker_shutdown import (  # noqa: F401
    test_an_idle_worker_stopped_with_work_on_a_queue_it_does_not_block_on,
    test_an_idle_worker_woken_by_work_and_a_stop_together_takes_nothing,
    test_stop_with_a_backlog_fails_no_job_that_never_ran,
)
from tests.workerproc import PythonWorker, wait_for


@pytest.fixture(scope="module")
def old_redis() -> Iterator[RedisServerProcess]:
    with RedisServerProcess(extra_args=["--rename-command", "BLMOVE", ""]) as server:
        yield server


@pytest.fixture
def redis_url(old_redis: RedisServerProcess) -> Iterator[str]:
    client = redis.Redis(port=old_redis.port)
    client.flushall()
    client.close()
    yield old_redis.url


def test_the_server_really_has_no_blmove(raw_redis: redis.Redis) -> None:
    with pytest.raises(redis.ResponseError, match="unknown command"):
        raw_redis.execute_command("BLMOVE", "a", "a", "LEFT", "LEFT", 0.01)


def test_the_worker_says_once_that_it_polls(redis_url: str, raw_redis: redis.Redis) -> None:
    with PythonWorker(redis_url, "compat", "--interval", "0.2") as worker:
        worker.wait_registered()
        Resque.from_url(redis_url).enqueue_to("compat", "RecordArgs", "polled")
        wait_for(lambda: raw_redis.llen("compat:performed"), what="the job, by polling")
        worker.signal(signal.SIGQUIT)
        assert worker.wait() == 0, worker.output()
        assert worker.output().count("Redis has no BLMOVE") == 1, worker.output()
