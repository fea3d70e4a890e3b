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
"""

from __future__ import annotations

import select
from collections.abc import Sequence
from typing import Any

import redis

from ..keys import Keys

MAX_WATCHED = 16


class QueueWaiter:
    """Blocks until a watched queue has a job, a signal arrives, or the timeout passes."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.pool = client.connection_pool
        self.keys = keys
        self._connections: dict[str, Any] = {}  # redis-py connections

    def _connection(self, queue: str) -> Any:
        connection = self._connections.get(queue)
        if connection is None:
            connection = self.pool.make_connection()
            self._connections[queue] = connection
        return connection

    def wait(self, queues: Sequence[str], timeout: float, wakeup_fd: int) -> bool:
        """Block until a watched queue has a job, a signal arrives, or ``timeout`` passes.

        Returns True when a queue reported work.
        """
        watched = list(queues[:MAX_WATCHED])
        if not watched:
            select.select([wakeup_fd], [], [], timeout)
            return False
        connections = [self._send_wait(queue, timeout) for queue in watched]
        sockets = {self._fileno(c): c for c in connections}
        readable, _, _ = select.select([*sockets, wakeup_fd], [], [], timeout + 1.0)
        found = False
        for fileno, connection in sockets.items():
            if fileno in readable:
                found = connection.read_response() is not None or found
            else:
                connection.disconnect()
        return found

    def _send_wait(self, queue: str, timeout: float) -> Any:
        connection = self._connection(queue)
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
