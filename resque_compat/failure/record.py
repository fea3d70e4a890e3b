"""A failure record: built in one place with Ruby's key order, and read back."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from .. import codec
from ..codec import JsonStyle
from ..errors import DecodeError, EncodeError, ResqueCompatError
from ..store.base import Operation

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


@dataclass(frozen=True)
class FailureQuery:
    """Which records ``FailureBackend.each`` walks: the arguments of Ruby's
    ``Failure.each(offset, limit, queue, class_name, order)`` as one value.

    ``limit`` None means "all of them" (Ruby's default, ``Failure.count``); ``queue`` names a
    failure list; ``order`` ``desc`` (the default) walks newest first, ``asc`` oldest first.
    """

    offset: int = 0
    limit: int | None = None
    queue: str | None = None
    class_name: str | None = None
    order: str = "desc"

    def __post_init__(self) -> None:
        if self.order not in ("desc", "asc"):
            raise ValueError(f"order must be 'desc' or 'asc', got {self.order!r}")


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
