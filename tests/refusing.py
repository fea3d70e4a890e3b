"""A real Redis that refuses writes, for the refused-write tests of every component.

- :func:`fill` puts a server started with ``maxmemory`` and ``noeviction`` (the
  ``small_redis`` fixture of ``conftest.py``) over its limit, so that it answers ``OOM``;
  :func:`free` gives the room back.
- :func:`break_saving` makes a server answer ``MISCONF`` (a failed save);
  :func:`repair_saving` ends that.
- :func:`replica_pair` starts a primary and a replica of it; ``promote`` is the failover
  (``REPLICAOF NO ONE``), after which the replica accepts writes.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from resque_compat.devserver import RedisServerProcess
from tests.workerproc import wait_for

BALLAST_KEYS = 60


def fill(client: redis.Redis) -> int:
    """Put Redis well over its ``maxmemory``: 3 MB of ballast, then the limit lowered to
    1 MB above what it used before, so that it refuses writes until the ballast goes (right
    at the limit, memory wobbles and Redis accepts a write now and then)."""
    before = int(client.info("memory")["used_memory"])
    for number in range(BALLAST_KEYS):
        client.set(f"ballast:{number}", b"x" * 50_000)
    client.config_set("maxmemory", before + 1_000_000)
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        client.set("probe", b"x")
    return BALLAST_KEYS


def free(client: redis.Redis, ballast: int = BALLAST_KEYS) -> None:
    """Remove what :func:`fill` added: Redis accepts writes again."""
    client.delete(*(f"ballast:{number}" for number in range(ballast)))


@contextmanager
def replica_pair() -> Iterator[tuple[RedisServerProcess, RedisServerProcess]]:
    """A primary and its replica, in sync; both stopped at the end, whatever happens."""
    with (
        RedisServerProcess() as primary,
        RedisServerProcess(extra_args=["--replicaof", "127.0.0.1", "0"]) as replica,
    ):
        client = redis.Redis(port=replica.port)
        try:
            client.execute_command("REPLICAOF", "127.0.0.1", primary.port)
            wait_for(
                lambda: client.info("replication")["master_link_status"] == "up",
                what="the replica in sync",
            )
        finally:
            client.close()
        yield primary, replica


def promote(replica: RedisServerProcess) -> None:
    """The failover: the replica becomes a master and accepts writes."""
    client = redis.Redis(port=replica.port)
    try:
        client.execute_command("REPLICAOF", "NO", "ONE")
    finally:
        client.close()


def saving_args(directory: Path) -> list[str]:
    """A server that saves into ``directory`` and lets :func:`repair_saving` point it at a
    new one (``dir`` is a protected setting); Redis stops writes after a failed save only
    when it has save points."""
    return ["--dir", str(directory), "--save", "3600 1", "--enable-protected-configs", "yes"]


def break_saving(client: redis.Redis, directory: Path) -> None:
    """Make Redis refuse writes with ``MISCONF``: its data directory (``--dir directory``)
    removed, a BGSAVE fails, and ``stop-writes-on-bgsave-error`` (on by default) applies."""
    shutil.rmtree(directory)
    client.bgsave()
    wait_for(
        lambda: client.info("persistence")["rdb_last_bgsave_status"] == "err",
        what="the failed save",
    )


def repair_saving(client: redis.Redis, directory: Path) -> None:
    """The directory back (Redis's working directory is the removed one: it is told again)
    and one good BGSAVE: Redis accepts writes again."""
    directory.mkdir()
    client.config_set("dir", str(directory))
    wait_for(lambda: not client.info("persistence")["rdb_bgsave_in_progress"], what="idle")
    client.bgsave()
    wait_for(
        lambda: client.info("persistence")["rdb_last_bgsave_status"] == "ok",
        what="a good save",
    )
