"""Failure management above the backends: find, filter, page, retry and remove failures safely.

What ``resque-compat failed ...`` does, as a Python API, so that an application or a script
manages failures the way the CLI does, with the same guarantees:

- Indexes are positions in a failure list, as resque-web numbers them: in ``failed`` for
  the Redis backend, in ``<queue>_failed`` for RedisMultiQueue (where a queue names the
  list, and is required to find an index).
- Acting on one index reads that entry first and refuses (:class:`FailureRefused`, nothing
  written) when there is none, or when it is not the record the caller listed
  (``expected_id``, a :func:`failure_id`).
- Filtered bulk operations (a class, or a queue where the backend keeps one list) walk the
  list and act on each matching record by its exact bytes, so a list that moved meanwhile
  cannot make them requeue or remove another failure; unfiltered ones are Ruby's own calls
  (``requeue_all``, ``clear``, ``clear_retried``).

With a :class:`MultipleBackend` the first backend answers, as in Ruby.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ResqueCompatError
from ..keys import multi_queue_failed_name
from ..store import SyncDriver
from .base import FailureBackend
from .multi_queue import RedisMultiQueueBackend
from .multiple import MultipleBackend
from .record import FailedEntry, FailureRecordError

ID_LENGTH = 10


class FailureRefused(ResqueCompatError, LookupError):
    """A management request that is not carried out, and why: no failure at that index, a
    record that changed since it was listed, a list that must be named. Nothing was written."""


def failure_id(raw: bytes) -> str:
    """A short hash of a record's bytes: it follows the record when the list shifts, and
    changes when the record does (a requeue adds ``retried_at``)."""
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()[:ID_LENGTH]


@dataclass(frozen=True)
class Failures:
    """A failure backend on a connection, and how job queues map to its lists."""

    backend: FailureBackend
    driver: SyncDriver

    @property
    def per_queue(self) -> bool:
        """Whether the reading backend keeps one list per job queue (RedisMultiQueue)."""
        reader = self.backend
        if isinstance(reader, MultipleBackend):
            reader = reader.first
        return isinstance(reader, RedisMultiQueueBackend)

    def list_of(self, queue: str | None) -> str | None:
        """The failure list argument the backend API takes for a job queue."""
        return multi_queue_failed_name(queue) if self.per_queue and queue else None

    def lists(self, queue: str | None) -> list[str | None]:
        """Every list to read for a (possibly absent) job queue filter."""
        if not self.per_queue:
            return [None]
        if queue is not None:
            return [multi_queue_failed_name(queue)]
        names: list[str | None] = [*self.driver.run(self.backend.queues())]
        return names

    def filtered(self, queue: str | None, class_name: str | None) -> bool:
        """Whether the filter needs a walk (a class, or a queue inside the one ``failed``)."""
        return class_name is not None or (queue is not None and not self.per_queue)

    def matching(
        self, queue: str | None, class_name: str | None, retried_only: bool = False
    ) -> list[FailedEntry]:
        """Every entry of the lists that passes the filters, in list order. A RedisMultiQueue
        list is the queue's by its name; in ``failed`` the record's ``queue`` field decides."""
        found: list[FailedEntry] = []
        for list_name in self.lists(queue):
            found += self.driver.run(self.backend.entries(0, None, list_name))
        return [
            entry
            for entry in found
            if (queue is None or self.per_queue or entry.queue == queue)
            and (class_name is None or entry.class_name == class_name)
            and (entry.retried or not retried_only)
        ]

    def page(
        self, queue: str | None, class_name: str | None, start: int, count: int, order: str
    ) -> tuple[int, list[FailedEntry]]:
        """The matching total and ``count`` entries from ``start`` (0: all) in ``order``
        (``desc``: newest first); a single unfiltered list is read page-wise only."""
        lists = self.lists(queue)
        if len(lists) != 1 or self.filtered(queue, class_name) or count == 0:
            everything = self.matching(queue, class_name)
            ordered = everything[::-1] if order == "desc" else everything
            return len(ordered), ordered[start : start + count] if count else ordered[start:]
        backend, run = self.backend, self.driver.run
        total = run(backend.count(lists[0]))
        if order == "asc":
            return total, run(backend.entries(start, count, lists[0]))
        high = total - start
        low = max(high - count, 0)
        if high <= 0:
            return total, []
        return total, run(backend.entries(low, high - low, lists[0]))[::-1]

    def find(self, index: int, queue: str | None, expected_id: str | None = None) -> FailedEntry:
        """The entry a one-index operation acts on, or :class:`FailureRefused` saying why
        there is none."""
        if self.per_queue and queue is None:
            raise FailureRefused(
                "this failure backend keeps one list per queue: name it with --queue "
                "(see `resque-compat failed list`)"
            )
        list_name = self.list_of(queue)
        entry = self.driver.run(self.backend.entry(index, list_name))
        if entry is None:
            size = self.driver.run(self.backend.count(list_name))
            where = list_name or "failed"
            raise FailureRefused(f"no failure at index {index} in {where!r} (it holds {size})")
        if not self.per_queue and queue is not None and entry.queue != queue:
            raise FailureRefused(f"failure {index} is from queue {entry.queue!r}, not {queue!r}")
        if expected_id is not None and failure_id(entry.raw) != expected_id:
            raise FailureRefused(
                f"failure {index} is not the record {expected_id} any more (it is "
                f"{failure_id(entry.raw)}): the list changed; list it again"
            )
        return entry

    def retry(
        self,
        index: int,
        queue: str | None,
        to_queue: str | None = None,
        expected_id: str | None = None,
    ) -> FailedEntry:
        """Ruby's ``Failure.requeue`` (or ``requeue_to``) of one failure; the entry retried."""
        entry = self.find(index, queue, expected_id)
        if not entry.readable:
            raise FailureRefused(
                f"failure {index} is not a readable record; it can only be removed"
            )
        list_name = self.list_of(queue)
        if to_queue is None:
            self.driver.run(self.backend.requeue(index, list_name))
        else:
            self.driver.run(self.backend.requeue_to(index, to_queue, list_name))
        return entry

    def remove(self, index: int, queue: str | None, expected_id: str | None = None) -> FailedEntry:
        """Delete exactly the record read at ``index``, wherever it moved; the entry removed."""
        entry = self.find(index, queue, expected_id)
        removed = self.driver.run(
            self.backend.remove(index, self.list_of(queue), expected=entry.raw)
        )
        if not removed:
            raise FailureRefused(
                f"failure {index} changed or was removed meanwhile; nothing removed"
            )
        return entry

    def retry_all(self, queue: str | None, class_name: str | None) -> int:
        """Requeue every failure (of a queue, of a class); the number requeued. Unreadable
        records are skipped."""
        if class_name is not None:
            return self.requeue_each(self.matching(queue, class_name))
        if queue is not None:
            return self.driver.run(self.backend.requeue_queue(queue))
        return self.driver.run(self.backend.requeue_all())

    def requeue_each(self, entries: Sequence[FailedEntry]) -> int:
        """Requeue each entry that still holds the bytes it was listed with, wherever it moved
        (one atomic check-mark-enqueue each); the number requeued. Records that cannot be
        requeued (unreadable, no job) are skipped."""
        requeued = 0
        for entry in entries:
            try:
                requeued += self.driver.run(self.backend.requeue_entry(entry))
            except FailureRecordError:
                continue
        return requeued

    def remove_each(self, entries: Sequence[FailedEntry]) -> int:
        """Remove each entry by its bytes; the number removed."""
        removed = 0
        for entry in entries:
            removed += self.driver.run(
                self.backend.remove(entry.index, entry.list_name, expected=entry.raw)
            )
        return removed

    def clear(self, queue: str | None, class_name: str | None) -> int:
        """Delete every failure (of a queue, of a class); the number deleted."""
        if self.filtered(queue, class_name):
            return self.remove_each(self.matching(queue, class_name))
        backend, run = self.backend, self.driver.run
        before = sum(run(backend.count(list_name)) for list_name in self.lists(queue))
        if queue is not None:
            run(backend.remove_queue(queue))
        else:
            run(backend.clear())
        return before

    def clear_retried(self, queue: str | None, class_name: str | None) -> int:
        """Delete the failures that were retried (of a queue, of a class); the number."""
        if self.filtered(queue, class_name):
            return self.remove_each(self.matching(queue, class_name, retried_only=True))
        return self.driver.run(self.backend.clear_retried(self.list_of(queue)))
