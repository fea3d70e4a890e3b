"""The round trips of resque-loner, resque-lock-timeout and resque-retry.

Each group follows its Ruby plugin command for command where that matters for a race:
loner's marker is written in the MULTI that queues the job (and deleted in the one that
removes it, where Ruby's order leaves a race); lock-timeout's stale-lock takeover is its
SETNX / GET / GETSET sequence; retry's counter is SETNX -1 then INCR.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import codec
from ..keys import Keys
from .base import Command, Operation, as_int, batch, one
from .delayed import DelayedItem, DelayedOps

#: Keys asked per SCAN when clearing a queue's loner markers.
SCAN_COUNT = 1000


def loner_payload_digest(payload: bytes, style: codec.JsonStyle = codec.JsonStyle.JSON_GEM) -> str:
    """The ``<md5>`` of a queued payload's loner marker, as ``UniqueJob.redis_key`` computes
    it: the payload decoded, each top-level hash argument turned into its sorted list of
    ``[key, value]`` pairs (nested hashes left as they are), then the MD5 of
    ``{"class": C, "args": [...]}`` as Resque encodes it. Here, below the client, because
    every removal of a queued job must be able to clear its marker."""
    document = codec.decode(payload)
    return loner_args_digest(document["class"], document["args"], style)


def loner_args_digest(
    class_name: str, args: Sequence[Any], style: codec.JsonStyle = codec.JsonStyle.JSON_GEM
) -> str:
    """:func:`loner_payload_digest` of a class and args already decoded (what a worker has)."""
    sorted_args = [
        [[key, value] for key, value in sorted(arg.items())] if isinstance(arg, dict) else arg
        for arg in args
    ]
    encoded = codec.encode({"class": class_name, "args": sorted_args}, style)
    return hashlib.md5(encoded, usedforsecurity=False).hexdigest()


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

    def remove(
        self,
        queue: str,
        payloads: Sequence[bytes],
        style: codec.JsonStyle = codec.JsonStyle.JSON_GEM,
    ) -> Operation[int]:
        """``Job.destroy`` with resque-loner: each payload's LREM, then the DEL of the
        markers, in one MULTI. Ruby unmarks first, which lets an enqueue slip in before the
        LREM and be removed with the others, its marker left with no job (every later
        enqueue dropped); atomically, no such window exists. The number removed."""
        if not payloads:
            return 0
        queue_key = self.keys.queue(queue)
        markers = sorted({self.keys.loner(queue, loner_payload_digest(p, style)) for p in payloads})
        replies = yield batch(
            ("MULTI",),
            *(("LREM", queue_key, 0, payload) for payload in payloads),
            ("DEL", *markers),
            ("EXEC",),
        )
        return sum(as_int(reply) for reply in replies[-1][: len(payloads)])

    def clear_queue(self, queue: str) -> Operation[int]:
        """``cleanup_loners``: every marker of a removed queue. Ruby finds them with KEYS;
        SCAN finds the same keys without blocking a large keyspace, which matters because
        Python does this on every ``remove_queue``, whether the deployment uses loner or not."""
        deleted = 0
        cursor: Any = 0
        while True:
            reply = yield one(
                ("SCAN", cursor, "MATCH", self.keys.loners_of(queue), "COUNT", SCAN_COUNT)
            )
            cursor, found = as_int(reply[0]), list(reply[1])
            if found:
                deleted += as_int((yield one(("DEL", *found))))
            if cursor == 0:
                return deleted


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

    def start_attempt(self, bare_key: str, expire: Callable[[int], int | None]) -> Operation[int]:
        """``before_perform_retry``: SETNX -1, INCR (the attempt number, from 0), then the
        EXPIRE that ``expire`` gives for that attempt, if any (Ruby's depends on it)."""
        key = self.keys.retry_counter(bare_key)
        replies = yield batch(("SETNX", key, -1), ("INCR", key))
        attempt = int(replies[1])
        seconds = expire(attempt)
        if seconds is not None:
            yield one(("EXPIRE", key, seconds))
        return attempt

    def attempt(self, bare_key: str) -> Operation[int]:
        """The counter as Ruby's ``to_i`` reads it (a missing one is 0): what ``on_failure``
        uses for a ``Resque::DirtyExit``, run in the worker and not in the dead child."""
        reply = yield one(("GET", self.keys.retry_counter(bare_key)))
        return int(reply or 0)

    def uncount(self, bare_key: str) -> Operation[int]:
        """An ignored exception does not use up an attempt (DECR)."""
        return int((yield one(("DECR", self.keys.retry_counter(bare_key)))))

    def keep(self, bare_key: str) -> Operation[None]:
        """``try_again`` whose enqueue a hook refused: the counter is still kept (SETNX -1)."""
        yield one(("SETNX", self.keys.retry_counter(bare_key), -1))

    def requeue(self, bare_key: str, queue: str, payload: bytes) -> Operation[None]:
        """``try_again`` without delay: keep the counter (SETNX -1), then enqueue at once."""
        yield batch(
            ("SETNX", self.keys.retry_counter(bare_key), -1),
            ("SADD", self.keys.queues(), queue),
            ("RPUSH", self.keys.queue(queue), payload),
        )

    def requeue_later(self, bare_key: str, item: DelayedItem) -> Operation[None]:
        """``try_again`` with a delay: keep the counter, then resque-scheduler's
        ``delayed_push`` of the retry (as ``enqueue_in_with_queue`` does)."""
        yield from self.keep(bare_key)
        yield from DelayedOps(self.keys).push(item)

    def counter(self, bare_key: str) -> Operation[int | None]:
        """The counter (the failed attempt's number while a retry is pending), or None."""
        reply = yield one(("GET", self.keys.retry_counter(bare_key)))
        return None if reply is None else as_int(reply)

    def keep_failure(self, bare_key: str, seconds: int, record: bytes) -> Operation[None]:
        """MultipleWithRetrySuppression's record of a failure whose retry is delayed."""
        yield one(("SETEX", self.keys.retry_failure(bare_key), seconds, record))

    def clear(self, bare_key: str) -> Operation[None]:
        """``clean_retry_key``: after success, on giving up."""
        yield one(("DEL", self.keys.retry_counter(bare_key)))

    def drop_failure(self, bare_key: str) -> Operation[None]:
        yield one(("DEL", self.keys.retry_failure(bare_key)))
