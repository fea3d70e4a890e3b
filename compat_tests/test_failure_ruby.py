"""Failures cross the runtime boundary intact, on both Redis failure backends.

Python-recorded failures are requeued and removed by Ruby's ``Resque::Failure``; Ruby-recorded
failures are requeued and removed by ``resque_compat.failure``. In each case the requeued job
lands on its recorded queue with its arguments byte for byte as Ruby would write them. Each
test runs against every Ruby Resque version of the version matrix (``ruby_version``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import redis

from compat_tests.runtimes import requires_ruby, ruby_eval, ruby_version_params
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


#: ``retried_at`` as Ruby writes it: with the zone only in Resque 3.x's Redis backend; Resque
#: 2.x and 1.x, and every version's RedisMultiQueue, write ``%Y/%m/%d %H:%M:%S`` without one.
RETRIED_AT_ZONE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d [A-Z][A-Za-z0-9+-]{1,5}$")
RETRIED_AT_NO_ZONE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d$")


def ruby_retried_at(version: str, backend: str) -> re.Pattern[str]:
    """The ``retried_at`` form Ruby Resque ``version`` writes with ``backend``."""
    zoned = version.startswith("3.") and backend == "redis"
    return RETRIED_AT_ZONE if zoned else RETRIED_AT_NO_ZONE


def ruby(code: str, redis_url: str, backend: str, version: str | None = None) -> Any:
    """Ruby code run with the given failure backend chosen, as an app would configure it."""
    ruby_class, _ = BACKENDS[backend]
    setup = (
        f"require 'resque/failure/{backend}'\n"
        f"Resque::Failure.backend = Resque::Failure::{ruby_class}"
    )
    return ruby_eval(f"{setup}\n{code}", redis_url, version=version)


def ruby_queue_arg(backend: str) -> str:
    """Ruby's Failure API names the list for RedisMultiQueue (``compat_failed``)."""
    return ", 'compat_failed'" if backend == "redis_multi_queue" else ""


def records(raw_redis: redis.Redis, backend: str) -> list[dict[str, Any]]:
    return [json.loads(r) for r in raw_redis.lrange(BACKENDS[backend][1], 0, -1)]


def queued(raw_redis: redis.Redis) -> list[bytes]:
    return [text(item).encode() for item in raw_redis.lrange("resque:queue:compat", 0, -1)]


def expected_queue() -> list[bytes]:
    return [codec.encode_payload("Failing", args) for args in ARGS]


@pytest.mark.parametrize("ruby_version", ruby_version_params())
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_ruby_requeues_and_removes_python_failures(
    redis_url: str, raw_redis: redis.Redis, backend: str, ruby_version: str
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
        ruby_version,
    )
    assert queued(raw_redis) == expected_queue()
    stamps = [r["retried_at"] for r in records(raw_redis, backend)]
    assert all(ruby_retried_at(ruby_version, backend).match(s) for s in stamps), stamps
    ruby(f"Resque::Failure.remove(0{queue}); 1", redis_url, backend, ruby_version)
    assert [r["payload"]["args"] for r in records(raw_redis, backend)] == ARGS[1:]


def python_backend(redis_url: str, backend: str) -> tuple[FailureBackend, SyncDriver]:
    settings = RedisSettings.from_url(redis_url)
    return backend_from_name(backend, settings.keys), SyncDriver(settings.client())


@pytest.mark.parametrize("ruby_version", ruby_version_params())
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_python_requeues_and_removes_ruby_failures(
    redis_url: str, raw_redis: redis.Redis, backend: str, ruby_version: str
) -> None:
    ruby(
        f"JSON.parse({json.dumps(json.dumps(ARGS))})"
        ".each { |a| Resque.enqueue_to('compat', Failing, *a) }\n"
        "Resque::Worker.new('compat').work(0); 1",
        redis_url,
        backend,
        ruby_version,
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
    # Python writes Resque 3.x's form under every version: each version's Time.parse and
    # DateTime.parse (resque-web's failed page) read it.
    assert ruby_retried_at("3.0.0", backend).match(left[0]["retried_at"]), left[0]
    # Ruby reads back what Python changed.
    count_call = "count('compat_failed')" if backend == "redis_multi_queue" else "count"
    assert ruby(f"Resque::Failure.{count_call}", redis_url, backend, ruby_version) == 1
    parsed = f"Time.parse(Resque::Failure.all(0, 1{ruby_queue_arg(backend)})['retried_at']).year"
    assert ruby(parsed, redis_url, backend, ruby_version) >= 2024
