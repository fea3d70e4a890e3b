"""resque-scheduler's delayed-job API: ``Resque.enqueue_at``, ``enqueue_in``, ``remove_delayed``...

``DelayedOperations`` holds the logic once, as operations on top of ``ResqueOperations``;
``DelayedMixin`` gives them to ``Resque`` and ``AsyncDelayedMixin`` to ``AsyncResque``. Ruby's
rules, from resque-scheduler 5.0's ``DelayingExtensions``:

* times become whole Unix seconds by truncation (``Time#to_i``);
* a time not after the current second (``timestamp.to_i <= Time.now.to_i``), or inline mode,
  enqueues at once through ``enqueue_to`` (and its enqueue hooks);
* ``before_schedule`` hooks run first (one returning False cancels), ``after_schedule`` last;
* the delayed payload is ``{"class":..,"args":[..],"queue":..}``, and removal compares bytes,
  so ``remove_delayed`` builds the same bytes with the job's own queue.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol, Union

from . import codec
from .activejob import ActiveJobBridge, activejob_payload, producing_bridge
from .errors import DecodeError, NoQueueError
from .store.base import Operation
from .store.delayed import DelayedItem

if TYPE_CHECKING:
    from .job import JobRegistry, JobSpec
    from .store import AsyncDriver, Schema, SyncDriver

JobRef = Union["JobSpec", str]
"""A job: a registered ``JobSpec`` or a Ruby class name (as ``client.JobRef``)."""


class _Options(Protocol):
    @property
    def json_style(self) -> codec.JsonStyle: ...

    @property
    def inline(self) -> bool: ...

    @property
    def registry(self) -> JobRegistry: ...


class ResqueOperations(Protocol):
    """What this module uses of ``client.ResqueOperations`` (the client mixes this module in,
    so it cannot be imported here)."""

    @property
    def options(self) -> _Options: ...

    @property
    def schema(self) -> Schema: ...

    def resolve(self, job: JobRef) -> tuple[str, JobSpec | None]: ...

    def queue_of(self, job: JobRef) -> str: ...

    def encode(self, class_name: str, args: Sequence[Any]) -> bytes: ...

    def enqueue_to(
        self, queue: str, job: JobRef, args: Sequence[Any]
    ) -> Operation[bool | None]: ...

    def enqueue_activejob(
        self,
        job_class: str,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        queue: str | None = None,
        priority: int | None = None,
    ) -> Operation[str | None]: ...


When = datetime | int | float
"""A due time: an aware (or local, like Ruby's ``Time``) datetime, or Unix seconds."""

ArgsPredicate = Callable[[Any], bool]


def to_timestamp(when: When) -> int:
    """Whole Unix seconds, truncated as Ruby's ``Time#to_i`` truncates."""
    if isinstance(when, datetime):
        return math.floor(when.timestamp())
    if isinstance(when, bool) or not isinstance(when, int | float):
        raise TypeError(f"a time must be a datetime or Unix seconds, not {type(when).__name__}")
    return math.floor(when)


def delayed_payload(
    class_name: str, args: Sequence[Any], queue: str | None, style: codec.JsonStyle
) -> bytes:
    """``{"class":..,"args":[..],"queue":..}``: Resque's payload with the queue appended."""
    return (
        codec.encode_payload(class_name, args, style)[:-1]
        + b',"queue":'
        + codec.encode(queue, style)
        + b"}"
    )


class DelayedOperations:
    """The delayed-job API as operations, on a client's ``ResqueOperations``."""

    def __init__(self, ops: ResqueOperations) -> None:
        self.ops = ops
        self.store = ops.schema.delayed

    def payload(self, job: JobRef, args: Sequence[Any], queue: str | None = None) -> bytes:
        """The stored bytes; the queue defaults to the job's own (``null`` when it has none)."""
        class_name, spec = self.ops.resolve(job)
        if queue is None and spec is not None:
            queue = spec.queue
        return delayed_payload(class_name, args, queue, self.ops.options.json_style)

    def enqueue_at_with_queue(
        self, queue: str, when: When, job: JobRef, args: Sequence[Any]
    ) -> Operation[bool | None]:
        """None when a ``before_schedule`` hook said no (or ``before_enqueue`` for a due job)."""
        _check_queue(queue)
        timestamp = to_timestamp(when)
        payload = self.payload(job, args, queue)
        _class_name, spec = self.ops.resolve(job)
        if spec is not None and not spec.run_enqueue_hooks("before_schedule", args):
            return None
        if self.ops.options.inline or timestamp <= int(time.time()):
            queued = yield from self.ops.enqueue_to(queue, job, args)
        else:
            yield from self.store.push(DelayedItem(timestamp, payload))
            queued = True
        if spec is not None:
            spec.run_enqueue_hooks("after_schedule", args)
        return queued

    def enqueue_at_many(
        self, job: JobRef, entries: Iterable[tuple[When, Sequence[Any]]], queue: str | None
    ) -> Operation[int]:
        """Many jobs of one class, one round trip; the count scheduled or enqueued.

        Hooks run per job as in ``enqueue_at``; inline mode performs each job now.
        """
        queue = queue if queue is not None else self.ops.queue_of(job)
        _check_queue(queue)
        class_name, spec = self.ops.resolve(job)
        style, now = self.ops.options.json_style, int(time.time())
        later: list[DelayedItem] = []
        due: list[tuple[str, bytes]] = []
        accepted: list[Sequence[Any]] = []
        for when, args in entries:
            timestamp, payload = to_timestamp(when), delayed_payload(class_name, args, queue, style)
            if spec is not None and not spec.run_enqueue_hooks("before_schedule", args):
                continue
            if self.ops.options.inline:
                yield from self.ops.enqueue_to(queue, job, args)
            elif timestamp > now:
                later.append(DelayedItem(timestamp, payload))
            elif spec is None or spec.run_enqueue_hooks("before_enqueue", args):
                due.append((queue, self.ops.encode(class_name, args)))
            accepted.append(args)
        yield from self.store.push_many(later, due)
        if spec is not None:
            for args in accepted:
                spec.run_enqueue_hooks("after_schedule", args)
        return len(accepted)

    def remove_delayed(self, job: JobRef, args: Sequence[Any], queue: str | None) -> Operation[int]:
        """Every copy of the job (same class, args and queue), whatever its time."""
        if self.ops.options.inline:
            return 0
        return (yield from self.store.remove(self.payload(job, args, queue)))

    def remove_from_timestamp(self, when: When, job: JobRef, args: Sequence[Any]) -> Operation[int]:
        if self.ops.options.inline:
            return 0
        payload = self.payload(job, args)
        return (yield from self.store.remove_from_timestamp(to_timestamp(when), payload))

    def find_selection(
        self, predicate: ArgsPredicate, job: JobRef | None
    ) -> Operation[list[bytes]]:
        """The stored payloads whose args satisfy ``predicate`` (and of ``job``'s class)."""
        class_name = None if job is None else self.ops.resolve(job)[0]
        items = yield from self.store.everything()
        return [item.payload for item in items if _matches(item.payload, class_name, predicate)]

    def remove_selection(self, predicate: ArgsPredicate, job: JobRef | None) -> Operation[int]:
        found = yield from self.find_selection(predicate, job)
        removed = 0
        for payload in found:
            removed += yield from self.store.remove(payload)
        return removed

    def timestamp_peek(self, when: When, start: int, count: int) -> Operation[list[Any]]:
        raws = yield from self.store.timestamp_peek(to_timestamp(when), start, count)
        return [codec.decode(raw) for raw in raws]

    def next_timestamp(self, at: When | None) -> Operation[int | None]:
        """The first timestamp due by ``at`` (now by default), as Ruby's."""
        stop = to_timestamp(time.time() if at is None else at)
        return (yield from self.store.next_timestamp(stop))


def enqueue_activejob_at(
    ops: ResqueOperations,
    job_class: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    queue: str | None,
    priority: int | None,
    when: float,
) -> Operation[str | None]:
    """``JobClass.set(wait:/wait_until:).perform_later``: Rails' Resque adapter calls
    ``Resque.enqueue_at_with_queue(queue_name, scheduled_at, JobWrapper, job.serialize)``, so the
    job data (with ``scheduled_at`` from Rails 7.1 on) is delayed as any job is; a time not
    after this second (or inline mode) enqueues at once, as ``perform_later`` does.
    Returns the job_id (None when a before_enqueue hook said no)."""
    if ops.options.inline or math.floor(when) <= int(time.time()):
        return (yield from ops.enqueue_activejob(job_class, args, kwargs, queue, priority))
    bridge = producing_bridge(ops.options.registry)
    target = queue if queue is not None else bridge.queue_for(job_class)
    _check_queue(target)
    scheduled = datetime.fromtimestamp(when, timezone.utc) if _rails_7_1(bridge) else None
    job_data = bridge.job_data(
        job_class, args, kwargs, queue=target, priority=priority, scheduled_at=scheduled
    )
    payload = activejob_payload(bridge, job_data, ops.options.json_style)
    style = ops.options.json_style
    delayed = payload[:-1] + b',"queue":' + codec.encode(target, style) + b"}"
    yield from ops.schema.delayed.push(DelayedItem(math.floor(when), delayed))
    return str(job_data["job_id"])


def _rails_7_1(bridge: ActiveJobBridge) -> bool:
    """Whether the job data carries ``scheduled_at`` (Rails 7.1 and later write it)."""
    major, _, minor = bridge.settings.rails_version.partition(".")
    return (int(major), int(minor.partition(".")[0] or 0)) >= (7, 1)


def activejob_due(wait: float | None, wait_until: When | None) -> float | None:
    """The Unix time ``set(wait:)`` or ``set(wait_until:)`` schedules for (None: now)."""
    if wait_until is not None:
        if isinstance(wait_until, datetime):
            return wait_until.timestamp()
        return float(wait_until)
    return None if wait is None else time.time() + _seconds(wait)


def _matches(payload: bytes, class_name: str | None, predicate: ArgsPredicate) -> bool:
    try:
        document = codec.decode(payload)
    except DecodeError:
        return False
    if not isinstance(document, dict):
        return False
    if class_name is not None and document.get("class") != class_name:
        return False
    return bool(predicate(document.get("args")))


class DelayedMixin:
    """resque-scheduler's delayed-job methods on the blocking ``Resque`` client."""

    ops: ResqueOperations
    driver: SyncDriver

    @property
    def _delayed(self) -> DelayedOperations:
        return DelayedOperations(self.ops)

    def enqueue_at(self, when: When, job: JobRef, *args: Any) -> bool | None:
        return self.enqueue_at_with_queue(self.ops.queue_of(job), when, job, *args)

    def enqueue_in(self, seconds: float, job: JobRef, *args: Any) -> bool | None:
        return self.enqueue_at(time.time() + _seconds(seconds), job, *args)

    def enqueue_at_with_queue(self, queue: str, when: When, job: JobRef, *args: Any) -> bool | None:
        return self.driver.run(self._delayed.enqueue_at_with_queue(queue, when, job, args))

    def enqueue_in_with_queue(
        self, queue: str, seconds: float, job: JobRef, *args: Any
    ) -> bool | None:
        return self.enqueue_at_with_queue(queue, time.time() + _seconds(seconds), job, *args)

    def enqueue_at_many(
        self, job: JobRef, entries: Iterable[tuple[When, Sequence[Any]]], queue: str | None = None
    ) -> int:
        """``[(when, args), ...]`` of one job class in one round trip."""
        return self.driver.run(self._delayed.enqueue_at_many(job, entries, queue))

    def remove_delayed(self, job: JobRef, *args: Any, queue: str | None = None) -> int:
        return self.driver.run(self._delayed.remove_delayed(job, args, queue))

    def remove_delayed_job_from_timestamp(self, when: When, job: JobRef, *args: Any) -> int:
        return self.driver.run(self._delayed.remove_from_timestamp(when, job, args))

    def find_delayed_selection(
        self, predicate: ArgsPredicate, job: JobRef | None = None
    ) -> list[bytes]:
        return self.driver.run(self._delayed.find_selection(predicate, job))

    def remove_delayed_selection(self, predicate: ArgsPredicate, job: JobRef | None = None) -> int:
        return self.driver.run(self._delayed.remove_selection(predicate, job))

    def delayed_queue_schedule_size(self) -> int:
        return self.driver.run(self.ops.schema.delayed.schedule_size())

    def delayed_queue_peek(self, start: int, count: int) -> list[int]:
        return self.driver.run(self.ops.schema.delayed.schedule_peek(start, count))

    def delayed_timestamp_size(self, when: When) -> int:
        return self.driver.run(self.ops.schema.delayed.timestamp_size(to_timestamp(when)))

    def delayed_timestamp_peek(self, when: When, start: int = 0, count: int = 1) -> list[Any]:
        return self.driver.run(self._delayed.timestamp_peek(when, start, count))

    def next_delayed_timestamp(self, at: When | None = None) -> int | None:
        return self.driver.run(self._delayed.next_timestamp(at))

    def reset_delayed_queue(self) -> None:
        self.driver.run(self.ops.schema.delayed.reset())


class AsyncDelayedMixin:
    """The same methods on ``AsyncResque``, awaited."""

    ops: ResqueOperations
    driver: AsyncDriver

    @property
    def _delayed(self) -> DelayedOperations:
        return DelayedOperations(self.ops)

    async def enqueue_at(self, when: When, job: JobRef, *args: Any) -> bool | None:
        return await self.enqueue_at_with_queue(self.ops.queue_of(job), when, job, *args)

    async def enqueue_in(self, seconds: float, job: JobRef, *args: Any) -> bool | None:
        return await self.enqueue_at(time.time() + _seconds(seconds), job, *args)

    async def enqueue_at_with_queue(
        self, queue: str, when: When, job: JobRef, *args: Any
    ) -> bool | None:
        return await self.driver.run(self._delayed.enqueue_at_with_queue(queue, when, job, args))

    async def enqueue_at_many(
        self, job: JobRef, entries: Iterable[tuple[When, Sequence[Any]]], queue: str | None = None
    ) -> int:
        return await self.driver.run(self._delayed.enqueue_at_many(job, entries, queue))

    async def remove_delayed(self, job: JobRef, *args: Any, queue: str | None = None) -> int:
        return await self.driver.run(self._delayed.remove_delayed(job, args, queue))

    async def remove_delayed_job_from_timestamp(self, when: When, job: JobRef, *args: Any) -> int:
        return await self.driver.run(self._delayed.remove_from_timestamp(when, job, args))

    async def find_delayed_selection(
        self, predicate: ArgsPredicate, job: JobRef | None = None
    ) -> list[bytes]:
        return await self.driver.run(self._delayed.find_selection(predicate, job))

    async def remove_delayed_selection(
        self, predicate: ArgsPredicate, job: JobRef | None = None
    ) -> int:
        return await self.driver.run(self._delayed.remove_selection(predicate, job))

    async def delayed_queue_schedule_size(self) -> int:
        return await self.driver.run(self.ops.schema.delayed.schedule_size())

    async def delayed_timestamp_size(self, when: When) -> int:
        return await self.driver.run(self.ops.schema.delayed.timestamp_size(to_timestamp(when)))

    async def delayed_timestamp_peek(self, when: When, start: int = 0, count: int = 1) -> list[Any]:
        return await self.driver.run(self._delayed.timestamp_peek(when, start, count))

    async def next_delayed_timestamp(self, at: When | None = None) -> int | None:
        return await self.driver.run(self._delayed.next_timestamp(at))

    async def reset_delayed_queue(self) -> None:
        await self.driver.run(self.ops.schema.delayed.reset())


def _check_queue(queue: str) -> None:
    if not isinstance(queue, str) or not queue:
        raise NoQueueError("Jobs must be placed onto a queue.")


def _seconds(seconds: float) -> float:
    """Ruby refuses a non-numeric delay with ArgumentError; so do we (as TypeError)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError("Please supply a numeric number of seconds")
    return seconds
