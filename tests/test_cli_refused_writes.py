"""Operator commands on a Redis that refuses writes (OOM at ``maxmemory``, a READONLY replica).

A one-shot command that writes ends with one line on stderr (Redis's words, what was
written, what to do) and status 1, no traceback, and leaves the keys as they were; one that
only reads works as usual, and so do the long-running views (``top``, the metrics server),
which only read. Deleting is not refused (it frees memory).
"""

from __future__ import annotations

import pytest
import redis

from resque_compat import Resque
from resque_compat.cli.metrics import FleetCollector
from resque_compat.connection import RedisSettings
from resque_compat.devserver import RedisServerProcess
from resque_compat.failure import RedisBackend
from tests.refusing import fill, free, promote, replica_pair
from tests.test_cli import KEYS, refused, run_cli, save_failures

OOM = "Redis refuses writes: OOM command not allowed when used memory > 'maxmemory'"
READONLY = "Redis refuses writes: READONLY You can't write against a read only replica"
WRITES = [("enqueue", "jobs", "Tick", "--args", "[1]"), ("pause",), ("failed", "retry", "0")]


def resque_keys(client: redis.Redis) -> dict[object, object]:
    """Every resque key with its value (serialised by DUMP), to show that a refused command
    changed nothing."""
    return {key: client.dump(key) for key in sorted(client.keys("resque:*"))}


def arranged(url: str) -> None:
    with Resque.from_url(url) as producer:
        producer.enqueue_to("jobs", "Tick", 0)
        producer.enqueue_in_with_queue("jobs", 600, "Tick", 9)
    save_failures(url, RedisBackend(KEYS), ("jobs", "Tick", [7], "boom"))


def one_line(done_err: str) -> None:
    assert done_err.count("\n") == 1, done_err


@pytest.mark.parametrize("command", WRITES, ids=lambda command: " ".join(command))
def test_a_write_on_a_full_redis_is_one_line_and_exit_1(
    small_redis: RedisServerProcess, command: tuple[str, ...]
) -> None:
    client = redis.Redis(port=small_redis.port)
    arranged(small_redis.url)
    ballast = fill(client)
    before = resque_keys(client)
    done = run_cli(small_redis.url, *command)
    refused(done, 1, OOM, "retry when it has room")
    one_line(done.err)
    assert resque_keys(client) == before
    free(client, ballast)
    assert run_cli(small_redis.url, *command).code == 0
    client.close()


def test_reads_and_the_long_running_views_carry_on_while_redis_is_full(
    small_redis: RedisServerProcess,
) -> None:
    client = redis.Redis(port=small_redis.port)
    arranged(small_redis.url)
    fill(client)
    assert run_cli(small_redis.url, "info", "--json").json()["pending"] == 1
    top = run_cli(small_redis.url, "top", "--once")
    assert top.code == 0 and "jobs" in top.out, top
    assert _up(small_redis.url)
    # Deleting frees memory: Redis accepts it, so an operator can make room.
    assert run_cli(small_redis.url, "remove-queue", "jobs", "--yes").code == 0
    client.close()


def test_a_write_on_a_replica_is_one_line_until_promoted() -> None:
    with replica_pair() as (_primary, replica):
        done = run_cli(replica.url, *WRITES[0])
        refused(done, 1, READONLY, "retry when it is promoted, or connect to the master")
        one_line(done.err)
        assert run_cli(replica.url, "top", "--once").code == 0
        assert _up(replica.url)
        promote(replica)
        assert run_cli(replica.url, *WRITES[0]).code == 0


def _up(url: str) -> bool:
    """What the metrics server's ``resque_up`` says after one scrape."""
    collector = FleetCollector(RedisSettings.from_url(url))
    try:
        metrics = {family.name: family for family in collector.collect()}
    finally:
        collector.close()
    return bool(metrics["resque_up"].samples[0].value)
