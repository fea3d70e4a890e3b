"""Redis up but refusing writes: at ``maxmemory`` with ``noeviction``, or a read-only replica.

The worker says so in one line, retries with backoff, loses no job, and carries on when
Redis accepts writes again (memory freed; the replica promoted, as after a failover).
"""

from __future__ import annotations

import json
import signal
import time

import pytest
import redis

from resque_compat import Resque
from resque_compat.devserver import RedisServerProcess
from tests.refusing import fill, free, promote, replica_pair
from tests.workerproc import PythonWorker, wait_for


def processed(client: redis.Redis) -> int:
    return int(client.get("resque:stat:processed") or 0)


@pytest.mark.parametrize("mode", [[], ["--no-fork"]], ids=["fork", "nofork"])
def test_a_worker_started_on_a_full_redis_waits_and_loses_nothing(
    small_redis: RedisServerProcess, mode: list[str]
) -> None:
    client = redis.Redis(port=small_redis.port)
    resque = Resque.from_url(small_redis.url)
    resque.enqueue_to("compat", "Noop", 1)
    resque.enqueue_to("compat", "Failing", 2)
    ballast = fill(client)
    with PythonWorker(small_redis.url, "compat", "--interval", "0.5", *mode) as worker:
        time.sleep(2)
        assert worker.process.poll() is None, worker.output()
        assert client.llen("resque:queue:compat") == 2
        free(client, ballast)
        wait_for(lambda: processed(client) == 2, what="both jobs after memory was freed")
        worker.signal(signal.SIGQUIT)
        assert worker.wait() == 0, worker.output()
        output = worker.output()
    assert output.count("Redis refuses writes") == 1, output
    assert "Traceback" not in output, output
    [record] = [json.loads(raw) for raw in client.lrange("resque:failed", 0, -1)]
    assert (record["exception"], record["payload"]["args"]) == ("RuntimeError", [2])
    assert client.get("resque:stat:failed") == b"1"
    client.close()


def test_a_busy_worker_waits_out_a_full_redis(small_redis: RedisServerProcess) -> None:
    """Failures arriving while Redis is full are recorded once it has room again."""
    client = redis.Redis(port=small_redis.port)
    Resque.from_url(small_redis.url).enqueue_many("compat", "Failing", [[i] for i in range(200)])
    with PythonWorker(small_redis.url, "compat", "--interval", "0.5") as worker:
        wait_for(lambda: processed(client) >= 1, what="the worker busy")
        ballast = fill(client)
        time.sleep(1.5)
        assert worker.process.poll() is None, worker.output()
        free(client, ballast)
        wait_for(lambda: processed(client) == 200, what="every job after memory was freed")
        worker.signal(signal.SIGQUIT)
        assert worker.wait() == 0, worker.output()
    assert client.llen("resque:failed") == 200
    assert client.get("resque:stat:failed") == b"200"
    client.close()


def test_a_worker_on_a_replica_waits_for_its_promotion() -> None:
    with replica_pair() as (primary, replica):
        replica_client = redis.Redis(port=replica.port)
        Resque.from_url(primary.url).enqueue_to("compat", "Noop", 1)
        wait_for(lambda: replica_client.llen("resque:queue:compat") == 1, what="replication")
        with PythonWorker(replica.url, "compat", "--interval", "0.5") as worker:
            time.sleep(1.5)
            assert worker.process.poll() is None, worker.output()
            promote(replica)  # the failover
            wait_for(lambda: processed(replica_client) == 1, what="the job after promotion")
            worker.signal(signal.SIGQUIT)
            assert worker.wait() == 0, worker.output()
            output = worker.output()
        assert output.count("Redis refuses writes") == 1, output
        assert "read only replica" in output and "Traceback" not in output, output
        replica_client.close()
