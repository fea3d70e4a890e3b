"""Moving due delayed jobs onto their queues, the way resque-scheduler's mover does.

The move script (``store.mover.MOVE_DUE``) does the work for payloads of the usual shape. One
it cannot cut is decoded here and enqueued as Ruby's ``enqueue_from_config`` would: args that
are a hash become ``[hash]``, a missing list ``[]``; the queue is the payload's, else the
registered job's. A payload that cannot be decoded, or names no queue, is dropped with an error
in the log, as Ruby's failure handler drops a job it cannot enqueue.

A job whose class is registered here with schedule or enqueue hooks is handed back by the
script too, and moved with them, as ``enqueue_from_config`` runs them for a class it can
load: ``before_schedule`` (False drops the job, as Ruby's batch has already trimmed it),
``before_delayed_enqueue``, ``before_enqueue`` (False drops it), the move, ``after_enqueue``,
``after_schedule``. The move itself stays atomic; the hooks run again if the scheduler dies
between them and the move.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from .. import codec
from ..errors import DecodeError, EncodeError
from ..job import JobRegistry, JobSpec
from ..store import SyncDriver
from ..store.mover import MoverOps

log = logging.getLogger(__name__)

HOOKS = (
    "before_schedule",
    "before_delayed_enqueue",
    "before_enqueue",
    "after_enqueue",
    "after_schedule",
)


class DelayedMover:
    """Moves every due job, a script call (``move_budget`` jobs at most) per round trip."""

    def __init__(
        self, driver: SyncDriver, ops: MoverOps, registry: JobRegistry, budget: int = 1000
    ) -> None:
        self.driver = driver
        self.ops = ops
        self.registry = registry
        self.budget = budget

    def move_due(self, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Everything due by the current second; the number of jobs moved."""
        total = 0
        while not should_stop():
            now = int(time.time())
            result = self.driver.run(self.ops.move_due(now, self.budget, hooked=self._hooked()))
            total += result.moved
            if result.odd_payload is not None and result.odd_timestamp is not None:
                total += self._move_odd(result.odd_timestamp, result.odd_payload)
            elif result.moved < self.budget:
                break
        return total

    def move_timestamp(self, timestamp: int) -> int:
        """Every job of one timestamp now, due or not (resque-web's "Enqueue now")."""
        total = 0
        while True:
            move = self.ops.move_due(timestamp, self.budget, timestamp, self._hooked())
            result = self.driver.run(move)
            total += result.moved
            if result.odd_payload is not None and result.odd_timestamp is not None:
                total += self._move_odd(result.odd_timestamp, result.odd_payload)
            elif result.moved < self.budget:
                return total

    def next_timestamp(self) -> int | None:
        return self.driver.run(self.ops.first_timestamp())

    def _hooked(self) -> list[str]:
        return [spec.name for spec in self.registry if _has_hooks(spec)]

    def _move_odd(self, timestamp: int, payload: bytes) -> int:
        job = self._as_enqueued(payload)
        if job is None:
            log.error("dropping delayed job at %d that cannot be enqueued: %r", timestamp, payload)
            return self._move_one(timestamp, payload, "", b"")
        spec = self.registry.get(job.class_name)
        if spec is None or not _has_hooks(spec):
            return self._move_one(timestamp, payload, job.queue, job.payload)

        def enqueue() -> int:
            """``Resque.enqueue_to`` as one atomic move: ``before_enqueue`` (False drops the
            job), the move, ``after_enqueue``."""
            accepted = spec.run_enqueue_hooks("before_enqueue", job.args)
            moved = self._move_one(timestamp, payload, job.queue if accepted else "", job.payload)
            if moved:
                spec.run_enqueue_hooks("after_enqueue", job.args)
            return moved

        moved = spec.around_schedule(job.args, enqueue)
        if moved is None:  # before_schedule said no: Ruby's batch has taken it off already
            return self._move_one(timestamp, payload, "", b"")
        return moved

    def _move_one(self, timestamp: int, payload: bytes, queue: str, pushed: bytes) -> int:
        """Move the head of ``delayed:<ts>`` if it is ``payload`` (``queue`` "": drop it)."""
        moved = self.driver.run(self.ops.move_one(timestamp, payload, queue, pushed))
        return int(moved and bool(queue))

    def _as_enqueued(self, payload: bytes) -> _Enqueued | None:
        """What Ruby would enqueue for a delayed payload; None when it cannot be enqueued."""
        try:
            document = codec.decode(payload)
            class_name = _class_name(document)
            queue = document.get("queue") or self._registered_queue(class_name)
            args = _params(document.get("args"))
            if not isinstance(queue, str) or not queue:
                return None
            return _Enqueued(queue, class_name, args, codec.encode_payload(class_name, args))
        except (DecodeError, EncodeError, AttributeError, TypeError):
            return None

    def _registered_queue(self, class_name: str) -> str | None:
        spec = self.registry.get(class_name)
        return None if spec is None else spec.queue


class _Enqueued(NamedTuple):
    queue: str
    class_name: str
    args: list[Any]
    payload: bytes


def _has_hooks(spec: JobSpec) -> bool:
    return any(spec.hooks[kind] for kind in HOOKS)


def _class_name(document: Any) -> str:
    """The class to enqueue: a ``custom_job_class`` (other than Resque::Job) wins, as in Ruby
    when that class cannot be loaded."""
    custom = document.get("custom_job_class")
    name = custom if custom and custom != "Resque::Job" else document.get("class")
    if not isinstance(name, str) or not name:
        raise TypeError("no class")
    return name


def _params(args: Any) -> list[Any]:
    """Ruby's ``args.is_a?(Hash) ? [args] : Array(args)``."""
    if isinstance(args, dict):
        return [args]
    if args is None:
        return []
    return list(args) if isinstance(args, list) else [args]
