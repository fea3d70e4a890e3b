"""Failure backends (Redis, RedisMultiQueue, Multiple) and the failure management API.

A failed job becomes one JSON record, built in exactly one place (:func:`failure_record`)
with Ruby's key order, because resque-web and Ruby's own management code read these
records back (``backtrace.join``, ``DateTime.parse(failed_at)``...):

==============  ===================================================================
field           content
==============  ===================================================================
``failed_at``   local time, ``%Y/%m/%d %H:%M:%S %Z`` (zone abbreviation: ``UTC``, ``EST``)
``payload``     the job as it was queued (a JSON object, or the raw text when it was not JSON)
``exception``   the exception's class name (``ZeroDivisionError``, ``Resque::DirtyExit``)
``error``       the message
``backtrace``   a list of strings (possibly empty, never absent)
``worker``      the worker id ``host:pid:queues``
``queue``       the queue the job came from
``retried_at``  added by a requeue (RedisMultiQueue writes it without the zone)
==============  ===================================================================

Records written by newer Rubies carry more fields (``failure_id`` in Resque 3.1); every
field is kept, in its place, whenever a record is read or written back.

Backends follow Ruby's ``Resque::Failure::*`` classes call by call, down to the commands
they send (``compat_tests/test_failure_reference.py`` replays Ruby's recordings), with
two deliberate differences, both explained in ``docs/failures.md``:

- removal deletes one copy of the exact bytes that were read, never "whatever is at
  index i by now", so a concurrent writer cannot make it delete the wrong failure;
- a record that is not JSON is listed as a :class:`RawRecord` instead of raising, and
  is skipped (never half-requeued) by the bulk operations.

Every method returns an operation (see ``store.base``): run it with
``SyncDriver(client).run(...)`` or ``await AsyncDriver(client).run(...)``. This module
never sends a command nor spells a key itself; ``store.failed`` does both.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from . import codec
from .codec import JsonStyle
from .errors import ConfigurationError, DecodeError, EncodeError, ResqueCompatError
from .job import Payload, PayloadError
from .keys import Keys, multi_queue_failed_name
from .store.base import Operation
from .store.failed import FailedOps
from .store.queues import QueueOps
from .timefmt import local_now

T = TypeVar("T")

FAILED_AT_FORMAT = "%Y/%m/%d %H:%M:%S %Z"
RETRIED_AT_NOZONE_FORMAT = "%Y/%m/%d %H:%M:%S"
"""RedisMultiQueue's ``retried_at`` (Ruby's ``strftime`` there has no ``%Z``)."""

_REPLACEMENT = "?"  # what Ruby's UTF8Util writes for bytes that are not UTF-8


class InvalidFailureQueueError(ResqueCompatError, ValueError):
    """The Redis backend was given a failure list other than ``failed`` (Ruby's ArgumentError)."""


class FailureNotFoundError(ResqueCompatError, LookupError):
    """No failure record at that index (the list is shorter, or it was removed meanwhile)."""


class FailureRecordError(ResqueCompatError, ValueError):
    """A failure record cannot be requeued: it is not JSON, or its payload is not a job.

    Raised before anything is written, so the record and the queues are left as they were.
    ``raw`` holds the stored bytes.
    """

    def __init__(self, message: str, raw: bytes) -> None:
        super().__init__(message)
        self.raw = raw


# --- the record --------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """One failed job, as the worker saw it; :func:`failure_record` turns it into Ruby's record."""

    payload: Any
    exception: str
    error: str
    backtrace: Sequence[str]
    worker: str
    queue: str
    failed_at: datetime


def format_failed_at(when: datetime) -> str:
    """``2026/11/28 02:18:31 EST``: Ruby's ``Time.now.strftime("%Y/%m/%d %H:%M:%S %Z")``.

    A naive datetime is taken to be local time, which is what Ruby would have used.
    """
    moment = when if when.tzinfo is not None else when.astimezone()
    return moment.strftime(FAILED_AT_FORMAT)


def format_retried_at_nozone(when: datetime) -> str:
    """RedisMultiQueue's ``retried_at``: local time without a zone (recorded that way)."""
    moment = when if when.tzinfo is not None else when.astimezone()
    return moment.strftime(RETRIED_AT_NOZONE_FORMAT)


def failure_record(failure: Failure) -> dict[str, Any]:
    """The record Ruby's failure backends write, key order included.

    The message is cleaned as Ruby's ``UTF8Util.clean`` does (bytes that are not UTF-8
    become ``?``), so that one odd exception message cannot make the record unwritable.
    """
    return {
        "failed_at": format_failed_at(failure.failed_at),
        "payload": failure.payload,
        "exception": failure.exception,
        "error": _clean_text(failure.error),
        "backtrace": list(failure.backtrace),
        "worker": failure.worker,
        "queue": failure.queue,
    }


def _clean_text(text: str) -> str:
    """Lone surrogates (undecodable bytes kept by ``surrogateescape``) become ``?``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8").replace("\ufffd", _REPLACEMENT)
    return text


def _scrubbed(value: Any) -> Any:
    """A copy of ``value`` that any JSON style can write: text cleaned, odd values as text."""
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, dict):
        return {_clean_text(str(key)): _scrubbed(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrubbed(item) for item in value]
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes):
        return _clean_text(value.decode("utf-8", "surrogateescape"))
    return _clean_text(str(value))


def encode_record(failure: Failure, style: JsonStyle = JsonStyle.JSON_GEM) -> bytes:
    """The record's bytes. Saving a failure must not fail, so a payload that this JSON style
    cannot write (text that is not UTF-8, a structure nested too deep) is written cleaned,
    and as a last resort as text; the exception, message and backtrace are always kept."""
    record = failure_record(failure)
    try:
        return codec.encode(record, style)
    except EncodeError:
        pass
    scrubbed = _scrubbed(record)
    try:
        return codec.encode(scrubbed, style)
    except EncodeError:
        return codec.encode({**scrubbed, "payload": _clean_text(str(record["payload"]))}, style)


# --- reading records back ------------------------------------------------------------------


@dataclass(frozen=True)
class RawRecord:
    """A failed-list entry that is not a JSON object, kept exactly as stored.

    Listing never raises on such an entry (one bad record must not hide the others);
    requeue refuses it and the bulk operations skip it.
    """

    raw: bytes
    reason: str


FailedRecord = dict[str, Any] | RawRecord
"""A decoded record (every field kept, in order) or the raw bytes of one that is not JSON."""


def read_record(raw: bytes) -> FailedRecord:
    """Decode one stored record; anything but a JSON object comes back as a :class:`RawRecord`."""
    try:
        document = codec.decode(raw)
    except DecodeError as error:
        return RawRecord(raw, str(error))
    if isinstance(document, dict):
        return document
    return RawRecord(raw, f"a JSON {type(document).__name__}, not an object")


@dataclass(frozen=True)
class FailedEntry:
    """One entry of a failure list: where it is, its bytes, and its decoded record.

    ``raw`` is what :meth:`FailureBackend.remove` takes as ``expected``, so that a removal
    chosen from a listing removes that very record even if the list moved meanwhile.
    """

    index: int
    list_name: str
    raw: bytes
    record: FailedRecord

    @property
    def readable(self) -> bool:
        return isinstance(self.record, dict)

    @property
    def retried(self) -> bool:
        return _was_retried(self.record)

    @property
    def class_name(self) -> str | None:
        return _class_of(self.record)

    @property
    def queue(self) -> str | None:
        queue = self.record.get("queue") if isinstance(self.record, dict) else None
        return queue if isinstance(queue, str) else None


def _was_retried(record: FailedRecord) -> bool:
    return isinstance(record, dict) and record.get("retried_at") is not None


def _class_of(record: FailedRecord) -> str | None:
    payload = record.get("payload") if isinstance(record, dict) else None
    name = payload.get("class") if isinstance(payload, dict) else None
    return name if isinstance(name, str) else None


def _numbered(entries: list[FailedEntry], order: str) -> list[FailedEntry]:
    """Ruby's ``each`` order: ``desc`` (the default) walks the page from its end."""
    return entries[::-1] if order == "desc" else entries


def _nothing(value: T) -> Operation[T]:
    """An operation that needs no round trip (Ruby's ``Base`` answers without Redis)."""
    yield from ()
    return value


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

    def each(
        self,
        offset: int = 0,
        limit: int | None = None,
        queue: str | None = None,
        class_name: str | None = None,
        order: str = "desc",
    ) -> Operation[list[tuple[int, FailedRecord]]]:
        """Ruby's ``Failure.each`` as a list of ``(index, record)``: newest first by default,
        ``limit`` None meaning "all of them" (Ruby's default, ``Failure.count``)."""
        return _nothing([])

    def requeue(self, index: int, queue: str | None = None) -> Operation[None]:
        """Mark the record ``retried_at`` and enqueue its payload again on its own queue."""
        return _nothing(None)

    def requeue_to(self, index: int, to_queue: str, queue: str | None = None) -> Operation[None]:
        """Like :meth:`requeue`, but enqueue on ``to_queue``."""
        return _nothing(None)

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
        self, offset: int, limit: int, list_name: str, class_name: str | None, order: str
    ) -> Operation[list[FailedEntry]]:
        page = yield from self._page(list_name, offset, limit)
        ordered = _numbered(page, order)
        if class_name is None:
            return ordered
        return [entry for entry in ordered if entry.class_name == class_name]

    def _clear_retried_in(self, list_name: str, queue: str | None) -> Operation[list[bytes]]:
        """Ruby's ``Failure.clear_retried``: ``each`` (count, then the page), then one
        removal per retried record, newest first; each LREM names the bytes it saw."""
        limit = yield from self.count(queue)
        page = yield from self._each_entries(0, limit, list_name, None, "desc")
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
        return len((yield from self.each(0, total, queue, class_name)))

    def queues(self) -> Operation[list[str]]:
        return _nothing([self.ops.default_list])

    def each(
        self,
        offset: int = 0,
        limit: int | None = None,
        queue: str | None = None,
        class_name: str | None = None,
        order: str = "desc",
    ) -> Operation[list[tuple[int, FailedRecord]]]:
        """Ruby's walk: with a class, the whole list is read (a second LLEN) and the first
        ``limit`` matches in walking order are kept."""
        list_name = self._list_for(queue)
        if limit is None:
            limit = yield from self.count(queue)
        wanted = limit
        if class_name is not None:
            limit = yield from self.ops.count(list_name)
        page = yield from self._each_entries(offset, limit, list_name, class_name, order)
        if class_name is not None:
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


def _queue_of(raw: bytes) -> str | None:
    record = read_record(raw)
    queue = record.get("queue") if isinstance(record, dict) else None
    return queue if isinstance(queue, str) else None


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
        return len((yield from self._each_entries(0, total, list_name, class_name, "desc")))

    def each(
        self,
        offset: int = 0,
        limit: int | None = None,
        queue: str | None = None,
        class_name: str | None = None,
        order: str = "desc",
    ) -> Operation[list[tuple[int, FailedRecord]]]:
        """Ruby's walk of one list; ``limit`` None counts that list first."""
        list_name = self._list_for(queue)
        if limit is None:
            limit = yield from self.ops.count(list_name)
        page = yield from self._each_entries(offset, limit, list_name, class_name, order)
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
        page = yield from self._each_entries(0, total, list_name, None, "desc")
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


@dataclass(frozen=True)
class MultipleBackend(FailureBackend):
    """``Resque::Failure::Multiple``: saves to every backend, reads from the first.

    Requeues go through the first backend only (one job enqueued, as in Ruby). Removals
    keep the others consistent without trusting indexes: the first backend removes the
    record, the others their own copy of the same bytes (:meth:`FailureBackend.discard`),
    where Ruby removes "index i" from each list whatever is there. ``clear()`` with no
    list clears every backend, ``clear(list)`` the first one.
    """

    backends: tuple[FailureBackend, ...]

    def __post_init__(self) -> None:
        if not self.backends:
            raise ConfigurationError("MultipleBackend needs at least one backend")

    @property
    def first(self) -> FailureBackend:
        return self.backends[0]

    @property
    def others(self) -> tuple[FailureBackend, ...]:
        return self.backends[1:]

    def save(self, failure: Failure) -> Operation[None]:
        for backend in self.backends:
            yield from backend.save(failure)

    def count(self, queue: str | None = None, class_name: str | None = None) -> Operation[int]:
        return (yield from self.first.count(queue, class_name))

    def queues(self) -> Operation[list[str]]:
        return (yield from self.first.queues())

    def all(
        self, offset: int = 0, limit: int = 1, queue: str | None = None
    ) -> Operation[FailedRecord | list[FailedRecord] | None]:
        return (yield from self.first.all(offset, limit, queue))

    def entries(
        self, offset: int = 0, limit: int | None = None, queue: str | None = None
    ) -> Operation[list[FailedEntry]]:
        return (yield from self.first.entries(offset, limit, queue))

    def entry(self, index: int, queue: str | None = None) -> Operation[FailedEntry | None]:
        return (yield from self.first.entry(index, queue))

    def each(
        self,
        offset: int = 0,
        limit: int | None = None,
        queue: str | None = None,
        class_name: str | None = None,
        order: str = "desc",
    ) -> Operation[list[tuple[int, FailedRecord]]]:
        return (yield from self.first.each(offset, limit, queue, class_name, order))

    def requeue(self, index: int, queue: str | None = None) -> Operation[None]:
        yield from self.first.requeue(index, queue)

    def requeue_to(self, index: int, to_queue: str, queue: str | None = None) -> Operation[None]:
        yield from self.first.requeue_to(index, to_queue, queue)

    def requeue_queue(self, queue: str) -> Operation[int]:
        return (yield from self.first.requeue_queue(queue))

    def requeue_all(self) -> Operation[int]:
        return (yield from self.first.requeue_all())

    def remove(
        self, index: int, queue: str | None = None, expected: bytes | None = None
    ) -> Operation[int]:
        if expected is None:
            found = yield from self.first.entry(index, queue)
            if found is None:
                return 0
            expected = found.raw
        removed = yield from self.first.remove(index, queue, expected)
        yield from self._discard_elsewhere([expected])
        return removed

    def _discard_elsewhere(self, raws: Sequence[bytes]) -> Operation[None]:
        for backend in self.others:
            for raw in raws:
                yield from backend.discard(raw)

    def clear(self, queue: str | None = None) -> Operation[int]:
        cleared = yield from self.first.clear(queue)
        if queue is None:
            for backend in self.others:
                yield from backend.clear(None)
        return cleared

    def _clear_retried(self, queue: str | None) -> Operation[tuple[int, list[bytes]]]:
        removed, raws = yield from self.first._clear_retried(queue)
        yield from self._discard_elsewhere(raws)
        return removed, raws

    def remove_queue(self, queue: str) -> Operation[int]:
        removed = yield from self.first.remove_queue(queue)
        for backend in self.others:
            yield from backend.remove_queue(queue)
        return removed

    def discard(self, raw: bytes) -> Operation[int]:
        removed = 0
        for backend in self.backends:
            removed += yield from backend.discard(raw)
        return removed


# --- choosing a backend by name ----------------------------------------------------------

_LIST_BACKENDS: dict[str, type[_ListBackend]] = {
    "redis": RedisBackend,
    "resque::failure::redis": RedisBackend,
    "redis_multi_queue": RedisMultiQueueBackend,
    "redismultiqueue": RedisMultiQueueBackend,
    "resque::failure::redismultiqueue": RedisMultiQueueBackend,
}
_MULTIPLE_PREFIXES = ("multiple:", "resque::failure::multiple:")


def backend_from_name(
    name: str, keys: Keys, json_style: JsonStyle = JsonStyle.JSON_GEM
) -> FailureBackend:
    """The backend a ``FAILURE_BACKEND`` value names.

    ``redis`` / ``Resque::Failure::Redis``, ``redis_multi_queue`` /
    ``Resque::Failure::RedisMultiQueue``, and ``multiple:<name>,<name>...`` (or
    ``Resque::Failure::Multiple:<name>,...``), the first of which answers the reads.
    Case does not matter; anything else is a :class:`ConfigurationError`.
    """
    wanted = name.strip().lower()
    for prefix in _MULTIPLE_PREFIXES:
        if wanted.startswith(prefix):
            parts = [part.strip() for part in wanted[len(prefix) :].split(",")]
            if not all(parts):
                raise ConfigurationError(f"invalid failure backend list: {name!r}")
            return MultipleBackend(tuple(_list_backend(p, name, keys, json_style) for p in parts))
    return _list_backend(wanted, name, keys, json_style)


def _list_backend(wanted: str, given: str, keys: Keys, json_style: JsonStyle) -> _ListBackend:
    backend = _LIST_BACKENDS.get(wanted)
    if backend is None:
        known = "redis, redis_multi_queue, multiple:<backend>,<backend>"
        raise ConfigurationError(f"invalid failure backend: {given!r} (known: {known})")
    return backend(keys=keys, json_style=json_style)
