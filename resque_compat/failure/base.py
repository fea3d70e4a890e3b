"""The backend base class and what the list-based backends share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from .. import codec
from ..codec import JsonStyle
from ..errors import EncodeError
from ..job import Payload, PayloadError
from ..keys import Keys
from ..store.base import Operation
from ..store.failed import FailedOps
from ..store.queues import QueueOps
from ..timefmt import local_now
from .record import (
    FailedEntry,
    FailedRecord,
    Failure,
    FailureNotFoundError,
    FailureQuery,
    FailureRecordError,
    RawRecord,
    _nothing,
    _numbered,
    format_failed_at,
    read_record,
)

_EVERYTHING = FailureQuery()

# --- the backends ------------------------------------------------------------------------


class FailureBackend(ABC):
    """Where failures go, and how they are listed, requeued and removed.

    Only :meth:`save` is required. The management methods default to "nothing stored",
    as Ruby's ``Resque::Failure::Base`` does, so a backend that only reports failures
    elsewhere (a notifier) is a ``save`` and nothing more, and can sit in a
    :class:`MultipleBackend` behind a Redis one.

    ``queue`` arguments name a failure list (``failed``, ``q1_failed``) as in Ruby;
    ``requeue_queue`` and ``remove_queue`` take a job queue name (``q1``).
    """

    @abstractmethod
    def save(self, failure: Failure) -> Operation[None]:
        """Store the record (only that: the worker counts ``stat:failed`` itself)."""

    def count(self, queue: str | None = None, class_name: str | None = None) -> Operation[int]:
        return _nothing(0)

    def queues(self) -> Operation[list[str]]:
        """The failure lists this backend holds, sorted."""
        return _nothing([])

    def all(
        self, offset: int = 0, limit: int = 1, queue: str | None = None
    ) -> Operation[FailedRecord | list[FailedRecord] | None]:
        """Ruby's ``Failure.all``: ``limit`` 1 gives one record (or None), otherwise a list,
        and ``limit`` 0 reads to the end. :meth:`entries` is the plain list-returning form."""
        return _nothing(None if limit == 1 else [])

    def entries(
        self, offset: int = 0, limit: int | None = None, queue: str | None = None
    ) -> Operation[list[FailedEntry]]:
        """Up to ``limit`` entries from ``offset`` on (all of them when None), in list order."""
        return _nothing([])

    def entry(self, index: int, queue: str | None = None) -> Operation[FailedEntry | None]:
        return _nothing(None)

    def each(self, query: FailureQuery = _EVERYTHING) -> Operation[list[tuple[int, FailedRecord]]]:
        """Ruby's ``Failure.each`` as a list of ``(index, record)``, newest first unless the
        query says otherwise."""
        return _nothing([])

    def requeue(self, index: int, queue: str | None = None) -> Operation[None]:
        """Mark the record ``retried_at`` and enqueue its payload again on its own queue."""
        return _nothing(None)

    def requeue_to(self, index: int, to_queue: str, queue: str | None = None) -> Operation[None]:
        """Like :meth:`requeue`, but enqueue on ``to_queue``."""
        return _nothing(None)

    def requeue_entry(self, entry: FailedEntry) -> Operation[bool]:
        """Requeue exactly the record ``entry`` read (its bytes), wherever it now is in its
        list; False, with nothing written, when it changed or is gone."""
        return _nothing(False)

    def remove(
        self, index: int, queue: str | None = None, expected: bytes | None = None
    ) -> Operation[int]:
        """Remove the record at ``index`` (1 if removed). With ``expected`` (a
        :attr:`FailedEntry.raw`), remove that record wherever it now is, without reading."""
        return _nothing(0)

    def clear(self, queue: str | None = None) -> Operation[int]:
        return _nothing(0)

    def clear_retried(self, queue: str | None = None) -> Operation[int]:
        """Remove every record that has been requeued (``retried_at`` set)."""
        removed, _raws = yield from self._clear_retried(queue)
        return removed

    def _clear_retried(self, queue: str | None) -> Operation[tuple[int, list[bytes]]]:
        return _nothing((0, []))

    def requeue_queue(self, queue: str) -> Operation[int]:
        """Requeue every failure of the job queue ``queue``; the number requeued."""
        return _nothing(0)

    def requeue_all(self) -> Operation[int]:
        return _nothing(0)

    def remove_queue(self, queue: str) -> Operation[int]:
        """Remove every failure of the job queue ``queue``."""
        return _nothing(0)

    def discard(self, raw: bytes) -> Operation[int]:
        """Remove this backend's copy of a record removed through another backend
        (:class:`MultipleBackend`); 0 when it holds none."""
        return _nothing(0)


@dataclass(frozen=True)
class _ListBackend(FailureBackend):
    """What the two Redis-list backends share: reading pages, requeueing, removing."""

    keys: Keys = field(default_factory=Keys)
    json_style: JsonStyle = JsonStyle.JSON_GEM
    clock: Callable[[], datetime] = local_now

    @property
    def ops(self) -> FailedOps:
        return FailedOps(self.keys)

    def _retried_stamp(self) -> str:
        return format_failed_at(self.clock())

    @abstractmethod
    def _list_for(self, queue: str | None) -> str:
        """The bare name of the list a ``queue`` argument designates."""

    def all(
        self, offset: int = 0, limit: int = 1, queue: str | None = None
    ) -> Operation[FailedRecord | list[FailedRecord] | None]:
        page = yield from self._page(self._list_for(queue), offset, limit)
        records = [entry.record for entry in page]
        if limit == 1:
            return records[0] if records else None
        return records

    def _page(self, list_name: str, offset: int, limit: int) -> Operation[list[FailedEntry]]:
        """Ruby's ``list_range`` (LINDEX for one, LRANGE otherwise), as entries."""
        raws = yield from self.ops.range(list_name, offset, limit)
        return _entries_from(list_name, offset, raws)

    def entries(
        self, offset: int = 0, limit: int | None = None, queue: str | None = None
    ) -> Operation[list[FailedEntry]]:
        list_name = self._list_for(queue)
        if limit is None:
            raws = yield from self.ops.tail(list_name, offset)
            return _entries_from(list_name, offset, raws)
        if limit <= 0:
            return []
        return (yield from self._page(list_name, offset, limit))

    def entry(self, index: int, queue: str | None = None) -> Operation[FailedEntry | None]:
        list_name = self._list_for(queue)
        raw = yield from self.ops.at(list_name, index)
        return None if raw is None else FailedEntry(index, list_name, raw, read_record(raw))

    def requeue(self, index: int, queue: str | None = None) -> Operation[None]:
        yield from self._requeue(self._list_for(queue), index, None)

    def requeue_to(self, index: int, to_queue: str, queue: str | None = None) -> Operation[None]:
        yield from self._requeue(self._list_for(queue), index, to_queue)

    def _requeue(self, list_name: str, index: int, to_queue: str | None) -> Operation[None]:
        """Ruby's commands: LINDEX, LSET with ``retried_at``, then a plain enqueue.

        Everything is encoded before the first write, so a record that cannot be requeued
        raises :class:`FailureRecordError` with the list and the queues untouched.
        """
        raw = yield from self.ops.at(list_name, index)
        if raw is None:
            raise FailureNotFoundError(f"no failure at index {index} of {list_name!r}")
        record, queue, payload = self._requeue_plan(raw, to_queue)
        yield from self.ops.replace(list_name, index, record)
        yield from QueueOps(self.keys).push(queue, payload)

    def _requeue_plan(self, raw: bytes, to_queue: str | None) -> tuple[bytes, str, bytes]:
        """The updated record, the target queue and the payload, or FailureRecordError."""
        record = read_record(raw)
        if isinstance(record, RawRecord):
            raise FailureRecordError(f"cannot requeue a record that is {record.reason}", raw)
        try:
            payload = Payload.from_document(record.get("payload"), raw)
        except PayloadError as error:
            raise FailureRecordError(f"cannot requeue: {error}", raw) from error
        queue = to_queue if to_queue is not None else record.get("queue")
        if not isinstance(queue, str) or not queue:
            raise FailureRecordError("cannot requeue: the record names no queue", raw)
        updated = {**record, "retried_at": self._retried_stamp()}
        try:
            job = codec.encode_payload(payload.class_name, list(payload.args), self.json_style)
            return codec.encode(updated, self.json_style), queue, job
        except EncodeError as error:
            raise FailureRecordError(f"cannot requeue: {error}", raw) from error

    def requeue_entry(self, entry: FailedEntry) -> Operation[bool]:
        marked, queue, payload = self._requeue_plan(entry.raw, None)
        job = (queue, payload)
        return (
            yield from self.ops.requeue_exact(entry.list_name, entry.index, entry.raw, marked, job)
        )

    def _requeue_quietly(self, list_name: str, index: int) -> Operation[int]:
        """For the bulk requeues: 1 if requeued, 0 for a record that cannot be (left as is)."""
        try:
            yield from self._requeue(list_name, index, None)
        except (FailureRecordError, FailureNotFoundError):
            return 0
        return 1

    def remove(
        self, index: int, queue: str | None = None, expected: bytes | None = None
    ) -> Operation[int]:
        """Remove one record, never another one: read its bytes (LINDEX) unless the caller
        already has them, then LREM 1 of exactly those bytes (see ``docs/failures.md``)."""
        list_name = self._list_for(queue)
        if expected is None:
            expected = yield from self.ops.at(list_name, index)
            if expected is None:
                return 0
        return (yield from self.ops.remove_value(list_name, expected))

    def _each_entries(
        self, list_name: str, query: FailureQuery, limit: int
    ) -> Operation[list[FailedEntry]]:
        """One page of ``list_name`` (``limit`` entries from the query's offset) in the
        query's order, filtered by its class."""
        page = yield from self._page(list_name, query.offset, limit)
        ordered = _numbered(page, query.order)
        if query.class_name is None:
            return ordered
        return [entry for entry in ordered if entry.class_name == query.class_name]

    def _clear_retried_in(self, list_name: str, queue: str | None) -> Operation[list[bytes]]:
        """Ruby's ``Failure.clear_retried``: ``each`` (count, then the page), then one
        removal per retried record, newest first; each LREM names the bytes it saw."""
        limit = yield from self.count(queue)
        page = yield from self._each_entries(list_name, _EVERYTHING, limit)
        raws = [entry.raw for entry in page if entry.retried]
        yield from self.ops.remove_values(list_name, raws)
        return raws

    def _discard_in(self, list_name: str, raw: bytes) -> Operation[int]:
        """Remove a copy of ``raw`` here; failing that, the copy a requeue through the first
        backend of a :class:`MultipleBackend` did not mark (the same record without
        ``retried_at``)."""
        removed = yield from self.ops.remove_value(list_name, raw)
        unmarked = _without_retried_at(raw, self.json_style)
        if removed or unmarked is None:
            return removed
        return (yield from self.ops.remove_value(list_name, unmarked))


def _entries_from(list_name: str, offset: int, raws: list[bytes]) -> list[FailedEntry]:
    return [
        FailedEntry(offset + position, list_name, raw, read_record(raw))
        for position, raw in enumerate(raws)
    ]


def _without_retried_at(raw: bytes, style: JsonStyle) -> bytes | None:
    record = read_record(raw)
    if not isinstance(record, dict) or "retried_at" not in record:
        return None
    try:
        return codec.encode({k: v for k, v in record.items() if k != "retried_at"}, style)
    except EncodeError:
        return None


def _queue_of(raw: bytes) -> str | None:
    record = read_record(raw)
    queue = record.get("queue") if isinstance(record, dict) else None
    return queue if isinstance(queue, str) else None
