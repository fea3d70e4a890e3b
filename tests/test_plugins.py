"""The plugins' Python-side behaviour on a real Redis: options, edge cases, asyncio.

What must agree with Ruby byte for byte is tested against the real plugins in
``compat_tests/test_plugins_*.py``; this covers the declarations and branches those
cross-runtime sequences do not reach.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import redis

from resque_compat import ConfigurationError, JobRegistry, JobSpec, RedisSettings, Resque
from resque_compat.aio import AsyncResque
from resque_compat.client import ClientOptions
from resque_compat.plugins.base import ruby_inspect, ruby_join
from resque_compat.plugins.lock_timeout import LockTimeout
from resque_compat.plugins.loner import unique
from resque_compat.plugins.retry import Retry, retry_key
from resque_compat.plugins.status import NotANumberError, StatusJob, StatusPlugin

COUNTER = "resque:" + retry_key("Flaky", ["a"])


def _spec(perform: Callable[..., Any], name: str = "Flaky", queue: str = "q") -> JobSpec:
    return JobRegistry().register_function(name, perform, queue)


def _fails(error: BaseException) -> Callable[..., None]:
    def perform(*_args: Any) -> None:
        raise error

    return perform


def _retried(redis_url: str, error: BaseException, **options: Any) -> JobSpec:
    return Retry(RedisSettings.from_url(redis_url)).retry(**options)(_spec(_fails(error)))


def _attempt(spec: JobSpec) -> BaseException:
    with pytest.raises(BaseException) as caught:
        spec.run(["a"])
    return caught.value


def test_ruby_to_s_of_json_values() -> None:
    assert ruby_join(["a", None, 1, 2.5, 1e20, True, [1, ["b"]], {"k": [None]}]) == (
        'a--1-2.5-1.0e+20-true-1-b-{"k"=>[nil]}'
    )
    assert ruby_inspect('q"\\\n#{x}#y') == '"q\\"\\\\\\n\\#{x}#y"'


def test_retry_exceptions_limit_and_give_up(redis_url: str, raw_redis: redis.Redis) -> None:
    given_up: list[Any] = []
    tried: list[Any] = []
    spec = _retried(
        redis_url,
        TimeoutError("slow"),
        limit=1,
        retry_exceptions=(OSError,),
        give_up=lambda error, *args: given_up.append((str(error), args)),
        try_again=lambda error, *args: tried.append(args),
    )
    _attempt(spec)
    assert raw_redis.get(COUNTER) == b"0" and tried == [("a",)]
    assert raw_redis.llen("resque:queue:q") == 1
    _attempt(spec)
    assert raw_redis.exists(COUNTER) == 0 and given_up == [("slow", ("a",))]
    assert raw_redis.llen("resque:queue:q") == 1


def test_fatal_and_unlisted_exceptions_give_up_at_once(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    for options in ({"fatal_exceptions": (KeyError,)}, {"retry_exceptions": (OSError,)}):
        _attempt(_retried(redis_url, KeyError("k"), limit=5, **options))
        assert raw_redis.exists(COUNTER) == 0
        assert raw_redis.llen("resque:queue:q") == 0


def test_limit_zero_never_retries_and_negative_always_does(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    _attempt(_retried(redis_url, RuntimeError(), limit=0))
    assert raw_redis.llen("resque:queue:q") == 0
    forever = _retried(redis_url, RuntimeError(), limit=-1)
    for _ in range(5):
        _attempt(forever)
    assert raw_redis.get(COUNTER) == b"4" and raw_redis.llen("resque:queue:q") == 5


def test_ignored_exceptions_give_the_attempt_back_and_keys_can_expire(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    spec = _retried(
        redis_url, ValueError(), limit=2, ignore_exceptions=(ValueError,), expire_key_after=600
    )
    for _ in range(3):
        _attempt(spec)
    assert raw_redis.get(COUNTER) == b"-1"
    assert 590 <= raw_redis.ttl(COUNTER) <= 600


def test_retry_declarations_that_cannot_work_are_refused() -> None:
    retries = Retry(RedisSettings())
    with pytest.raises(ConfigurationError, match="not both"):
        retries.retry(retry_exceptions=(OSError,), fatal_exceptions=(KeyError,))


def test_a_loner_lock_refuses_enqueues_until_the_job_takes_its_lock(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    performed: list[Any] = []
    registry = JobRegistry()
    spec = registry.register_function("Solo", lambda *a: performed.append(a), "q")
    LockTimeout(RedisSettings.from_url(redis_url)).locked(timeout=60, loner=True)(spec)
    with Resque.from_url(redis_url, registry=registry) as resque:
        assert resque.enqueue(spec, 1) is True
        assert resque.enqueue(spec, 1) is None
        assert raw_redis.exists("resque:loner:lock:Solo:1") == 1
        assert spec.run([1]) is True and performed == [(1,)]
        assert raw_redis.keys("resque:*lock*") == []
        assert resque.enqueue(spec, 1) is True


def test_unique_jobs_through_asyncio_and_inline(redis_url: str, raw_redis: redis.Redis) -> None:
    registry = JobRegistry()
    performed: list[Any] = []
    spec = unique()(registry.register_function("Once", lambda *a: performed.append(a), "q"))

    async def enqueue_twice() -> list[bool | None]:
        async with AsyncResque.from_url(redis_url, registry=registry) as resque:
            return [await resque.enqueue(spec, "x"), await resque.enqueue(spec, "x")]

    assert asyncio.run(enqueue_twice()) == [True, False]
    assert raw_redis.llen("resque:queue:q") == 1
    inline = Resque(
        RedisSettings.from_url(redis_url), ClientOptions(inline=True, registry=registry)
    )
    with inline:
        assert inline.enqueue(spec, "x") is True
    assert performed == [("x",)]


def test_statuses_expire_and_at_wants_a_positive_total(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    plugin = StatusPlugin(RedisSettings.from_url(redis_url), expire_in=120)
    raw_redis.zadd("resque:_statuses", {"old": 1})
    with Resque.from_url(redis_url) as resque:
        uuid = plugin.create(resque, "Report", {"n": 1})
    assert uuid is not None
    assert 110 <= raw_redis.ttl(f"resque:status:{uuid}") <= 120
    assert raw_redis.zrange("resque:_statuses", 0, -1) == [uuid.encode()]

    def bad_total(status: StatusJob) -> None:
        status.at(1, 0)

    registry = JobRegistry()
    spec = plugin.job("Report", registry=registry)(bad_total)
    with pytest.raises(NotANumberError):
        spec.run([uuid, {"n": 1}])
    failed = plugin.get(uuid)
    assert failed is not None and failed.status == "failed"
    assert (
        failed.message
        == "The task failed because of an error: Called at() with total=0 which is not a number"
    )
