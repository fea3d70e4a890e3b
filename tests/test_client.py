"""The producer API beyond the recordings: asyncio, inline mode, batches, settings."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis

from compat_tests.reference import CommandCapture
from resque_compat import (
    ConfigurationError,
    EncodeError,
    JobRegistry,
    NoQueueError,
    RedisSettings,
    Resque,
    UnknownJobError,
)
from resque_compat.aio import AsyncResque
from resque_compat.store.queues import PUSH_MANY_CHUNK


def test_asyncio_producer_sends_what_the_blocking_one_sends(redis_url: str) -> None:
    """One implementation of each operation: the asyncio client's traffic is the same."""

    def blocking() -> list[Any]:
        with Resque.from_url(redis_url) as resque:
            resque.enqueue_to("file_serve", "Archive", "a.pdf", {"size": 42}, 1.0e20)
            resque.enqueue_many("file_serve", "Archive", [[1], [2]])
            return [resque.size("file_serve"), resque.peek("file_serve", 0, 3), resque.queues()]

    async def asynchronous() -> list[Any]:
        async with AsyncResque.from_url(redis_url) as resque:
            await resque.enqueue_to("file_serve", "Archive", "a.pdf", {"size": 42}, 1.0e20)
            await resque.enqueue_many("file_serve", "Archive", [[1], [2]])
            return [
                await resque.size("file_serve"),
                await resque.peek("file_serve", 0, 3),
                await resque.queues(),
            ]

    captured = []
    for run in (blocking, lambda: asyncio.run(asynchronous())):
        redis.Redis.from_url(redis_url).flushall()
        with CommandCapture(redis_url) as capture:
            results = run()
        captured.append((capture.commands, results))
    (sync_commands, sync_results), (async_commands, async_results) = captured
    assert async_commands == sync_commands
    assert async_results == sync_results
    assert sync_commands[1] == [
        "rpush",
        "resque:queue:file_serve",
        '{"class":"Archive","args":["a.pdf",{"size":42},1.0e+20]}',
    ]


def test_enqueue_many_is_one_round_trip_in_order(redis_url: str, raw_redis: redis.Redis) -> None:
    count = PUSH_MANY_CHUNK * 2 + 5
    with Resque.from_url(redis_url) as resque, CommandCapture(redis_url) as capture:
        assert resque.enqueue_many("bulk", "Job", ([i] for i in range(count))) == count
    assert [c[0] for c in capture.commands] == ["sadd", "rpush", "rpush", "rpush"]
    stored = raw_redis.lrange("resque:queue:bulk", 0, -1)
    assert stored[0] == b'{"class":"Job","args":[0]}'
    assert stored[-1] == f'{{"class":"Job","args":[{count - 1}]}}'.encode()
    assert len(stored) == count


def test_a_bad_value_refuses_the_whole_batch(redis_url: str, raw_redis: redis.Redis) -> None:
    with Resque.from_url(redis_url) as resque, pytest.raises(EncodeError, match=r"args\[0\]"):
        resque.enqueue_many("bulk", "Job", [[1], [float("nan")], [3]])
    assert raw_redis.keys("*") == []


def test_a_refused_batch_names_the_position(redis_url: str) -> None:
    with Resque.from_url(redis_url) as resque, pytest.raises(EncodeError) as refused:
        resque.enqueue_many("bulk", "Job", [[1], [float("nan")], [3]])
    assert str(refused.value).startswith("batch[1]: args[0]: NaN is not allowed in JSON")


def test_inline_mode_runs_the_job_with_wire_arguments(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    registry = JobRegistry()
    seen: list[Any] = []

    @registry.job("Archive", queue="file_serve")
    def archive(*args: Any) -> None:
        seen.append(args)

    with Resque.from_url(redis_url, registry=registry, inline=True) as resque:
        assert resque.enqueue(archive, ("a", 1), {"k": 2.0}) is True
        with pytest.raises(UnknownJobError):
            resque.enqueue_to("file_serve", "NotRegistered", 1)
    assert seen == [(["a", 1], {"k": 2.0})]  # a tuple arrives as a list, as from Redis
    assert raw_redis.keys("*") == []


def test_enqueue_needs_a_queue(redis_url: str) -> None:
    with Resque.from_url(redis_url) as resque:
        with pytest.raises(NoQueueError):
            resque.enqueue("Unregistered", 1)
        with pytest.raises(NoQueueError):
            resque.enqueue_to("", "Archive", 1)


def test_class_form_job_and_its_hooks(redis_url: str, raw_redis: redis.Redis) -> None:
    registry = JobRegistry()
    calls: list[str] = []

    @registry.job("Reports::Monthly")
    class Monthly:
        queue = "reports"

        @staticmethod
        def perform(year: int, month: int) -> None:
            calls.append(f"perform {year}-{month}")

        @staticmethod
        def before_enqueue_a(year: int, month: int) -> bool:
            calls.append("before_enqueue_a")
            return month != 13

        @staticmethod
        def after_enqueue_b(year: int, month: int) -> None:
            calls.append("after_enqueue_b")

    with Resque.from_url(redis_url, registry=registry) as resque:
        assert resque.enqueue("Reports::Monthly", 2026, 11) is True
        assert resque.enqueue("Reports::Monthly", 2026, 13) is None
    assert raw_redis.lrange("resque:queue:reports", 0, -1) == [
        b'{"class":"Reports::Monthly","args":[2026,11]}'
    ]
    assert calls == ["before_enqueue_a", "after_enqueue_b", "before_enqueue_a"]


@pytest.mark.parametrize(
    ("location", "namespace", "url", "expected_namespace"),
    [
        ("localhost:6380", None, "redis://localhost:6380/0", "resque"),
        ("localhost:6380:2", None, "redis://localhost:6380/2", "resque"),
        ("localhost:6380/myapp", None, "redis://localhost:6380/0", "myapp"),
        ("localhost:6380:3/myapp", "override", "redis://localhost:6380/3", "override"),
        (
            "redis://:secret@example:6379/4",
            "resque:GitHub",
            "redis://:secret@example:6379/4",
            "resque:GitHub",
        ),
        ("rediss://user:pw@example:6380/0", None, "rediss://user:pw@example:6380/0", "resque"),
        ("unix:///run/redis.sock?db=1", None, "unix:///run/redis.sock?db=1", "resque"),
    ],
)
def test_connection_forms(
    location: str, namespace: str | None, url: str, expected_namespace: str
) -> None:
    settings = RedisSettings.from_url(location, namespace)
    assert (settings.url, settings.namespace) == (url, expected_namespace)
    assert "secret" not in repr(settings) and "pw@" not in repr(settings)


@pytest.mark.parametrize("location", ["http://example", "::::", "host:port"])
def test_unusable_locations_are_refused(location: str) -> None:
    with pytest.raises(ConfigurationError):
        RedisSettings.from_url(location)
