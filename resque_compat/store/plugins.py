"""The round trips of resque-loner, resque-lock-timeout and resque-retry.

Each group follows its Ruby plugin command for command where that matters for a race:
loner's marker is written in the MULTI that queues the job; lock-timeout's stale-lock
takeover is its SETNX / GET / GETSET sequence; retry's counter is SETNX -1 then INCR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..keys import Keys
from .base import Command, Operation, batch, one


@dataclass(frozen=True)
class LonerOps:
    """resque-loner: ``loners:queue:<q>:job:<md5>`` is "1" while a unique job is queued."""

    keys: Keys

    def queued(self, queue: str, digest: str) -> Operation[bool]:
        """``loner_queued?``: the marker reads exactly "1"."""
        reply = yield one(("GET", self.keys.loner(queue, digest)))
        return reply in (b"1", "1")

    def push_unique(self, queue: str, payload: bytes, digest: str, ttl: int) -> Operation[bool]:
        """``Job.create`` with loner: refused when marked, else queue and mark in one MULTI."""
        if (yield from self.queued(queue, digest)):
            return False
        key = self.keys.loner(queue, digest)
        commands: list[Command] = [
            ("MULTI",),
            ("SADD", self.keys.queues(), queue),
            ("RPUSH", self.keys.queue(queue), payload),
            ("SET", key, 1),
        ]
        if ttl != -1:
            commands.append(("EXPIRE", key, ttl))
        yield batch(*commands, ("EXEC",))
        return True

    def clear(self, queue: str, digest: str) -> Operation[int]:
        """``mark_loner_as_unqueued``: what a worker does when it takes a unique job."""
        return int((yield one(("DEL", self.keys.loner(queue, digest)))))

    def clear_queue(self, queue: str) -> Operation[int]:
        """``cleanup_loners``: every marker of a removed queue (KEYS, then DEL)."""
        found: list[Any] = yield one(("KEYS", self.keys.loners_of(queue)))
        if not found:
            return 0
        return int((yield one(("DEL", *found))))


@dataclass(frozen=True)
class LockOps:
    """resque-lock-timeout's lock keys, one command per round trip as the plugin sends them
    (its algorithm interleaves reads and decisions, in ``plugins.lock_timeout``)."""

    keys: Keys

    def set_if_absent(self, key: str, value: str | int) -> Operation[bool]:
        return bool((yield one(("SETNX", key, value))))

    def get(self, key: str) -> Operation[bytes | None]:
        reply: bytes | None = yield one(("GET", key))
        return reply

    def get_and_set(self, key: str, value: int) -> Operation[bytes | None]:
        reply: bytes | None = yield one(("GETSET", key, value))
        return reply

    def set(self, key: str, value: int) -> Operation[None]:
        yield one(("SET", key, value))

    def delete(self, key: str) -> Operation[int]:
        return int((yield one(("DEL", key))))
