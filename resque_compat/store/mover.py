"""The scheduler's side of resque-scheduler's keys: moving due jobs, the master lock, wake-ups.

resque-scheduler moves a timestamp's jobs in batches of ``WATCH``/``MULTI`` (``LRANGE``, then
per job ``SREM timestamps:<json>`` and ``Resque.enqueue_to``, then ``LTRIM``). Here one Lua
script does the same moves, so that a job is either still in its ``delayed:<ts>`` list or on its
queue, never both and never neither, whenever the process dies. The enqueued payload is the
delayed one without its ``"queue"`` member, cut from the bytes (``{"class":..,"args":[..]}``,
what Ruby's re-encoding of a Ruby- or resque-compat-written payload gives); a payload not of
that exact shape is returned to the caller, which decodes it and moves it with a second script.

The master lock follows ``Lock::Resilient``: ``SETNX`` + ``EXPIRE`` to take it, ``GET`` +
``EXPIRE`` to keep it, each in a script; taking and keeping are one script here (the same
effect as Ruby's ``acquire! || locked?``, one round trip).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from ..keys import DELAYED_MEMBER_PREFIX, Keys, delayed_member
from .base import Arg, Operation, Script, lua_source, one

MOVE_DUE = Script(lua_source("move_due"))

MOVE_ONE = Script(lua_source("move_one"))

_TAKE_OR_KEEP_LOCK = Script(lua_source("take_or_keep_lock"))

# Ruby's ``release``: delete the master lock only while it is ours (same rule as pruning's).
_RELEASE_LOCK = Script(lua_source("release_lock"))


@dataclass(frozen=True)
class MoveResult:
    """What one call of the move script did: jobs moved, and a payload it left for Python."""

    moved: int
    odd_timestamp: int | None = None
    odd_payload: bytes | None = None


@dataclass(frozen=True)
class MoverOps:
    keys: Keys
    lock_prefix: str = ""

    def move_due(
        self, now: int, budget: int, since: int | None = None, hooked: Sequence[str] = ()
    ) -> Operation[MoveResult]:
        """Move jobs due by ``now`` (from ``since`` on, when given), ``budget`` at most;
        a job of a ``hooked`` class is handed back as odd, for the caller to move."""
        lowest: Arg = "-inf" if since is None else since
        prefixes = (
            self.keys.delayed_prefix(),
            DELAYED_MEMBER_PREFIX,
            self.keys.delayed_timestamps_prefix(),
            self.keys.queue(""),
        )
        reply = yield MOVE_DUE.call(
            (self.keys.delayed_schedule(), self.keys.queues()),
            (*prefixes, now, budget, lowest, *hooked),
        )
        if len(reply) == 1:
            return MoveResult(int(reply[0]))
        return MoveResult(int(reply[0]), int(reply[1]), bytes(reply[2]))

    def move_one(
        self, timestamp: int, payload: bytes, queue: str, pushed: bytes
    ) -> Operation[bool]:
        """Move (or, with queue ``""``, drop) the head of ``delayed:<ts>`` if it is ``payload``."""
        keys = (
            self.keys.delayed(timestamp),
            self.keys.delayed_timestamps(payload),
            self.keys.queues(),
            self.keys.queue(queue),
            self.keys.delayed_schedule(),
        )
        args = (payload, delayed_member(timestamp), queue, pushed, timestamp)
        return bool((yield MOVE_ONE.call(keys, args)))

    def first_timestamp(self) -> Operation[int | None]:
        found = yield one(("ZRANGE", self.keys.delayed_schedule(), 0, 0))
        return int(found[0]) if found else None

    def take_or_keep_lock(self, value: str, timeout: int) -> Operation[bool]:
        key = self.keys.scheduler_master_lock(self.lock_prefix)
        return bool((yield _TAKE_OR_KEEP_LOCK.call((key,), (value, timeout))))

    def release_lock(self, value: str) -> Operation[bool]:
        key = self.keys.scheduler_master_lock(self.lock_prefix)
        return bool((yield _RELEASE_LOCK.call((key,), (value,))))

    def lock_holder(self) -> Operation[str | None]:
        key = self.keys.scheduler_master_lock(self.lock_prefix)
        found = yield one(("GET", key))
        return None if found is None else bytes(found).decode("utf-8", "replace")


class Wakeups:
    """The Python producers' wake-up channel, subscribed once and read with a timeout.

    Subscribed before the scheduler first reads the schedule, so a timestamp published while
    it reads or computes its sleep waits in the socket and ends the next wait at once.
    """

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(keys.delayed_wakeup())

    def wait(self, timeout: float) -> int | None:
        """The earliest timestamp published within ``timeout`` seconds (None if none was)."""
        deadline = time.monotonic() + timeout
        earliest: int | None = None
        while earliest is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            earliest = _timestamp(self._pubsub.get_message(timeout=left))
        while (more := self._pubsub.get_message(timeout=0)) is not None:
            later = _timestamp(more)
            earliest = earliest if later is None else min(earliest, later)
        return earliest

    def close(self) -> None:
        self._pubsub.close()


def _timestamp(message: Any) -> int | None:
    if not message or message.get("type") != "message":
        return None
    try:
        return int(message["data"])
    except (TypeError, ValueError):
        return None
