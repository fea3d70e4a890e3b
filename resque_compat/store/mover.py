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
from dataclasses import dataclass
from typing import Any

import redis

from ..keys import DELAYED_MEMBER_PREFIX, Keys, delayed_member
from .base import Arg, Operation, Script, one

# KEYS: delayed_queue_schedule, queues. ARGV: the key prefixes (from keys.py) of delayed:<ts>
# lists, of their bare names in timestamps: sets, of timestamps: sets and of queue: lists; now
# (whole seconds), budget, lowest timestamp ('-inf' for all).
# Returns {moved} or, when it met a payload it cannot cut, {moved, timestamp, payload}.
MOVE_DUE = Script(
    r"""
local schedule, queues = KEYS[1], KEYS[2]
local delayed, member_prefix, timestamps, queue_prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local now, budget, lowest = ARGV[5], tonumber(ARGV[6]), ARGV[7]
local moved = 0
while moved < budget do
  local due = redis.call('ZRANGEBYSCORE', schedule, lowest, now, 'LIMIT', 0, 1)[1]
  if not due then return {moved} end
  local member = member_prefix .. due
  local key = delayed .. due
  local jobs = redis.call('LRANGE', key, 0, budget - moved - 1)
  local taken, odd = 0, nil
  for _, job in ipairs(jobs) do
    local body, quoted = string.match(job, '^({"class":"[^"\\]*","args":%[.*),"queue":(".*")}$')
    local ok, queue = false, nil
    if body then ok, queue = pcall(cjson.decode, quoted) end
    if not ok or type(queue) ~= 'string' or queue == '' then
      odd = job
      break
    end
    redis.call('SREM', timestamps .. job, member)
    redis.call('SADD', queues, queue)
    redis.call('RPUSH', queue_prefix .. queue, body .. '}')
    taken = taken + 1
  end
  if taken > 0 then redis.call('LTRIM', key, taken, -1) end
  moved = moved + taken
  if odd then return {moved, due, odd} end
  if redis.call('LLEN', key) == 0 then
    redis.call('DEL', key)
    redis.call('ZREM', schedule, due)
  end
end
return {moved}
"""
)

# KEYS: delayed:<ts>, timestamps:<payload>, queues, queue:<q>, delayed_queue_schedule.
# ARGV: payload, delayed:<ts>, queue ('' drops the job), payload to push, ts.
# Moves the head of a timestamp's list if it is still that payload.
MOVE_ONE = Script(
    """
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then return 0 end
redis.call('LPOP', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
if ARGV[3] ~= '' then
  redis.call('SADD', KEYS[3], ARGV[3])
  redis.call('RPUSH', KEYS[4], ARGV[4])
end
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[5], ARGV[5])
end
return 1
"""
)

# KEYS: the master lock. ARGV: host:pid, timeout in seconds. 1 while we are master.
_TAKE_OR_KEEP_LOCK = Script(
    """
if redis.call('SETNX', KEYS[1], ARGV[1]) == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
)

# KEYS: the master lock. ARGV: host:pid. Ruby's ``release``: delete it only if it is ours.
_RELEASE_LOCK = Script(
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
)


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

    def move_due(self, now: int, budget: int, since: int | None = None) -> Operation[MoveResult]:
        """Move jobs due by ``now`` (from ``since`` on, when given), ``budget`` at most."""
        lowest: Arg = "-inf" if since is None else since
        prefixes = (
            self.keys.delayed_prefix(),
            DELAYED_MEMBER_PREFIX,
            self.keys.delayed_timestamps_prefix(),
            self.keys.queue(""),
        )
        reply = yield MOVE_DUE.call(
            (self.keys.delayed_schedule(), self.keys.queues()), (*prefixes, now, budget, lowest)
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
