"""Moving due delayed jobs onto their queues, the way resque-scheduler's mover does.

The move script (``store.mover.MOVE_DUE``) does the work for payloads of the usual shape. One
it cannot cut is decoded here and enqueued as Ruby's ``enqueue_from_config`` would: args that
are a hash become ``[hash]``, a missing list ``[]``; the queue is the payload's, else the
registered job's. A payload that cannot be decoded, or names no queue, is dropped with an error
in the log, as Ruby's failure handler drops a job it cannot enqueue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from .. import codec
from ..errors import DecodeError, EncodeError
from ..job import JobRegistry
from ..store import SyncDriver
from ..store.mover import MoverOps

log = logging.getLogger(__name__)


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
            result = self.driver.run(self.ops.move_due(int(time.time()), self.budget))
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
            result = self.driver.run(self.ops.move_due(timestamp, self.budget, timestamp))
            total += result.moved
            if result.odd_payload is not None and result.odd_timestamp is not None:
                total += self._move_odd(result.odd_timestamp, result.odd_payload)
            elif result.moved < self.budget:
                return total

    def next_timestamp(self) -> int | None:
        return self.driver.run(self.ops.first_timestamp())

    def _move_odd(self, timestamp: int, payload: bytes) -> int:
        queue, pushed = self._as_enqueued(payload)
        if not queue:
            log.error("dropping delayed job at %d that cannot be enqueued: %r", timestamp, payload)
        moved = self.driver.run(self.ops.move_one(timestamp, payload, queue, pushed))
        return int(moved and bool(queue))

    def _as_enqueued(self, payload: bytes) -> tuple[str, bytes]:
        """The queue and the payload Ruby would push for a delayed payload ("" if none)."""
        try:
            document = codec.decode(payload)
            class_name = _class_name(document)
            queue = document.get("queue") or self._registered_queue(class_name)
            if not isinstance(queue, str) or not queue:
                return "", b""
            return queue, codec.encode_payload(class_name, _params(document.get("args")))
        except (DecodeError, EncodeError, AttributeError, TypeError):
            return "", b""

    def _registered_queue(self, class_name: str) -> str | None:
        spec = self.registry.get(class_name)
        return None if spec is None else spec.queue


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
