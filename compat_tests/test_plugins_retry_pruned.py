"""A retried job whose worker died: the worker that prunes it retries it, in either runtime.

Ruby's pruning ends in ``Job#fail(PruneDeadWorkerDirtyExit)``, which runs the job's
``on_failure`` hooks before the failure is recorded; resque-retry's hook then retries the
job (or gives up, at its limit). A Python worker that prunes the same dead worker must
leave the same keys: the job back on its queue, the attempt counter as resque-retry keeps
it, and the failure where the backend puts it.

The dead worker is written as a Ruby worker on another host leaves it mid-job: registered,
its record holding ``RetriedJob``, a heartbeat long expired, and the attempt counter its
``before_perform`` had set.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis

from compat_tests.ruby_retry import PLUGINS, SUPPRESSION
from compat_tests.runtimes import requires_ruby, ruby_eval
from resque_compat import codec
from resque_compat.plugins.retry import retry_key
from tests.workerproc import PythonWorker

pytestmark = requires_ruby

ARGS = ["x", 1]
DEAD = "elsewhere:4242:retry"
COUNTER = f"resque:{retry_key('RetriedJob', ARGS)}"
BACKENDS = {
    "redis": ("", "redis"),
    "suppression": (SUPPRESSION, "multiple_with_retry_suppression:redis"),
}
PRUNE = 'Resque::Worker.new("other").prune_dead_workers; true'


def _dead_worker_holding_the_job(raw_redis: redis.Redis, counter: str) -> None:
    raw_redis.flushdb()
    record = {
        "queue": "retry",
        "run_at": "2020-01-01T00:00:00Z",
        "payload": {"class": "RetriedJob", "args": ARGS},
    }
    raw_redis.sadd("resque:workers", DEAD)
    raw_redis.set(f"resque:worker:{DEAD}", codec.encode(record))
    raw_redis.set(f"resque:worker:{DEAD}:started", "2020-01-01 00:00:00 +0000")
    raw_redis.hset("resque:workers:heartbeat", DEAD, "2020-01-01T00:00:00+00:00")
    raw_redis.set(COUNTER, counter)


def _leaves(raw_redis: redis.Redis) -> dict[str, Any]:
    failed = [codec.decode(raw) for raw in raw_redis.lrange("resque:failed", 0, -1)]
    suppressed = raw_redis.keys("resque:failure-resque-retry:*")
    return {
        "counter": raw_redis.get(COUNTER),
        "queue": raw_redis.lrange("resque:queue:retry", 0, -1),
        "failed": [(f["payload"], f["exception"], f["error"], f["worker"]) for f in failed],
        "suppressed": [codec.decode(raw_redis.get(key) or b"")["exception"] for key in suppressed],
        "dead registered": raw_redis.sismember("resque:workers", DEAD),
    }


def _pruned_by_ruby(redis_url: str, raw_redis: redis.Redis, backend: str) -> dict[str, Any]:
    setup, _ = BACKENDS[backend]
    ruby_eval(setup + PRUNE, redis_url, env=PLUGINS)
    return _leaves(raw_redis)


def _pruned_by_python(redis_url: str, raw_redis: redis.Redis, backend: str) -> dict[str, Any]:
    _, option = BACKENDS[backend]
    app = ("--app", "compat_tests.plugin_jobs", "--failure-backend", option)
    with PythonWorker(redis_url, "other", "--interval", "0", *app) as pruner:
        assert pruner.wait(30) == 0, pruner.output()
    return _leaves(raw_redis)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("counter", ["0", "2"], ids=["retries", "gives up"])
def test_pruning_a_dead_worker_retries_its_job_as_ruby_does(
    redis_url: str, raw_redis: redis.Redis, backend: str, counter: str
) -> None:
    _dead_worker_holding_the_job(raw_redis, counter)
    ruby = _pruned_by_ruby(redis_url, raw_redis, backend)
    _dead_worker_holding_the_job(raw_redis, counter)
    python = _pruned_by_python(redis_url, raw_redis, backend)
    assert python == ruby
    assert not python["dead registered"]
    requeued = [codec.encode_payload("RetriedJob", ARGS)]
    assert python["queue"] == (requeued if counter == "0" else [])
    assert python["counter"] == (b"0" if counter == "0" else None)
