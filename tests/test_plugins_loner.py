"""resque-loner's removal hooks on the Python side: the SCAN loop over many markers, and the
asyncio client sharing the same operations (``compat_tests/test_plugins_loner_removal.py``
checks the keys against the real plugin)."""

from __future__ import annotations

import asyncio

import redis

from resque_compat import JobRegistry, RedisSettings
from resque_compat.aio import AsyncResque
from resque_compat.client import ClientOptions
from resque_compat.keys import Keys
from resque_compat.plugins.loner import loner_key
from resque_compat.store import SyncDriver
from resque_compat.store.plugins import SCAN_COUNT, LonerOps


def test_clear_queue_scans_past_one_batch(raw_redis: redis.Redis) -> None:
    markers = {f"resque:loners:queue:big:job:{n:05d}": 1 for n in range(SCAN_COUNT * 2 + 7)}
    raw_redis.mset({**markers, "resque:loners:queue:bigger:job:1": 1})
    assert SyncDriver(raw_redis).run(LonerOps(Keys()).clear_queue("big")) == len(markers)
    assert raw_redis.keys("resque:loners:*") == [b"resque:loners:queue:bigger:job:1"]


def test_asyncio_removals_clear_markers_when_told_loner_runs(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    registry = JobRegistry()
    registry.register_function("Uniq", lambda *args: None, "q")
    for args in ([1], [2], [3]):
        raw_redis.set(loner_key(Keys(), "q", "Uniq", args), 1)
    raw_redis.set(loner_key(Keys(), "p", "Uniq", [1]), 1)

    async def remove() -> list[int | None]:
        options = ClientOptions(registry=registry, loner=True)
        async with AsyncResque(RedisSettings.from_url(redis_url), options) as resque:
            await resque.push("q", {"class": "Uniq", "args": [1]})
            removed = [await resque.dequeue("Uniq", 1), await resque.dequeue("Uniq", 2)]
            await resque.remove_queue("p")
            return removed

    assert asyncio.run(remove()) == [1, 0]
    assert sorted(raw_redis.keys("resque:loners:*")) == [
        loner_key(Keys(), "q", "Uniq", [3]).encode()
    ]
