"""Failure backends (Redis, RedisMultiQueue, Multiple) and failure management (``manage``).

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

from ..codec import JsonStyle
from ..errors import ConfigurationError
from ..keys import Keys
from .base import FailureBackend, _ListBackend
from .manage import FailureRefused, Failures, failure_id
from .multi_queue import RedisMultiQueueBackend
from .multiple import MultipleBackend
from .record import (
    FailedEntry,
    FailedRecord,
    Failure,
    FailureNotFoundError,
    FailureQuery,
    FailureRecordError,
    InvalidFailureQueueError,
    RawRecord,
    encode_record,
    failure_record,
    format_failed_at,
    format_retried_at_nozone,
    read_record,
)
from .redis import RedisBackend
from .retry_suppression import MultipleWithRetrySuppressionBackend

__all__ = [
    "FailedEntry",
    "FailedRecord",
    "Failure",
    "FailureBackend",
    "FailureNotFoundError",
    "FailureQuery",
    "FailureRecordError",
    "FailureRefused",
    "Failures",
    "InvalidFailureQueueError",
    "MultipleBackend",
    "MultipleWithRetrySuppressionBackend",
    "RawRecord",
    "RedisBackend",
    "RedisMultiQueueBackend",
    "backend_from_name",
    "encode_record",
    "failure_id",
    "failure_record",
    "format_failed_at",
    "format_retried_at_nozone",
    "read_record",
]

# --- choosing a backend by name ----------------------------------------------------------

_LIST_BACKENDS: dict[str, type[_ListBackend]] = {
    "redis": RedisBackend,
    "resque::failure::redis": RedisBackend,
    "redis_multi_queue": RedisMultiQueueBackend,
    "redismultiqueue": RedisMultiQueueBackend,
    "resque::failure::redismultiqueue": RedisMultiQueueBackend,
}
_MULTIPLE_PREFIXES = ("multiple:", "resque::failure::multiple:")
_SUPPRESSION_PREFIXES = (
    "multiple_with_retry_suppression:",
    "resque::failure::multiplewithretrysuppression:",
)


def backend_from_name(
    name: str, keys: Keys, json_style: JsonStyle = JsonStyle.JSON_GEM
) -> FailureBackend:
    """The backend a ``FAILURE_BACKEND`` value names.

    ``redis`` / ``Resque::Failure::Redis``, ``redis_multi_queue`` /
    ``Resque::Failure::RedisMultiQueue``, and ``multiple:<name>,<name>...`` (or
    ``Resque::Failure::Multiple:<name>,...``), the first of which answers the reads;
    ``multiple_with_retry_suppression:<name>,...`` is resque-retry's variant of it, for the
    jobs of the default registry.
    Case does not matter; anything else is a :class:`ConfigurationError`.
    """
    wanted = name.strip().lower()
    for prefix in _SUPPRESSION_PREFIXES:
        if wanted.startswith(prefix):
            backends = _backend_list(wanted[len(prefix) :], name, keys, json_style)
            return MultipleWithRetrySuppressionBackend(backends, keys, json_style=json_style)
    for prefix in _MULTIPLE_PREFIXES:
        if wanted.startswith(prefix):
            return MultipleBackend(_backend_list(wanted[len(prefix) :], name, keys, json_style))
    return _list_backend(wanted, name, keys, json_style)


def _backend_list(
    listed: str, given: str, keys: Keys, json_style: JsonStyle
) -> tuple[FailureBackend, ...]:
    parts = [part.strip() for part in listed.split(",")]
    if not all(parts):
        raise ConfigurationError(f"invalid failure backend list: {given!r}")
    return tuple(_list_backend(p, given, keys, json_style) for p in parts)


def _list_backend(wanted: str, given: str, keys: Keys, json_style: JsonStyle) -> _ListBackend:
    backend = _LIST_BACKENDS.get(wanted)
    if backend is None:
        known = "redis, redis_multi_queue, multiple:<backend>,<backend>"
        raise ConfigurationError(f"invalid failure backend: {given!r} (known: {known})")
    return backend(keys=keys, json_style=json_style)
