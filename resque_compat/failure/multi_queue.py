"""Resque::Failure::RedisMultiQueue: a ``<queue>_failed`` list per queue, and ``failed_queues``."""

from __future__ import annotations

from dataclasses import dataclass

from ..keys import multi_queue_failed_name
from ..store.base import Operation
from .base import _EVERYTHING, _ListBackend, _queue_of
from .record import (
    FailedRecord,
    Failure,
    FailureQuery,
    encode_record,
    format_retried_at_nozone,
)


def _job_queue_name(list_name: str) -> str:
    """Ruby's ``Failure.job_queue_name``: ``q1_failed`` -> ``q1``."""
    suffix = multi_queue_failed_name("")
    return list_name[: -len(suffix)] if list_name.endswith(suffix) else list_name


@dataclass(frozen=True)
class RedisMultiQueueBackend(_ListBackend):
    """``Resque::Failure::RedisMultiQueue``: a ``<queue>_failed`` list per job queue, their
    names in the ``failed_queues`` set.

    Ruby's quirks are kept because its processes share these keys and resque-web reads
    them: ``retried_at`` has no zone; ``requeue_queue`` and ``remove_queue`` add the list's
    name to ``failed_queues`` (even when deleting it); ``clear`` leaves the names in that
    set; ``queue`` arguments default to the list ``failed``. One deliberate change:
    ``count(None, class_name)`` filters by class in every list (Ruby ignores the class).
    """

    def _retried_stamp(self) -> str:
        return format_retried_at_nozone(self.clock())

    def _list_for(self, queue: str | None) -> str:
        return self.ops.default_list if queue is None else queue

    def save(self, failure: Failure) -> Operation[None]:
        record = encode_record(failure, self.json_style)
        yield from self.ops.push_registered(multi_queue_failed_name(failure.queue), record)

    def queues(self) -> Operation[list[str]]:
        return (yield from self.ops.list_names())

    def count(self, queue: str | None = None, class_name: str | None = None) -> Operation[int]:
        if queue is not None:
            return (yield from self._count_in(queue, class_name))
        names = yield from self.ops.list_names()
        if class_name is None:
            return sum((yield from self.ops.counts(names)))
        total = 0
        for name in names:
            total += yield from self._count_in(name, class_name)
        return total

    def _count_in(self, list_name: str, class_name: str | None) -> Operation[int]:
        total = yield from self.ops.count(list_name)
        if class_name is None:
            return total
        query = FailureQuery(class_name=class_name)
        return len((yield from self._each_entries(list_name, query, total)))

    def each(self, query: FailureQuery = _EVERYTHING) -> Operation[list[tuple[int, FailedRecord]]]:
        """Ruby's walk of one list; ``limit`` None counts that list first."""
        list_name = self._list_for(query.queue)
        limit = query.limit
        if limit is None:
            limit = yield from self.ops.count(list_name)
        page = yield from self._each_entries(list_name, query, limit)
        return [(entry.index, entry.record) for entry in page]

    def clear(self, queue: str | None = None) -> Operation[int]:
        """DEL of the named list, or of every list in ``failed_queues`` (names stay there)."""
        names = [queue] if queue is not None else (yield from self.ops.list_names())
        return (yield from self.ops.delete(names))

    def _clear_retried(self, queue: str | None) -> Operation[tuple[int, list[bytes]]]:
        names = [queue] if queue is not None else (yield from self.ops.list_names())
        raws: list[bytes] = []
        for name in names:
            raws += yield from self._clear_retried_in(name, name)
        return len(raws), raws

    def requeue_queue(self, queue: str) -> Operation[int]:
        """Ruby's commands: SADD the list name, LLEN, the page, then a requeue per record,
        newest first."""
        list_name = multi_queue_failed_name(queue)
        yield from self.ops.register(list_name)
        total = yield from self.ops.count(list_name)
        page = yield from self._each_entries(list_name, _EVERYTHING, total)
        requeued = 0
        for entry in page:
            requeued += yield from self._requeue_quietly(list_name, entry.index)
        return requeued

    def requeue_all(self) -> Operation[int]:
        requeued = 0
        for list_name in (yield from self.ops.list_names()):
            requeued += yield from self.requeue_queue(_job_queue_name(list_name))
        return requeued

    def remove_queue(self, queue: str) -> Operation[int]:
        """SADD then DEL of ``<queue>_failed``, as Ruby: 1 if the list existed."""
        list_name = multi_queue_failed_name(queue)
        yield from self.ops.register(list_name)
        return (yield from self.ops.delete([list_name]))

    def discard(self, raw: bytes) -> Operation[int]:
        queue = _queue_of(raw)
        if queue is None:
            return 0
        return (yield from self._discard_in(multi_queue_failed_name(queue), raw))
