"""Waiting for work while idle: blocked on Redis, woken by a push or by a signal.

For each queue (in priority order, up to ``MAX_WATCHED``) a dedicated connection sends
``BLMOVE queue:q queue:q LEFT LEFT <timeout>``, which returns as soon as the queue has an
element and leaves it where it was (head back onto the head of the same list). The worker
``select``s on those sockets and on the signal self-pipe; whichever is first wakes it, and
connections still blocked are dropped (an unanswered BLMOVE of a list onto itself changes
nothing, so dropping it is safe). The job itself is then taken by the atomic reserve
script, so no job is ever held outside Redis.

An idle worker thus sends one command per watched queue per wait (a wait lasts up to the
worker's ``wait_timeout`` or the next heartbeat) and picks up a job within a round trip.

Redis before 6.2 has no ``BLMOVE``, and no other blocking command leaves a list as it was
(``BRPOPLPUSH q q`` rotates it; ``BLPOP`` takes the job out of Redis). There the waiter
polls: it sleeps at most ``POLL_SECONDS`` (woken early by a signal) and the worker reserves
again, as Ruby's worker does every INTERVAL. :meth:`QueueWaiter.detect` finds out at start
(``COMMAND INFO blmove``); an "unknown command" reply later switches to polling too.
"""

from __future__ import annotations

import logging
import select
from collections.abc import Sequence
from typing import Any

import redis

from ..keys import Keys
from .base import Operation, SyncDriver, one

MAX_WATCHED = 16
POLL_SECONDS = 1.0
log = logging.getLogger("resque_compat.worker")


def has_command(name: str) -> Operation[bool]:
    """Whether the server knows ``name`` (a renamed or disabled command counts as absent).

    Sent as bytes so that redis-py leaves the reply alone: its ``COMMAND`` parser fails on
    the nil an unknown command gets.
    """
    reply = yield one((b"COMMAND", b"INFO", name))
    return bool(reply) and reply[0] is not None


class QueueWaiter:
    """Blocks until a watched queue has a job, a signal arrives, or the timeout passes."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.pool = client.connection_pool
        self.keys = keys
        self.blocking = True
        self._connections: dict[str, Any] = {}  # redis-py connections

    def detect(self, driver: SyncDriver) -> None:
        """Set the mode from what the server supports; says so once when it must poll. A
        server that refuses ``COMMAND`` (an ACL, say) is taken to have BLMOVE: an "unknown
        command" reply to it switches to polling then."""
        try:
            found = driver.run(has_command("BLMOVE"))
        except redis.ResponseError:
            found = True
        if not found:
            self._fall_back()

    def _fall_back(self) -> None:
        if self.blocking:
            self.blocking = False
            log.warning(
                "Redis has no BLMOVE (it needs 6.2 or later): idle, this worker polls its "
                "queues every %gs instead of blocking",
                POLL_SECONDS,
            )
            self.close()

    def wait(self, queues: Sequence[str], timeout: float, wakeup_fd: int) -> bool:
        """Block until a watched queue has a job, a signal arrives, or ``timeout`` passes.

        Returns True when a queue reported work.
        """
        watched = list(queues[:MAX_WATCHED])
        if not self.blocking or not watched:
            select.select([wakeup_fd], [], [], min(timeout, POLL_SECONDS) if watched else timeout)
            return False
        connections = [self._send_wait(queue, timeout) for queue in watched]
        sockets = {self._fileno(c): c for c in connections}
        readable, _, _ = select.select([*sockets, wakeup_fd], [], [], timeout + 1.0)
        found = False
        for fileno, connection in sockets.items():
            if fileno in readable:
                found = self._read_wait(connection) or found
            else:
                connection.disconnect()
        return found

    def _read_wait(self, connection: Any) -> bool:
        try:
            return connection.read_response() is not None
        except redis.ResponseError as error:
            if "unknown command" not in str(error).lower():
                raise
            self._fall_back()
            return False

    def _connection(self, queue: str) -> Any:
        connection = self._connections.get(queue)
        if connection is None:
            connection = self.pool.make_connection()
            self._connections[queue] = connection
        return connection

    def _send_wait(self, queue: str, timeout: float) -> Any:
        connection = self._connection(queue)
        # No-op when connected; after a drop, a Sentinel-managed connection asks for the
        # current master here (sending alone would reconnect to the last address).
        connection.connect()
        key = self.keys.queue(queue)
        connection.send_command("BLMOVE", key, key, "LEFT", "LEFT", max(timeout, 0.01))
        return connection

    @staticmethod
    def _fileno(connection: Any) -> int:
        sock = connection._sock
        if sock is None:
            raise redis.ConnectionError("wait connection is not connected")
        return int(sock.fileno())

    def close(self) -> None:
        for connection in self._connections.values():
            connection.disconnect()
        self._connections.clear()
