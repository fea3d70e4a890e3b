"""Failures cross the runtime boundary intact, on both Redis failure backends.

Python-recorded failures are requeued and removed by Ruby's ``Resque::Failure``; Ruby-recorded
failures are requeued and removed by ``resque_compat.failure``. In each case the requeued job
lands on its recorded queue with its arguments byte for byte as Ruby would write them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis

from compat_tests.runtimes import requires_ruby, ruby_eval
from resque_compat import Resque, codec
from resque_compat.connection import RedisSettings
from resque_compat.failure import FailureBackend, backend_from_name
from resque_compat.store import SyncDriver
from tests.workerproc import PythonWorker, text

pytestmark = requires_ruby

ARGS = [[1, "two", {"three": 3.0}], ["café", [None, True], 2**70]]

BACKENDS = {
    "redis": ("Redis", "resque:failed"),
    "redis_multi_queue": ("RedisMultiQueue", "resque:compat_failed"),
}


def ruby(code: str, redis_url: str, backend: str) -> Any:
    """Ruby code run with the given failure backend chosen, as an app would configure it."""
    ruby_class, _ = BACKENDS[backend]
    setup = (
        f"require 'resque/failure/{backend}'\n"
        f"Resque::Failure.backend = Resque::Failure::{ruby_class}"
    )
    return ruby_eval(f"{setup}\n{code}", redis_url)


def ruby_queue_arg(backend: str) -> str:
    """Ruby's Failure API names the list for RedisMultiQueue (``compat_failed``)."""
    return ", 'compat_failed'" if backend == "redis_multi_queue" else ""


def records(raw_redis: redis.Redis, backend: str) -> list[dict[str, Any]]:
    return [json.loads(r) for r in raw_redis.lrange(BACKENDS[backend][1], 0, -1)]


def queued(raw_redis: redis.Redis) -> list[bytes]:
    return [text(item).encode() for item in raw_redis.lrange("resque:queue:compat", 0, -1)]


def expected_queue() -> list[bytes]:
    return [codec.encode_payload("Failing", args) for args in ARGS]


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_ruby_requeues_and_removes_python_failures(
    redis_url: str, raw_redis: redis.Redis, backend: str
) -> None:
    Resque.from_url(redis_url).enqueue_many("compat", "Failing", ARGS)
    with PythonWorker(
        redis_url, "compat", "--interval", "0", "--failure-backend", backend
    ) as worker:
        assert worker.wait() == 0, worker.output()
    assert [r["payload"]["args"] for r in records(raw_redis, backend)] == ARGS
    queue = ruby_queue_arg(backend)
    ruby(
        f"Resque::Failure.requeue(0{queue}); Resque::Failure.requeue(1{queue}); 1",
        redis_url,
        backend,
    )
    assert queued(raw_redis) == expected_queue()
    assert all("retried_at" in r for r in records(raw_redis, backend))
    ruby(f"Resque::Failure.remove(0{queue}); 1", redis_url, backend)
    assert [r["payload"]["args"] for r in records(raw_redis, backend)] == ARGS[1:]


def python_backend(redis_url: str, backend: str) -> tuple[FailureBackend, SyncDriver]:
    settings = RedisSettings.from_url(redis_url)
    return backend_from_name(backend, settings.keys), SyncDriver(settings.client())


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_python_requeues_and_removes_ruby_failures(
    redis_url: str, raw_redis: redis.Redis, backend: str
) -> None:
    ruby(
        f"JSON.parse({json.dumps(json.dumps(ARGS))})"
        ".each { |a| Resque.enqueue_to('compat', Failing, *a) }\n"
        "Resque::Worker.new('compat').work(0); 1",
        redis_url,
        backend,
    )
    recorded = records(raw_redis, backend)
    assert [(r["exception"], r["payload"]["args"]) for r in recorded] == [
        ("RuntimeError", args) for args in ARGS
    ]
    failures, driver = python_backend(redis_url, backend)
    list_name = "compat_failed" if backend == "redis_multi_queue" else None
    driver.run(failures.requeue(0, list_name))
    driver.run(failures.requeue(1, list_name))
    assert queued(raw_redis) == expected_queue()
    assert driver.run(failures.remove(0, list_name)) == 1
    left = records(raw_redis, backend)
    assert [r["payload"]["args"] for r in left] == ARGS[1:]
    assert "retried_at" in left[0]
    # Ruby reads back what Python changed.
    count_call = "count('compat_failed')" if backend == "redis_multi_queue" else "count"
    assert ruby(f"Resque::Failure.{count_call}", redis_url, backend) == 1
