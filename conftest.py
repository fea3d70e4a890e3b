"""Fixtures shared by ``tests/`` and ``compat_tests/``: one real redis-server per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from resque_compat.devserver import RedisServerProcess

SMALL_REDIS_ARGS = ["--maxmemory", "64mb", "--maxmemory-policy", "noeviction"]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServerProcess]:
    """A redis-server started for this test session on a free port, persistence off."""
    with RedisServerProcess() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServerProcess) -> Iterator[str]:
    """The URL of the session's server, every database flushed before the test."""
    client = redis.Redis(port=redis_server.port)
    client.flushall()
    client.close()
    yield redis_server.url


@pytest.fixture
def raw_redis(redis_url: str) -> Iterator[redis.Redis]:
    """A plain redis-py client on the test server, for arranging and inspecting keys."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def small_redis() -> Iterator[RedisServerProcess]:
    """A redis-server of its own with ``maxmemory`` and ``noeviction``: ``tests.refusing.fill``
    makes it refuse writes (OOM)."""
    with RedisServerProcess(extra_args=SMALL_REDIS_ARGS) as server:
        yield server
