"""What an operator writes to steer the fleet: the pause flag, and pruning from outside a worker.

Ruby Resque has no API for either: its workers read ``pause-all-workers`` before each
reservation (paused while the value strips to "true", any case) and operators set it with
``Resque.redis.set``. Pruning takes ``pruning_dead_workers_in_progress`` with ``SET NX EX``
(``LifecycleOps.acquire_pruning_lock``) and leaves it to expire after a heartbeat interval,
long after its prune is over; an operator's prune takes it when it is free (so a worker
starting meanwhile does not prune the same workers), gives it back as soon as it is done,
and does not wait for it when a worker holds it. Instead it claims each dead worker's job
with ``GETDEL``: two operator prunes never both record the same job as failed, and a worker
pruning at that very moment only does too if it read the job in the milliseconds before.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..keys import Keys
from .base import Operation, Script, as_int, batch, lua_source, one, text

PAUSED_VALUE = "true"

_RELEASE_LOCK = Script(lua_source("release_lock"))


@dataclass(frozen=True)
class PauseOps:
    keys: Keys

    def pause(self) -> Operation[str | None]:
        """GET then SET ``pause-all-workers`` "true" in one round trip; the value it had."""
        key = self.keys.pause_all()
        replies = yield batch(("GET", key), ("SET", key, PAUSED_VALUE))
        return text(replies[0])

    def value(self) -> Operation[str | None]:
        """The raw ``pause-all-workers`` value: workers pause when it strips to "true", any case."""
        return text((yield one(("GET", self.keys.pause_all()))))

    def resume(self) -> Operation[str | None]:
        """Delete ``pause-all-workers``; the value it held (``GETDEL``)."""
        return text((yield one(("GETDEL", self.keys.pause_all()))))


@dataclass(frozen=True)
class OperatorPruneOps:
    keys: Keys

    def take_job(self, worker_id: str) -> Operation[bytes | None]:
        """GETDEL ``worker:<id>``: the dead worker's job, for this pruner alone."""
        reply: bytes | None = yield one(("GETDEL", self.keys.worker(worker_id)))
        return reply

    def release(self, holder: str) -> Operation[bool]:
        """Delete the lock if ``holder`` still holds it; whether it did."""
        reply = yield _RELEASE_LOCK.call([self.keys.pruning_lock()], [holder])
        return as_int(reply) > 0
