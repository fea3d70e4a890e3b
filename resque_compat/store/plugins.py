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


@dataclass(frozen=True)
class RetryOps:
    """resque-retry's attempt counter ``resque-retry:<Class>[:<sha1>]`` (``bare_key`` below
    is that name without the namespace) and MultipleWithRetrySuppression's record of it."""

    keys: Keys

    def start_attempt(self, bare_key: str, expire: int | None) -> Operation[int]:
        """``before_perform_retry``: SETNX -1, INCR (the attempt number, from 0), EXPIRE."""
        key = self.keys.retry_counter(bare_key)
        commands: list[Command] = [("SETNX", key, -1), ("INCR", key)]
        if expire is not None:
            commands.append(("EXPIRE", key, expire))
        replies = yield batch(*commands)
        return int(replies[1])

    def attempt(self, bare_key: str) -> Operation[int]:
        """The counter as ``to_i`` reads it (a missing one is 0)."""
        reply = yield one(("GET", self.keys.retry_counter(bare_key)))
        return int(reply or 0)

    def uncount(self, bare_key: str) -> Operation[int]:
        """An ignored exception does not use up an attempt (DECR)."""
        return int((yield one(("DECR", self.keys.retry_counter(bare_key)))))

    def requeue(self, bare_key: str, queue: str, payload: bytes) -> Operation[None]:
        """``try_again`` without delay: keep the counter (SETNX -1), then enqueue at once."""
        yield batch(
            ("SETNX", self.keys.retry_counter(bare_key), -1),
            ("SADD", self.keys.queues(), queue),
            ("RPUSH", self.keys.queue(queue), payload),
        )

    def clear(self, bare_key: str) -> Operation[None]:
        """``clean_retry_key``: after success, on giving up."""
        yield one(("DEL", self.keys.retry_counter(bare_key)))

    def retrying(self, bare_key: str) -> Operation[bool]:
        """MultipleWithRetrySuppression's ``retrying?``: the counter exists."""
        return bool((yield one(("EXISTS", self.keys.retry_counter(bare_key)))))

    def drop_failure(self, bare_key: str) -> Operation[None]:
        yield one(("DEL", self.keys.retry_failure(bare_key)))
