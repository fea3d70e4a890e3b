"""Queues: the ``queues`` set and the ``queue:<name>`` lists, as Ruby's QueueAccess uses them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..keys import Keys
from .base import Batch, Operation, as_int, batch, one, texts

# RPUSH arguments per command in push_many: big enough to amortise the round trip,
# small enough that one command never holds Redis for long.
PUSH_MANY_CHUNK = 1000


@dataclass(frozen=True)
class QueueOps:
    keys: Keys

    def push(self, queue: str, payload: bytes) -> Operation[int]:
        """Ruby's ``push_to_queue``: SADD queues + RPUSH in one pipeline. Returns the length."""
        replies = yield batch(
            ("SADD", self.keys.queues(), queue),
            ("RPUSH", self.keys.queue(queue), payload),
        )
        return int(replies[1])

    def push_many(self, queue: str, payloads: Sequence[bytes]) -> Operation[int]:
        """One round trip for a whole batch: SADD, then variadic RPUSHes in order."""
        commands: list[tuple[Any, ...]] = [("SADD", self.keys.queues(), queue)]
        for start in range(0, len(payloads), PUSH_MANY_CHUNK):
            chunk = payloads[start : start + PUSH_MANY_CHUNK]
            commands.append(("RPUSH", self.keys.queue(queue), *chunk))
        if len(commands) == 1:
            return 0
        replies = yield batch(*commands)
        return int(replies[-1])

    def push_replicated(
        self, queue: str, payloads: Sequence[bytes], replicas: int, timeout_ms: int
    ) -> Operation[tuple[int, int]]:
        """SADD + RPUSH(es) + ``WAIT replicas timeout_ms`` in one round trip.

        Returns the queue length and how many replicas acknowledged the writes: with async
        replication, only writes a replica holds survive the master's loss in a failover.
        """
        commands: list[tuple[Any, ...]] = [("SADD", self.keys.queues(), queue)]
        for start in range(0, len(payloads), PUSH_MANY_CHUNK):
            chunk = payloads[start : start + PUSH_MANY_CHUNK]
            commands.append(("RPUSH", self.keys.queue(queue), *chunk))
        commands.append(("WAIT", replicas, timeout_ms))
        replies = yield batch(*commands)
        return int(replies[-2]), int(replies[-1])

    def pop(self, queue: str) -> Operation[bytes | None]:
        reply: bytes | None = yield one(("LPOP", self.keys.queue(queue)))
        return reply

    def size(self, queue: str) -> Operation[int]:
        return as_int((yield one(("LLEN", self.keys.queue(queue)))))

    def peek(self, queue: str, start: int = 0, count: int = 1) -> Operation[list[bytes]]:
        """Ruby's ``list_range``: LINDEX for one item, LRANGE otherwise."""
        found: list[bytes] = yield self._range(self.keys.queue(queue), start, count)
        return found

    def _range(self, key: str, start: int, count: int) -> Batch[list[bytes]]:
        if count == 1:
            return Batch((("LINDEX", key, start),), lambda r: [] if r[0] is None else [r[0]])
        return Batch((("LRANGE", key, start, start + count - 1),), lambda r: list(r[0]))

    def names(self) -> Operation[list[str]]:
        """Known queue names, sorted (Redis returns a set in no useful order)."""
        return sorted(texts((yield one(("SMEMBERS", self.keys.queues())))))

    def sizes(self) -> Operation[dict[str, int]]:
        names = yield from self.names()
        if not names:
            return {}
        replies = yield batch(*(("LLEN", self.keys.queue(name)) for name in names))
        return {name: as_int(size) for name, size in zip(names, replies, strict=False)}

    def remove_queue(self, queue: str) -> Operation[None]:
        yield batch(("SREM", self.keys.queues(), queue), ("DEL", self.keys.queue(queue)))

    def everything(self, queue: str) -> Operation[list[bytes]]:
        return list((yield one(("LRANGE", self.keys.queue(queue), 0, -1))))

    def remove_payload(self, queue: str, payload: bytes) -> Operation[int]:
        """LREM of the exact bytes: the only way Ruby removes a queued job."""
        return as_int((yield one(("LREM", self.keys.queue(queue), 0, payload))))

    def remove_payloads(self, queue: str, payloads: Sequence[bytes]) -> Operation[int]:
        if not payloads:
            return 0
        key = self.keys.queue(queue)
        replies = yield batch(*(("LREM", key, 0, payload) for payload in payloads))
        return sum(as_int(reply) for reply in replies)

    def all_keys(self) -> Operation[list[str]]:
        """Every key of the namespace without its prefix (Ruby's ``Resque.keys``)."""
        found = texts((yield one(("KEYS", self.keys.everything()))))
        return sorted(self.keys.strip(key) for key in found)


@dataclass(frozen=True)
class StatOps:
    keys: Keys

    def get(self, name: str) -> Operation[int]:
        return as_int((yield one(("GET", self.keys.stat(name)))))

    def increment(self, name: str, by: int = 1) -> Operation[int]:
        return as_int((yield one(("INCRBY", self.keys.stat(name), by))))

    def clear(self, name: str) -> Operation[None]:
        yield one(("DEL", self.keys.stat(name)))
