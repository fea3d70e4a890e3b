"""The worker's heartbeat: ``workers:heartbeat[id] = Redis TIME`` as Ruby's ISO 8601.

Any Ruby worker that starts prunes workers whose heartbeat is older than the prune
interval, so the heartbeat must go on while a job runs. A forking worker beats from its
own loop (it is free while the child works, and a process with threads should not fork);
a worker that runs jobs in-process beats from a thread with its own connection. A Redis
error skips a beat and is retried soon after; it never stops the worker.
"""

from __future__ import annotations

import logging
import math
import threading
import time

import redis

from .. import timefmt
from ..errors import WritesRefused
from ..store import SyncDriver
from ..store.base import server_time
from ..store.lifecycle import LifecycleOps

log = logging.getLogger("resque_compat.worker")
RETRY_AFTER_ERROR = 1.0


class Heartbeat:
    def __init__(self, driver: SyncDriver, ops: LifecycleOps, interval: float) -> None:
        self.driver = driver
        self.ops = ops
        self.interval = interval
        self._next_due = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def beat(self) -> None:
        try:
            now = self.driver.run(server_time())
            self.driver.run(self.ops.heartbeat(timefmt.heartbeat(now)))
        except redis.RedisError as error:
            # One line per outage: the worker's own retries say when Redis is back.
            # Redis's words only: the worker's own line says "Redis refuses writes".
            level = logging.DEBUG if self._failing else logging.WARNING
            reason = error.reply if isinstance(error, WritesRefused) else error
            log.log(level, "heartbeat failed (%s); retrying in %.0fs", reason, RETRY_AFTER_ERROR)
            self._failing = True
            self._next_due = time.monotonic() + RETRY_AFTER_ERROR
            return
        self._failing = False
        self._next_due = time.monotonic() + self.interval

    def leave_to_parent(self) -> None:
        """Never beat: in a child running many jobs, the worker that forked it beats."""
        self._next_due = math.inf

    def seconds_until_due(self) -> float:
        return max(0.0, self._next_due - time.monotonic())

    def beat_if_due(self) -> None:
        if self._thread is None and time.monotonic() >= self._next_due:
            self.beat()

    def start_thread(self, driver: SyncDriver) -> None:
        """Beat from a thread on its own connection (for workers that run jobs in-process)."""
        self.driver = driver
        self._thread = threading.Thread(target=self._run, name="resque-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.seconds_until_due()):
            self.beat()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
