"""A producer on a Redis that refuses writes gets one clear exception, and nothing is enqueued.

``WritesRefused`` (``OutOfMemory`` at ``maxmemory``, ``ReadOnlyReplica`` after a failover)
is a resque-compat error and still redis-py's matching one, so code written against
redis-py keeps catching it. Its message gives Redis's words (code included), what the call
wrote, and what to do.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import redis

from resque_compat import Resque
from resque_compat.aio import AsyncResque
from resque_compat.devserver import RedisServerProcess
from resque_compat.errors import (
    CannotPersist,
    OutOfMemory,
    ReadOnlyReplica,
    ResqueCompatError,
    WritesRefused,
)
from resque_compat.store import SyncDriver
from resque_compat.store.base import Operation, batch
from tests.refusing import (
    break_saving,
    fill,
    free,
    promote,
    repair_saving,
    replica_pair,
    saving_args,
)

OOM = "Redis refuses writes: OOM command not allowed when used memory > 'maxmemory'"
READONLY = "Redis refuses writes: READONLY You can't write against a read only replica"


def nothing_enqueued(client: redis.Redis) -> bool:
    return client.keys("resque:*") == []


def test_enqueue_on_a_full_redis_raises_out_of_memory_and_writes_nothing(
    small_redis: RedisServerProcess,
) -> None:
    client = redis.Redis(port=small_redis.port)
    ballast = fill(client)
    with Resque.from_url(small_redis.url) as producer:
        with pytest.raises(OutOfMemory) as refused:
            producer.enqueue_to("jobs", "Tick", 1)
        assert str(refused.value).startswith(OOM)
        assert "(nothing was written; retry when it has room)" in str(refused.value)
        assert isinstance(refused.value, redis.exceptions.OutOfMemoryError)
        assert isinstance(refused.value, ResqueCompatError)
        with pytest.raises(redis.ResponseError, match="nothing was written"):
            producer.enqueue_many("jobs", "Tick", [[2], [3]])
        with pytest.raises(WritesRefused, match="nothing was written"):
            producer.enqueue_in_with_queue("jobs", 60, "Tick", 4)
        assert nothing_enqueued(client)
        free(client, ballast)
        producer.enqueue_to("jobs", "Tick", 5)
    assert client.lrange("resque:queue:jobs", 0, -1) == [b'{"class":"Tick","args":[5]}']
    client.close()


def test_the_asyncio_producer_raises_the_same(small_redis: RedisServerProcess) -> None:
    client = redis.Redis(port=small_redis.port)
    fill(client)

    async def produce() -> list[str]:
        producer = AsyncResque.from_url(small_redis.url)
        messages = []
        for enqueue in (
            lambda: producer.enqueue_to("jobs", "Tick", 1),
            lambda: producer.enqueue_many("jobs", "Tick", [[2], [3]]),
        ):
            with pytest.raises(OutOfMemory) as refused:
                await enqueue()
            messages.append(str(refused.value))
        await producer.close()
        return messages

    for message in asyncio.run(produce()):
        assert message.startswith(OOM) and "nothing was written" in message
    assert nothing_enqueued(client)
    client.close()


def test_enqueue_on_a_replica_raises_read_only_replica_until_promoted() -> None:
    with replica_pair() as (_primary, replica):
        client = redis.Redis(port=replica.port)
        with Resque.from_url(replica.url) as producer:
            with pytest.raises(ReadOnlyReplica) as refused:
                producer.enqueue_to("jobs", "Tick", 1)
            assert str(refused.value).startswith(READONLY)
            assert "nothing was written; retry when it is promoted" in str(refused.value)
            assert isinstance(refused.value, redis.exceptions.ReadOnlyError)
            assert nothing_enqueued(client)
            promote(replica)
            producer.enqueue_to("jobs", "Tick", 2)
        assert client.llen("resque:queue:jobs") == 1
        client.close()


def test_enqueue_on_a_redis_that_cannot_save_raises_cannot_persist(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with RedisServerProcess(extra_args=saving_args(data)) as server:
        client = redis.Redis(port=server.port)
        break_saving(client, data)
        with Resque.from_url(server.url) as producer:
            with pytest.raises(CannotPersist) as refused:
                producer.enqueue_to("jobs", "Tick", 1)
            assert str(refused.value).startswith("Redis refuses writes: MISCONF ")
            assert "(nothing was written; retry when Redis can save again)" in str(refused.value)
            assert nothing_enqueued(client)
            repair_saving(client, data)
            producer.enqueue_to("jobs", "Tick", 2)
        assert client.llen("resque:queue:jobs") == 1
        client.close()


def test_a_refusal_names_the_writes_that_went_through(small_redis: RedisServerProcess) -> None:
    """A pipeline is not a transaction: a DEL (which frees memory) goes through on a full
    Redis beside a refused SET, and the error says so; so does an earlier round trip."""
    client = redis.Redis(port=small_redis.port)
    fill(client)
    driver = SyncDriver(client)
    with pytest.raises(OutOfMemory, match=r"\(DEL went through; retry when it has room\)"):
        driver.run(_one_round_trip())
    with pytest.raises(OutOfMemory, match=r"\(1 earlier round trip\(s\) with writes went"):
        driver.run(_two_round_trips())
    client.close()


def _one_round_trip() -> Operation[list[Any]]:
    replies: list[Any] = yield batch(
        ("DEL", "ballast:0"), ("SET", "probe", "x"), ("PUBLISH", "c", "x")
    )
    return replies


def _two_round_trips() -> Operation[Any]:
    yield batch(("LLEN", "nothing"), ("DEL", "ballast:1"))
    return (yield batch(("SET", "probe", "x")))
