"""Resque's producer and inspection API: ``Resque.enqueue``, ``dequeue``, ``size``, ``info``...

``ResqueOperations`` holds the logic once, as operations (see ``store.base``); ``Resque``
runs them on a blocking client and ``resque_compat.aio.AsyncResque`` on an asyncio one.
Commands, their order and their pipelining follow Ruby Resque 3.0, so that a MONITOR of
either side shows the same traffic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from . import codec
from .activejob import JOB_WRAPPER_CLASS, activejob_payload, producing_bridge
from .connection import RedisSettings
from .delayed import DelayedMixin, When, activejob_due, enqueue_activejob_at
from .errors import (
    DecodeError,
    EncodeError,
    NoClassError,
    NoQueueError,
    ReplicationError,
    UnknownJobError,
)
from .job import JobRegistry, JobSpec, Payload, PayloadError, default_registry
from .keys import PROCESSED
from .schedules import ScheduleMethods
from .store import Schema, SyncDriver
from .store.base import Operation
from .store.plugins import LonerOps

JobRef = JobSpec | str
"""A job given to enqueue/dequeue: a registered ``JobSpec`` or a Ruby class name."""


@dataclass
class ClientOptions:
    """How a producer writes: JSON flavour, inline mode, what ``info`` reports.

    ``wait_replicas`` (opt-in, 0 = off) makes every enqueue wait, in the same round trip, for
    that many replicas to hold it (``WAIT``), at most ``wait_timeout_ms``; fewer raises
    :class:`ReplicationError`. It closes async replication's window for enqueues at the cost
    measured in docs/operating.md.
    """

    json_style: codec.JsonStyle = codec.JsonStyle.JSON_GEM
    inline: bool = False
    environment: str = "development"
    registry: JobRegistry = field(default_factory=lambda: default_registry)
    loner: bool = False
    """The deployment runs resque-loner: ``dequeue``, ``destroy`` and ``remove_queue`` clear
    the loner markers of every class they remove, as loner's hooks do in Ruby (a marker
    left behind makes Ruby drop every later enqueue of that job). Without it, only jobs
    declared unique in Python get that, and the traffic stays plain Resque's."""
    wait_replicas: int = 0
    wait_timeout_ms: int = 1000


class ResqueOperations:
    """Resque's client API as operations, independent of how they are sent."""

    def __init__(self, settings: RedisSettings, options: ClientOptions) -> None:
        self.settings = settings
        self.options = options
        self.schema = Schema(settings.keys)
        self.loners = LonerOps(settings.keys)

    def resolve(self, job: JobRef) -> tuple[str, JobSpec | None]:
        """The class name to write and the registered spec (with hooks), if any."""
        if isinstance(job, JobSpec):
            return job.name, job
        if not isinstance(job, str) or not job:
            raise NoClassError("Jobs must be given a class.")
        return job, self.options.registry.get(job)

    def queue_of(self, job: JobRef) -> str:
        name, spec = self.resolve(job)
        if spec is None or not spec.queue:
            raise NoQueueError(
                f"Jobs must be placed onto a queue. No queue could be inferred for class {name}"
            )
        return spec.queue

    def encode(self, class_name: str, args: Sequence[Any]) -> bytes:
        return codec.encode_payload(class_name, args, self.options.json_style)

    def enqueue_to(self, queue: str, job: JobRef, args: Sequence[Any]) -> Operation[bool | None]:
        """Hooks, then one pipelined SADD + RPUSH (or the job's plugin pusher). None when a
        before_enqueue hook said no; False when the pusher did not queue it (a unique job
        already queued: the after_enqueue hooks still run, as in Ruby)."""
        _check_queue(queue)
        class_name, spec = self.resolve(job)
        payload = self.encode(class_name, args)
        return (yield from self._enqueue(queue, class_name, spec, args, payload))

    def enqueue_activejob(
        self,
        job_class: str,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        queue: str | None = None,
        priority: int | None = None,
    ) -> Operation[str | None]:
        """``JobClass.set(queue:, priority:).perform_later(*args, **kwargs)``: the job_id, or
        None when a before_enqueue hook of the registry's bridge said no.

        The ActiveJob layer builds the job data and its bytes; from there it is a job like
        any other: the same queue check, the bridge's enqueue hooks (they receive the job
        data), inline mode. Everything is encoded first, so a refused value sends nothing.
        """
        bridge = producing_bridge(self.options.registry)
        target = queue if queue is not None else bridge.queue_for(job_class)
        _check_queue(target)
        job_data = bridge.job_data(job_class, args, kwargs, queue=target, priority=priority)
        payload = activejob_payload(bridge, job_data, self.options.json_style)
        class_name, spec = self.resolve(JOB_WRAPPER_CLASS)
        done = yield from self._enqueue(target, class_name, spec, [job_data], payload)
        return str(job_data["job_id"]) if done else None

    def _enqueue(
        self,
        queue: str,
        class_name: str,
        spec: JobSpec | None,
        args: Sequence[Any],
        payload: bytes,
    ) -> Operation[bool | None]:
        """The path of every enqueue once the payload is encoded: before_enqueue hooks, the
        push (or, inline, the run), after_enqueue hooks."""
        if spec is not None and not spec.run_enqueue_hooks("before_enqueue", args):
            return None
        queued = True
        if self.options.inline:
            self._perform_inline(class_name, payload)
        elif spec is not None and spec.pusher is not None:
            queued = yield from spec.pusher(self.schema.keys, queue, class_name, args, payload)
        elif self.options.wait_replicas:
            yield from self._push_replicated(queue, [payload])
        else:
            yield from self.schema.queues.push(queue, payload)
        if spec is not None:
            spec.run_enqueue_hooks("after_enqueue", args)
        return queued

    def _perform_inline(self, class_name: str, payload: bytes) -> None:
        """Ruby's inline mode: the job runs now, with its args as they would come off the wire."""
        decoded = Payload.decode(payload)
        spec = self.options.registry.get(class_name)
        if spec is None:
            raise UnknownJobError(f"inline mode: no Python job is registered as {class_name!r}")
        spec.run(decoded.args)

    def enqueue_many(
        self, queue: str, job: JobRef, arg_lists: Iterable[Sequence[Any]]
    ) -> Operation[int]:
        """Every payload encoded first (a bad one refuses the batch), then one round trip."""
        _check_queue(queue)
        class_name, _spec = self.resolve(job)
        payloads = [self._encode_item(class_name, args, at) for at, args in enumerate(arg_lists)]
        if self.options.wait_replicas and payloads:
            yield from self._push_replicated(queue, payloads)
        else:
            yield from self.schema.queues.push_many(queue, payloads)
        return len(payloads)

    def _encode_item(self, class_name: str, args: Sequence[Any], position: int) -> bytes:
        """One payload of a batch; a refusal names its position (``batch[1]: args[0]: ...``),
        since the message alone would point at the first item's arguments."""
        try:
            return self.encode(class_name, args)
        except EncodeError as error:
            raise EncodeError(f"batch[{position}]: {error}") from error

    def _push_replicated(self, queue: str, payloads: Sequence[bytes]) -> Operation[None]:
        """Push, then insist that ``wait_replicas`` replicas hold the jobs (``WAIT``)."""
        wanted, timeout = self.options.wait_replicas, self.options.wait_timeout_ms
        _length, acked = yield from self.schema.queues.push_replicated(
            queue, payloads, wanted, timeout
        )
        if acked < wanted:
            raise ReplicationError(
                f"{len(payloads)} job(s) on queue {queue!r} reached the master but only "
                f"{acked} of {wanted} replica(s) within {timeout} ms: a failover now loses them",
                acked,
            )

    def dequeue(self, job: JobRef, args: Sequence[Any]) -> Operation[int | None]:
        """Ruby's ``Resque.dequeue``: from the job's queue, hooks around ``Job.destroy``."""
        queue = self.queue_of(job)
        _class_name, spec = self.resolve(job)
        if spec is not None and not spec.run_enqueue_hooks("before_dequeue", args):
            return None
        removed = yield from self.destroy(queue, job, args)
        if spec is not None:
            spec.run_enqueue_hooks("after_dequeue", args)
        return removed

    def destroy(self, queue: str, job: JobRef, args: Sequence[Any]) -> Operation[int]:
        """``Job.destroy``: with args, one LREM of the exact bytes; without, every job of
        the class (LRANGE, then LREM of each matching payload as it was stored).

        For a unique job (see ``ClientOptions.loner``) the DELs of the removed payloads'
        resque-loner markers go with the LREMs, as loner's ``destroy`` hook does in Ruby.
        """
        class_name, spec = self.resolve(job)
        if args:
            matching = [self.encode(class_name, args)]
        else:
            stored = yield from self.schema.queues.everything(queue)
            matching = [raw for raw in stored if _class_of(raw) == class_name]
        if self.options.loner or (spec is not None and spec.pusher is not None):
            return (yield from self.loners.remove(queue, matching, self.options.json_style))
        if args:
            return (yield from self.schema.queues.remove_payload(queue, matching[0]))
        return (yield from self.schema.queues.remove_payloads(queue, matching))

    def remove_queue(self, queue: str) -> Operation[None]:
        """``Resque.remove_queue``; and the queue's resque-loner markers (loner's
        ``cleanup_loners`` hook) when the deployment runs loner or Python declares a unique
        job (see ``ClientOptions.loner``)."""
        yield from self.schema.queues.remove_queue(queue)
        if self.options.loner or any(spec.pusher is not None for spec in self.options.registry):
            yield from self.loners.clear_queue(queue)

    def push(self, queue: str, item: Mapping[str, Any]) -> Operation[int]:
        """Ruby's low-level ``Resque.push``: the item's keys in the caller's order."""
        _check_queue(queue)
        return (
            yield from self.schema.queues.push(
                queue, codec.encode(dict(item), self.options.json_style)
            )
        )

    def pop(self, queue: str) -> Operation[Any]:
        raw = yield from self.schema.queues.pop(queue)
        return None if raw is None else codec.decode(raw)

    def peek(self, queue: str, start: int, count: int) -> Operation[Any]:
        """One decoded job (or None) when count is 1, else a list, as Ruby returns them."""
        raws = yield from self.schema.queues.peek(queue, start, count)
        decoded = [codec.decode(raw) for raw in raws]
        if count == 1:
            return decoded[0] if decoded else None
        return decoded

    def info(self) -> Operation[dict[str, Any]]:
        """``Resque.info``: the same reads in the same order as Ruby's."""
        sizes = yield from self.schema.queues.sizes()
        processed = yield from self.schema.stats.get(PROCESSED)
        queues = yield from self.schema.queues.names()
        workers = yield from self.schema.workers.ids()
        working = yield from self.schema.workers.working()
        failed = yield from self.schema.failed.count()
        return {
            "pending": sum(sizes.values()),
            "processed": processed,
            "queues": len(queues),
            "workers": len(workers),
            "working": len(working),
            "failed": failed,
            "servers": [self.settings.display_url],
            "environment": self.options.environment,
        }


def _check_queue(queue: str) -> None:
    if not isinstance(queue, str) or not queue:
        raise NoQueueError("Jobs must be placed onto a queue.")


def _class_of(raw: bytes) -> str | None:
    """The class a stored payload names; None for one that cannot be read (left alone)."""
    try:
        return Payload.decode(raw).class_name
    except PayloadError:
        return None


class Resque(DelayedMixin, ScheduleMethods):
    """A Resque client on a blocking connection. Names and semantics follow Ruby's ``Resque``
    (and resque-scheduler's: delayed jobs from ``DelayedMixin``, schedules from
    ``ScheduleMethods``)."""

    ops: ResqueOperations

    def __init__(
        self,
        settings: RedisSettings | None = None,
        options: ClientOptions | None = None,
        client: redis.Redis | None = None,
    ) -> None:
        self.settings = settings or RedisSettings()
        self.options = options or ClientOptions()
        self.ops = ResqueOperations(self.settings, self.options)
        self.redis = client or self.settings.client()
        self.driver = SyncDriver(self.redis)

    @classmethod
    def from_url(
        cls, url: str | None = None, namespace: str | None = None, **options: Any
    ) -> Resque:
        """``Resque.from_url("redis://...")`` or a Ruby ``host:port:db/namespace`` string."""
        return cls(RedisSettings.from_url(url, namespace), ClientOptions(**options))

    def close(self) -> None:
        self.driver.close()
        self.redis.close()

    def __enter__(self) -> Resque:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def enqueue(self, job: JobRef, *args: Any) -> bool | None:
        return self.enqueue_to(self.ops.queue_of(job), job, *args)

    def enqueue_to(self, queue: str, job: JobRef, *args: Any) -> bool | None:
        return self.driver.run(self.ops.enqueue_to(queue, job, args))

    def enqueue_many(self, queue: str, job: JobRef, arg_lists: Iterable[Sequence[Any]]) -> int:
        return self.driver.run(self.ops.enqueue_many(queue, job, arg_lists))

    def enqueue_activejob(
        self,
        job_class: str,
        /,
        *args: Any,
        queue: str | None = None,
        priority: int | None = None,
        wait: float | None = None,
        wait_until: When | None = None,
        **kwargs: Any,
    ) -> str | None:
        """Rails' ``perform_later`` through Resque's adapter (see ``activejob``): the job_id,
        or None when a before_enqueue hook said no. ``wait``/``wait_until`` as Rails'
        ``set(wait:)``/``set(wait_until:)`` (through resque-scheduler's delayed queue)."""
        if (due := activejob_due(wait, wait_until)) is not None:
            op = enqueue_activejob_at(self.ops, job_class, args, kwargs, queue, priority, due)
            return self.driver.run(op)
        return self.driver.run(self.ops.enqueue_activejob(job_class, args, kwargs, queue, priority))

    def dequeue(self, job: JobRef, *args: Any) -> int | None:
        return self.driver.run(self.ops.dequeue(job, args))

    def destroy(self, queue: str, job: JobRef, *args: Any) -> int:
        return self.driver.run(self.ops.destroy(queue, job, args))

    def push(self, queue: str, item: Mapping[str, Any]) -> int:
        return self.driver.run(self.ops.push(queue, item))

    def pop(self, queue: str) -> Any:
        return self.driver.run(self.ops.pop(queue))

    def size(self, queue: str) -> int:
        return self.driver.run(self.ops.schema.queues.size(queue))

    def peek(self, queue: str, start: int = 0, count: int = 1) -> Any:
        return self.driver.run(self.ops.peek(queue, start, count))

    def peek_raw(self, queue: str, start: int = 0, count: int = 1) -> list[bytes]:
        """The stored bytes, undecoded: for looking at payloads that may be malformed."""
        return self.driver.run(self.ops.schema.queues.peek(queue, start, count))

    def queues(self) -> list[str]:
        return self.driver.run(self.ops.schema.queues.names())

    def queue_sizes(self) -> dict[str, int]:
        return self.driver.run(self.ops.schema.queues.sizes())

    def remove_queue(self, queue: str) -> None:
        self.driver.run(self.ops.remove_queue(queue))

    def info(self) -> dict[str, Any]:
        return self.driver.run(self.ops.info())

    def keys(self) -> list[str]:
        return self.driver.run(self.ops.schema.queues.all_keys())

    def workers(self) -> list[str]:
        return self.driver.run(self.ops.schema.workers.ids())

    def working(self) -> dict[str, Any]:
        """Busy workers and what ``worker:<id>`` says they run (decoded when it is JSON)."""
        busy = self.driver.run(self.ops.schema.workers.working())
        return {worker_id: _decode_or_raw(value) for worker_id, value in busy.items()}

    def stat(self, name: str) -> int:
        return self.driver.run(self.ops.schema.stats.get(name))


def _decode_or_raw(value: bytes) -> Any:
    try:
        return codec.decode(value)
    except DecodeError:
        return value
