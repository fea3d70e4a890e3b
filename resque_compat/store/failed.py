"""Failure lists: ``failed`` (Redis backend), ``<queue>_failed`` + ``failed_queues`` (multi-queue).

Lists are addressed by their bare name (``failed``, ``q1_failed``), as Ruby's
``FailedQueueAccess`` and resque-web address them; ``Keys.failed_list`` adds the namespace.
Each method is the command (or the one round trip) Ruby sends for the same step, so that
``resque_compat.failure`` can follow Ruby's command sequences call by call.

Removal is the one place where the commands differ from Ruby on purpose: Ruby overwrites
the entry with ``""`` and then removes the first ``""`` of the list (two commands that race
with any concurrent writer), while :meth:`FailedOps.remove_value` removes one copy of the
exact bytes that were read (see ``docs/failures.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..keys import Keys
from .base import Batch, Operation, Script, as_int, batch, lua_source, one, texts

_REQUEUE_EXACT = Script(lua_source("requeue_exact"))


@dataclass(frozen=True)
class FailedOps:
    keys: Keys

    @property
    def default_list(self) -> str:
        """The bare name of the Redis backend's list (``failed``), RedisMultiQueue's default."""
        return self.keys.strip(self.keys.failed())

    def _key(self, list_name: str | None) -> str:
        return self.keys.failed() if list_name is None else self.keys.failed_list(list_name)

    def count(self, list_name: str | None = None) -> Operation[int]:
        """LLEN of one list (``failed`` unless named)."""
        return as_int((yield one(("LLEN", self._key(list_name)))))

    def counts(self, list_names: Sequence[str]) -> Operation[list[int]]:
        """LLEN of several lists in one round trip, in the order given."""
        if not list_names:
            return []
        replies = yield batch(*(("LLEN", self._key(name)) for name in list_names))
        return [as_int(reply) for reply in replies]

    def range(self, list_name: str | None, start: int, count: int) -> Operation[list[bytes]]:
        """Ruby's ``list_range``: LINDEX when ``count`` is 1, else LRANGE ``start..start+count-1``.

        The LRANGE end is computed as Ruby computes it, so ``count`` 0 reads to the end of
        the list (LRANGE 0 -1), as ``Resque::Failure.all(0, 0)`` does.
        """
        raws: list[bytes] = yield self._range(self._key(list_name), start, count)
        return raws

    @staticmethod
    def _range(key: str, start: int, count: int) -> Batch[list[bytes]]:
        if count == 1:
            return Batch((("LINDEX", key, start),), lambda r: [] if r[0] is None else [r[0]])
        return Batch((("LRANGE", key, start, start + count - 1),), lambda r: list(r[0]))

    def tail(self, list_name: str | None, start: int) -> Operation[list[bytes]]:
        """Every entry from ``start`` to the end (LRANGE start -1)."""
        return list((yield one(("LRANGE", self._key(list_name), start, -1))))

    def at(self, list_name: str | None, index: int) -> Operation[bytes | None]:
        """LINDEX: the stored bytes at ``index``, None past the end."""
        reply: bytes | None = yield one(("LINDEX", self._key(list_name), index))
        return reply

    def replace(self, list_name: str | None, index: int, value: bytes) -> Operation[None]:
        """LSET, as Ruby's ``update_item_in_failed_queue`` (Redis refuses an index past the end)."""
        yield one(("LSET", self._key(list_name), index, value))

    def requeue_exact(
        self, list_name: str, index: int, expected: bytes, marked: bytes, job: tuple[str, bytes]
    ) -> Operation[bool]:
        """Mark the record whose bytes are ``expected`` (``marked``: with ``retried_at``) and
        enqueue ``job`` (queue, payload), atomically; False when that record is gone.

        Ruby's requeue is LINDEX, LSET, enqueue, by index: when the list shifts between a
        listing and the requeue, it marks and enqueues a neighbour. A bulk requeue of
        records chosen from a listing must act on exactly those records, as removal does.
        """
        queue, payload = job
        keys = (self._key(list_name), self.keys.queues(), self.keys.queue(queue))
        done = yield _REQUEUE_EXACT.call(keys, (index, expected, marked, queue, payload))
        return bool(done)

    def remove_value(self, list_name: str | None, value: bytes) -> Operation[int]:
        """LREM 1 of the exact bytes: removes one copy of that record wherever it now is.

        Two entries with the same bytes are the same record, so which copy goes makes no
        difference to the list; an entry that changed since it was read (requeued, say) is
        not touched, and nothing else can be.
        """
        return as_int((yield one(("LREM", self._key(list_name), 1, value))))

    def remove_values(self, list_name: str | None, values: Sequence[bytes]) -> Operation[int]:
        """One LREM 1 per value, in order, in one round trip; the number removed."""
        if not values:
            return 0
        key = self._key(list_name)
        replies = yield batch(*(("LREM", key, 1, value) for value in values))
        return sum(as_int(reply) for reply in replies)

    def push(self, list_name: str | None, record: bytes) -> Operation[int]:
        """RPUSH of a record (the Redis backend's ``push_to_failed_queue``)."""
        return as_int((yield one(("RPUSH", self._key(list_name), record))))

    def push_registered(self, list_name: str, record: bytes) -> Operation[int]:
        """RedisMultiQueue's save: SADD the list's name to ``failed_queues``, then RPUSH."""
        replies = yield batch(
            ("SADD", self.keys.failed_queues(), list_name),
            ("RPUSH", self._key(list_name), record),
        )
        return as_int(replies[1])

    def register(self, list_name: str) -> Operation[None]:
        """SADD to ``failed_queues``: Ruby's ``failure_queue_name`` does it on every lookup."""
        yield one(("SADD", self.keys.failed_queues(), list_name))

    def list_names(self) -> Operation[list[str]]:
        """The names in ``failed_queues``, sorted (Redis returns a set in no useful order)."""
        return sorted(texts((yield one(("SMEMBERS", self.keys.failed_queues())))))

    def delete(self, list_names: Sequence[str | None]) -> Operation[int]:
        """One DEL per list, in order, in one round trip; the number of lists that existed."""
        if not list_names:
            return 0
        replies = yield batch(*(("DEL", self._key(name)) for name in list_names))
        return sum(as_int(reply) for reply in replies)
