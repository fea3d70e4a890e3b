"""A write whose reply is lost is retried by the worker; the retry must not write twice.

Between the worker and the real redis-server sits a TCP relay that, when armed, lets a
request through and then drops the connection instead of relaying Redis's reply: the write
happened, the worker cannot know it, and reconnects and repeats it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import redis

import compat_tests.jobs  # noqa: F401 - registers the Failing job in this process
from resque_compat import Resque
from resque_compat.connection import RedisSettings
from resque_compat.failure import FailureBackend, RedisBackend, RedisMultiQueueBackend
from resque_compat.store.lifecycle import QueueList, Reserved
from resque_compat.worker import QueueSelector, Worker, WorkerSettings


class ReplyDropper:
    """Relays one connection at a time to Redis; drops the reply to the next ``arm`` requests
    that mention ``marker``."""

    def __init__(self, upstream_port: int, marker: bytes) -> None:
        self.upstream_port = upstream_port
        self.marker = marker
        self.armed = 0
        self.dropped = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
            while request := client.recv(65536):
                upstream.sendall(request)
                reply = upstream.recv(65536)
                if self.armed and self.marker in request:
                    self.armed -= 1
                    self.dropped += 1
                    return
                client.sendall(reply)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def dropper(redis_url: str) -> Iterator[ReplyDropper]:
    relay = ReplyDropper(int(redis_url.rsplit(":", 1)[1].split("/")[0]), b"failed")
    yield relay
    relay.close()


BACKENDS = [
    pytest.param(RedisBackend(), "resque:failed", id="redis"),
    pytest.param(RedisMultiQueueBackend(), "resque:compat_failed", id="multi-queue"),
]


@pytest.mark.parametrize(("backend", "failure_list"), BACKENDS)
def test_a_failure_whose_replies_are_lost_is_recorded_and_counted_once(
    redis_url: str,
    raw_redis: redis.Redis,
    dropper: ReplyDropper,
    backend: FailureBackend,
    failure_list: str,
) -> None:
    Resque.from_url(redis_url).enqueue_to("compat", "Failing", 1)
    settings = WorkerSettings(QueueSelector.parse("compat"), fork_per_job=False)
    redis_settings = RedisSettings.from_url(f"redis://127.0.0.1:{dropper.port}/0")
    worker = Worker(settings, redis_settings, failures=backend)
    try:
        job = worker.driver.run(worker.ops.reserve(QueueList(("compat",)), "2026-12-06T00:00:00Z"))
        assert isinstance(job, Reserved)
        dropper.armed = 2  # the call that records the failure, counts and finishes; twice
        assert worker.process(job) is None
    finally:
        worker.close()
    assert dropper.dropped == 2
    assert raw_redis.llen(failure_list) == 1
    assert raw_redis.get("resque:stat:failed") == b"1"
    assert raw_redis.get(f"resque:stat:failed:{worker.id}") == b"1"
    assert raw_redis.get("resque:stat:processed") == b"1"
