"""Delayed jobs from Python: Ruby's time rules and hooks, the batch, removal, asyncio, and the
mover's handling of payloads that are not of the usual shape."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
import redis

from resque_compat import JobRegistry, Resque, codec
from resque_compat.aio import AsyncResque
from resque_compat.client import ClientOptions
from resque_compat.connection import RedisSettings
from resque_compat.delayed import to_timestamp
from resque_compat.keys import Keys
from resque_compat.scheduler.mover import DelayedMover
from resque_compat.store import SyncDriver
from resque_compat.store.mover import MoverOps


def _registry(calls: list[str] | None = None, allow: bool = True) -> JobRegistry:
    registry = JobRegistry()
    spec = registry.register_function("Archive", lambda *args: None, queue="archives")
    sink = [] if calls is None else calls

    def recorder(kind: str) -> Callable[..., bool]:
        def hook(*args: Any) -> bool:
            sink.append(kind)
            return allow

        return hook

    for kind in ("before_schedule", "after_schedule", "before_enqueue", "after_enqueue"):
        spec.hook(kind)(recorder(kind))
    return registry


def _client(url: str, registry: JobRegistry | None = None, **options: Any) -> Resque:
    opts = ClientOptions(registry=registry or _registry(), **options)
    return Resque(RedisSettings.from_url(url), opts)


def test_times_are_truncated_to_whole_seconds_like_ruby() -> None:
    assert to_timestamp(1_800_000_000.999) == 1_800_000_000
    assert to_timestamp(datetime(2027, 1, 1, tzinfo=timezone.utc)) == 1_798_761_600
    with pytest.raises(TypeError):
        to_timestamp("tomorrow")  # type: ignore[arg-type]


def test_enqueue_in_delays_to_the_truncated_second(redis_url: str, raw_redis: redis.Redis) -> None:
    resque = _client(redis_url)
    before = int(time.time() + 100)
    resque.enqueue_in(100.7, "Archive", "a.txt", 3)
    after = int(time.time() + 100.7)
    [timestamp] = resque.delayed_queue_peek(0, 10)
    assert before <= timestamp <= after
    assert raw_redis.lrange(f"resque:delayed:{timestamp}", 0, -1) == [
        b'{"class":"Archive","args":["a.txt",3],"queue":"archives"}'
    ]
    assert resque.delayed_timestamp_size(timestamp) == 1
    assert resque.next_delayed_timestamp() is None  # not due yet
    assert resque.next_delayed_timestamp(timestamp) == timestamp
    with pytest.raises(TypeError):
        resque.enqueue_in("soon", "Archive")  # type: ignore[arg-type]


def test_a_time_not_after_this_second_enqueues_at_once_with_every_hook(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    calls: list[str] = []
    resque = _client(redis_url, _registry(calls))
    assert resque.enqueue_at(time.time(), "Archive", 1)
    assert raw_redis.lrange("resque:queue:archives", 0, -1) == [b'{"class":"Archive","args":[1]}']
    assert calls == ["before_schedule", "before_enqueue", "after_enqueue", "after_schedule"]
    assert resque.delayed_queue_schedule_size() == 0


def test_a_before_schedule_hook_returning_false_schedules_nothing(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    calls: list[str] = []
    resque = _client(redis_url, _registry(calls, allow=False))
    assert resque.enqueue_in(60, "Archive", 1) is None
    assert resque.enqueue_at_many("Archive", [(time.time() + 60, [2])]) == 0
    assert raw_redis.keys("*") == []
    assert calls == ["before_schedule", "before_schedule"]


def test_the_batch_leaves_what_one_by_one_leaves(redis_url: str, raw_redis: redis.Redis) -> None:
    resque = _client(redis_url)
    now = int(time.time())
    entries = [(now + 50 + i % 3, [i, {"n": i}]) for i in range(20)] + [(now - 5, ["due"])]
    for when, args in entries:
        resque.enqueue_at(when, "Archive", *args)
    one_by_one = {key: raw_redis.dump(key) for key in raw_redis.keys("*")}
    raw_redis.flushall()
    assert resque.enqueue_at_many("Archive", entries) == 21
    assert {key: raw_redis.dump(key) for key in raw_redis.keys("*")} == one_by_one


def test_remove_find_and_reset(redis_url: str, raw_redis: redis.Redis) -> None:
    resque = _client(redis_url)
    at = int(time.time()) + 500
    resque.enqueue_at(at, "Archive", 1)
    resque.enqueue_at(at + 1, "Archive", 1)
    resque.enqueue_at_with_queue("elsewhere", at, "Archive", 1)
    resque.enqueue_at(at + 2, "Archive", 2)
    assert resque.find_delayed_selection(lambda args: args == [2]) == [
        b'{"class":"Archive","args":[2],"queue":"archives"}'
    ]
    assert resque.find_delayed_selection(lambda args: True, "Other") == []
    assert resque.remove_delayed("Archive", 1) == 2
    assert resque.remove_delayed("Archive", 1, queue="elsewhere") == 1
    assert resque.delayed_queue_schedule_size() == 3  # emptied timestamps wait for a scheduler
    assert resque.remove_delayed_job_from_timestamp(at + 2, "Archive", 2) == 1
    assert resque.delayed_queue_schedule_size() == 2
    resque.enqueue_at(at + 9, "Archive", 9)
    resque.reset_delayed_queue()
    assert raw_redis.keys("*") == []


def test_inline_mode_performs_at_once(redis_url: str, raw_redis: redis.Redis) -> None:
    performed: list[Any] = []
    registry = JobRegistry()
    registry.register_function("Now", lambda *args: performed.append(args), queue="q")
    resque = _client(redis_url, registry, inline=True)
    resque.enqueue_in(3600, "Now", 1)
    assert performed == [(1,)]
    assert raw_redis.keys("*") == []
    assert resque.remove_delayed("Now", 1) == 0


def test_asyncio_client_schedules_the_same_keys(redis_url: str, raw_redis: redis.Redis) -> None:
    at = int(time.time()) + 100

    async def schedule() -> tuple[int, list[Any]]:
        options = ClientOptions(registry=_registry())
        async with AsyncResque(RedisSettings.from_url(redis_url), options) as resque:
            await resque.enqueue_at(at, "Archive", "x")
            await resque.enqueue_at_many("Archive", [(at + 1, ["y"])])
            return await resque.delayed_queue_schedule_size(), await resque.delayed_timestamp_peek(
                at
            )

    size, peek = asyncio.run(schedule())
    assert size == 2
    assert peek == [{"class": "Archive", "args": ["x"], "queue": "archives"}]
    assert raw_redis.smembers(
        'resque:timestamps:{"class":"Archive","args":["y"],"queue":"archives"}'
    ) == {f"delayed:{at + 1}".encode()}


def _mover(url: str, registry: JobRegistry) -> DelayedMover:
    client = redis.Redis.from_url(url)
    return DelayedMover(SyncDriver(client), MoverOps(Keys()), registry, budget=2)


@pytest.mark.parametrize(
    ("stored", "queue", "enqueued"),
    [
        (
            b'{"class":"Archive","args":{"k":1},"queue":"q"}',
            "q",
            b'{"class":"Archive","args":[{"k":1}]}',
        ),
        (b'{"class":"Archive","args":[1]}', "archives", b'{"class":"Archive","args":[1]}'),
        (b'{"queue":"q","class":"Archive","args":null}', "q", b'{"class":"Archive","args":[]}'),
        (
            b'{"class":"X","args":[],"queue":"q","custom_job_class":"Custom"}',
            "q",
            b'{"class":"Custom","args":[]}',
        ),
    ],
    ids=["hash-args", "no-queue", "key-order", "custom-job-class"],
)
def test_the_mover_enqueues_unusual_payloads_as_ruby_does(
    redis_url: str, raw_redis: redis.Redis, stored: bytes, queue: str, enqueued: bytes
) -> None:
    at = int(time.time()) - 1
    usual = b'{"class":"Archive","args":[0],"queue":"archives"}'
    for payload in (usual, stored, usual, usual):
        raw_redis.rpush(f"resque:delayed:{at}", payload)
        raw_redis.sadd(b"resque:timestamps:" + payload, f"delayed:{at}")
    raw_redis.zadd("resque:delayed_queue_schedule", {str(at): at})
    assert _mover(redis_url, _registry()).move_due() == 4
    assert enqueued in raw_redis.lrange(f"resque:queue:{queue}", 0, -1)
    assert raw_redis.llen("resque:queue:archives") == 3 + (queue == "archives")
    assert sorted(raw_redis.keys("*")) == sorted(
        {b"resque:queues", b"resque:queue:archives", f"resque:queue:{queue}".encode()}
    )


def test_the_mover_drops_what_cannot_be_enqueued_and_says_so(
    redis_url: str, raw_redis: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    at = int(time.time()) - 1
    for payload in (b"not json", b'{"class":"Unknown","args":[]}'):
        raw_redis.rpush(f"resque:delayed:{at}", payload)
    raw_redis.zadd("resque:delayed_queue_schedule", {str(at): at})
    with caplog.at_level(logging.ERROR):
        assert _mover(redis_url, JobRegistry()).move_due() == 0
    assert raw_redis.keys("*") == []
    assert "not json" in caplog.text and "Unknown" in caplog.text


def test_the_mover_runs_the_hooks_of_a_registered_class_as_ruby_does(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """``enqueue_from_config`` for a class the scheduler can load: ``before_schedule`` and
    ``before_enqueue`` can drop the job (Ruby's batch has trimmed it already), the others run
    around the move. Jobs of other classes go on moving inside the script, in order."""
    calls: list[tuple[str, str]] = []
    registry = JobRegistry()
    spec = registry.register_function("Hooked", lambda *args: None, queue="hooked")

    def hook(kind: str, refuses: str = "") -> None:
        def run(word: str) -> bool:
            calls.append((kind, word))
            return word != refuses

        spec.hook(kind)(run)

    hook("before_schedule", refuses="no-schedule")
    hook("before_delayed_enqueue")
    hook("before_enqueue", refuses="no-enqueue")
    hook("after_enqueue")
    hook("after_schedule")
    at = int(time.time()) - 1
    payloads = [
        codec.encode({"class": cls, "args": [word], "queue": "hooked" if cls == "Hooked" else "p"})
        for cls, word in [
            ("Plain", "a"),
            ("Hooked", "ok"),
            ("Hooked", "no-schedule"),
            ("Plain", "b"),
            ("Hooked", "no-enqueue"),
        ]
    ]
    for payload in payloads:
        raw_redis.rpush(f"resque:delayed:{at}", payload)
        raw_redis.sadd(b"resque:timestamps:" + payload, f"delayed:{at}")
    raw_redis.zadd("resque:delayed_queue_schedule", {str(at): at})
    assert _mover(redis_url, registry).move_due() == 3
    assert raw_redis.lrange("resque:queue:hooked", 0, -1) == [b'{"class":"Hooked","args":["ok"]}']
    assert raw_redis.lrange("resque:queue:p", 0, -1) == [
        b'{"class":"Plain","args":["a"]}',
        b'{"class":"Plain","args":["b"]}',
    ]
    assert sorted(raw_redis.keys("*")) == [
        b"resque:queue:hooked",
        b"resque:queue:p",
        b"resque:queues",
    ]
    assert calls == [
        ("before_schedule", "ok"),
        ("before_delayed_enqueue", "ok"),
        ("before_enqueue", "ok"),
        ("after_enqueue", "ok"),
        ("after_schedule", "ok"),
        ("before_schedule", "no-schedule"),
        ("before_schedule", "no-enqueue"),
        ("before_delayed_enqueue", "no-enqueue"),
        ("before_enqueue", "no-enqueue"),
        ("after_schedule", "no-enqueue"),
    ]
