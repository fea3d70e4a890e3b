"""Resque::Failure::Redis: one ``failed`` list."""

from __future__ import annotations

from dataclasses import dataclass

from ..store.base import Operation
from .base import _EVERYTHING, _ListBackend, _queue_of
from .record import (
    FailedRecord,
    Failure,
    FailureQuery,
    InvalidFailureQueueError,
    _nothing,
    encode_record,
)


@dataclass(frozen=True)
class RedisBackend(_ListBackend):
    """``Resque::Failure::Redis``: every failure in the one list ``failed``.

    Its only list is ``failed``; any other ``queue`` argument raises
    :class:`InvalidFailureQueueError`, as Ruby's ``check_queue`` does.
    """

    def _list_for(self, queue: str | None) -> str:
        default = self.ops.default_list
        if queue is not None and queue != default:
            raise InvalidFailureQueueError(f"invalid queue: {queue}")
        return default

    def save(self, failure: Failure) -> Operation[None]:
        yield from self.ops.push(self.ops.default_list, encode_record(failure, self.json_style))

    def count(self, queue: str | None = None, class_name: str | None = None) -> Operation[int]:
        list_name = self._list_for(queue)
        total = yield from self.ops.count(list_name)
        if class_name is None:
            return total
        return len((yield from self.each(FailureQuery(0, total, queue, class_name))))

    def queues(self) -> Operation[list[str]]:
        return _nothing([self.ops.default_list])

    def each(self, query: FailureQuery = _EVERYTHING) -> Operation[list[tuple[int, FailedRecord]]]:
        """Ruby's walk: with a class, the whole list is read (a second LLEN) and the first
        ``limit`` matches in walking order are kept."""
        list_name = self._list_for(query.queue)
        limit = query.limit
        if limit is None:
            limit = yield from self.count(query.queue)
        wanted = limit
        if query.class_name is not None:
            limit = yield from self.ops.count(list_name)
        page = yield from self._each_entries(list_name, query, limit)
        if query.class_name is not None:
            page = page[: max(wanted, 0)]
        return [(entry.index, entry.record) for entry in page]

    def clear(self, queue: str | None = None) -> Operation[int]:
        return (yield from self.ops.delete([self._list_for(queue)]))

    def _clear_retried(self, queue: str | None) -> Operation[tuple[int, list[bytes]]]:
        raws = yield from self._clear_retried_in(self._list_for(queue), queue)
        return len(raws), raws

    def requeue_queue(self, queue: str) -> Operation[int]:
        """Ruby's walk: LINDEX each index until the end, requeueing the queue's records."""
        list_name = self.ops.default_list
        requeued = index = 0
        while (raw := (yield from self.ops.at(list_name, index))) is not None:
            if _queue_of(raw) == queue:
                requeued += yield from self._requeue_quietly(list_name, index)
            index += 1
        return requeued

    def requeue_all(self) -> Operation[int]:
        list_name = self.ops.default_list
        total = yield from self.ops.count(list_name)
        requeued = 0
        for index in range(total):
            requeued += yield from self._requeue_quietly(list_name, index)
        return requeued

    def remove_queue(self, queue: str) -> Operation[int]:
        """Ruby's walk: LINDEX each index; a record of the queue is removed (by its bytes)
        and the same index read again, any other one is stepped over."""
        list_name = self.ops.default_list
        removed = index = 0
        while (raw := (yield from self.ops.at(list_name, index))) is not None:
            if _queue_of(raw) == queue:
                removed += yield from self.ops.remove_value(list_name, raw)
            else:
                index += 1
        return removed

    def discard(self, raw: bytes) -> Operation[int]:
        return (yield from self._discard_in(self.ops.default_list, raw))
