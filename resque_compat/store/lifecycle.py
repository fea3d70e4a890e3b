"""A worker's own writes: startup, registration, reserving, finishing, heartbeat, unregister.

Ruby's worker pops a job (LPOP) and only then records it in ``worker:<id>`` (SET), two
round trips apart: a worker killed in between loses the job, which then exists nowhere.
Here the pop and the record are one Lua script, so a job is always either in its queue or
in ``worker:<id>``, where Ruby's and our pruning find it. Inside the script Redis runs the
same commands Ruby sends (GET pause-all-workers, LPOP per queue, SET worker:<id>), so the
keys every other tool sees are unchanged. Finishing a job and reserving the next one share
one script call, so a busy worker needs one round trip per job (Ruby needs five).

Waiting for work without polling uses ``BLMOVE q q LEFT LEFT``: it blocks until the queue
has an element, then moves the head back onto the head of the same list. The list is left
exactly as it was, nothing is ever held outside Redis, and the worker then reserves with
the script.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import codec
from ..errors import DecodeError, EncodeError
from ..keys import Keys
from .base import Operation, Script, batch, one, text, texts

PAUSED = b"paused"

# KEYS: pause-all-workers, worker:<id>, queue:<q1>, queue:<q2>, ...
# ARGV: run_at, then for each queue its name as a JSON string (written by our codec).
# Returns {index, payload, record} for the first queue that had a job (index 0: the job
# already recorded in worker:<id>, so a retried call never takes a second job), "paused",
# or nil.
_RESERVE_BODY = """
-- Whether a payload can go into the record as it is: JSON by a strict reading (no NaN, hex
-- or leading zeros, which cjson reads by default; no NUL, where cjson stops reading).
-- Anything else goes in as a JSON string. Raw tab, CR and LF are looked for (fast, plain
-- finds): cjson accepts them inside strings, Ruby's parser does not. Rarer control
-- characters are left to the worker, which rewrites such a record right after it reserved
-- (``Worker.readable``): a pattern scan of every payload costs milliseconds at 100 KB.
local function embeddable(raw)
  for _, byte in ipairs({0, 9, 10, 13}) do
    if string.find(raw, string.char(byte), 1, true) then
      return false
    end
  end
  local lenient = cjson.decode_invalid_numbers()
  cjson.decode_invalid_numbers(false)
  local ok = pcall(cjson.decode, raw)
  cjson.decode_invalid_numbers(lenient)
  return ok
end
local current = redis.call('GET', KEYS[2])
if current then
  return {0, '', current}
end
local pause = redis.call('GET', KEYS[1])
if pause and string.lower(string.match(pause, '^%s*(.-)%s*$')) == 'true' then
  return 'paused'
end
for i = 3, #KEYS do
  local raw = redis.call('LPOP', KEYS[i])
  if raw then
    local payload = raw
    if not embeddable(raw) then
      payload = cjson.encode(raw)
    end
    local record = '{"queue":' .. ARGV[i - 1] .. ',"run_at":"' .. ARGV[1] ..
      '","payload":' .. payload .. '}'
    redis.call('SET', KEYS[2], record)
    return {i - 2, raw, record}
  end
end
return false
"""

RESERVE = Script(_RESERVE_BODY)

# KEYS: as RESERVE, then stat:processed, stat:processed:<id> (appended at the end).
# ARGV: as RESERVE, then the worker:<id> record of the job being finished, then "1" when
# the next job should be reserved, "0" to only finish. Finishing is Ruby's pipelined
# DEL worker:<id> + INCRBY stat:processed 1 + INCRBY stat:processed:<id> 1 (a failed job
# counts as processed too), done only while worker:<id> still holds that job, so that a
# call repeated after a lost reply neither counts twice nor drops the next job.
DONE_AND_RESERVE = Script(
    """
local n = #KEYS
local finishing = ARGV[#ARGV - 1]
if redis.call('GET', KEYS[2]) == finishing then
  redis.call('DEL', KEYS[2])
  redis.call('INCRBY', KEYS[n - 1], 1)
  redis.call('INCRBY', KEYS[n], 1)
end
KEYS[n] = nil
KEYS[n - 1] = nil
if ARGV[#ARGV] ~= '1' then
  return false
end
"""
    + _RESERVE_BODY
)


@dataclass(frozen=True)
class Reserved:
    """A job taken from a queue and already recorded in ``worker:<id>`` as ``record``."""

    queue: str
    raw: bytes
    record: bytes


def _read_reserve(reply: Any, queues: Sequence[str]) -> Reserved | str | None:
    if reply is None:
        return None
    if reply == PAUSED:
        return "paused"
    index, raw, record = reply
    if int(index) == 0:
        return _resumed(record)
    return Reserved(queues[int(index) - 1], raw, record)


# KEYS: worker:<id>. ARGV: the record expected there, its replacement.
REPLACE_RECORD = Script(
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
)


# KEYS: worker:<id>, queue:<q>. ARGV: the record expected in worker:<id>, the payload.
# Puts a job the worker reserved but never started back at the head of its queue, only while
# worker:<id> still holds that exact record (so pruning or a second call cannot duplicate it).
RELEASE = Script(
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('LPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
"""
)


def worker_record(queue: str, run_at: str, payload: Any) -> bytes:
    """``worker:<id>`` as Ruby writes it: queue, run_at, payload (what the script builds)."""
    return codec.encode({"queue": queue, "run_at": run_at, "payload": payload})


_RUN_AT = re.compile(rb'"run_at":"([^"]*)"')


def _run_at_of(record: bytes) -> str:
    """The record's run_at, read without parsing the record (which may not parse)."""
    found = _RUN_AT.search(record)
    return found.group(1).decode("ascii", "replace") if found else ""


def embeds(job: Reserved) -> bool:
    """Whether the reserve script put the payload's own bytes into the record."""
    return job.record.endswith(b'"payload":' + job.raw + b"}")


def _resumed(record: bytes) -> Reserved:
    """A job found already recorded in ``worker:<id>``: rebuild it from the record."""
    try:
        document = codec.decode(record)
        payload = document["payload"]
        raw = (
            payload.encode("utf-8", "surrogateescape")
            if isinstance(payload, str)
            else (codec.encode(payload))
        )
        return Reserved(str(document["queue"]), raw, record)
    except (DecodeError, EncodeError, KeyError, TypeError):
        return Reserved("", record, record)


@dataclass(frozen=True)
class LifecycleOps:
    """The commands of one worker's life, for the worker id given."""

    keys: Keys
    worker_id: str

    def remove_heartbeat(self) -> Operation[None]:
        yield one(("HDEL", self.keys.heartbeats(), self.worker_id))

    def acquire_pruning_lock(self, expiry_seconds: int) -> Operation[bool]:
        """Ruby's ``SET pruning_dead_workers_in_progress <id> EX <interval> NX``."""
        reply = yield one(
            ("SET", self.keys.pruning_lock(), self.worker_id, "EX", expiry_seconds, "NX")
        )
        return bool(reply)

    def heartbeat(self, stamp: str) -> Operation[None]:
        yield one(("HSET", self.keys.heartbeats(), self.worker_id, stamp))

    def register(self, started: str) -> Operation[None]:
        yield batch(
            ("SADD", self.keys.workers(), self.worker_id),
            ("SET", self.keys.worker_started(self.worker_id), started),
        )

    def _reserve_keys(self, queues: Sequence[str]) -> tuple[str, ...]:
        return _reserve_keys(self.keys, self.worker_id, tuple(queues))

    def reserve(self, queues: Sequence[str], run_at: str) -> Operation[Reserved | str | None]:
        """Pop the first job in priority order and record it, in one script call."""
        names = _queue_names_json(tuple(queues))
        reply = yield RESERVE.call(self._reserve_keys(queues), [run_at, *names])
        return _read_reserve(reply, queues)

    def done_and_reserve(
        self,
        finished: Reserved,
        queues: Sequence[str],
        run_at: str,
        reserve: bool,
    ) -> Operation[Reserved | str | None]:
        """Finish the current job (Ruby's done_working) and reserve the next, in one call."""
        keys = _done_and_reserve_keys(self.keys, self.worker_id, tuple(queues))
        names = _queue_names_json(tuple(queues))
        args = [run_at, *names, finished.record, "1" if reserve else "0"]
        reply = yield DONE_AND_RESERVE.call(keys, args)
        return _read_reserve(reply, queues)

    def wait_for_work(self, queue: str, timeout: float) -> Operation[bool]:
        """Block until ``queue`` has a job (or the timeout passes), leaving it untouched."""
        key = self.keys.queue(queue)
        reply = yield one(("BLMOVE", key, key, "LEFT", "LEFT", timeout))
        return reply is not None

    def count_failed(self) -> Operation[None]:
        """Ruby's ``failed!``: the fleet's and this worker's failure counters."""
        yield batch(
            ("INCRBY", self.keys.stat("failed"), 1),
            ("INCRBY", self.keys.worker_stat("failed", self.worker_id), 1),
        )

    def unregister(self) -> Operation[None]:
        """Ruby's pipelined unregister: registry, job, start time, heartbeat, own stats."""
        yield from unregister_worker(self.keys, self.worker_id)

    def replace_record(self, job: Reserved, payload: Any) -> Operation[Reserved]:
        """Rewrite the job's record with ``payload`` (when the script could not embed it)."""
        record = worker_record(job.queue, _run_at_of(job.record), payload)
        yield REPLACE_RECORD.call([self.keys.worker(self.worker_id)], [job.record, record])
        return Reserved(job.queue, job.raw, record)

    def release(self, job: Reserved) -> Operation[bool]:
        """Give back a job reserved and never started: head of its queue, record removed.

        Ruby pops a job only when it is about to run it; a worker stopping between our
        reserve and the run must leave the job where Ruby would have left it.
        """
        keys = [self.keys.worker(self.worker_id), self.keys.queue(job.queue)]
        reply = yield RELEASE.call(keys, [job.record, job.raw])
        return bool(reply)

    def current_job(self) -> Operation[Any]:
        """``worker:<id>`` decoded: the job this worker has recorded as in flight (its text
        when it is not JSON), or None."""
        reply: bytes | None = yield one(("GET", self.keys.worker(self.worker_id)))
        if not reply:
            return None
        try:
            return codec.decode(reply)
        except DecodeError:
            return reply.decode("utf-8", "surrogateescape")

    def known_queues(self) -> Operation[list[str]]:
        return texts((yield one(("SMEMBERS", self.keys.queues()))))


@functools.lru_cache(maxsize=8)
def _reserve_keys(keys: Keys, worker_id: str, queues: tuple[str, ...]) -> tuple[str, ...]:
    """Built once per queue list: a busy worker needs them once per job."""
    return (keys.pause_all(), keys.worker(worker_id), *(keys.queue(q) for q in queues))


@functools.lru_cache(maxsize=8)
def _queue_names_json(queues: tuple[str, ...]) -> tuple[bytes, ...]:
    """Queue names as JSON strings for the record the script builds (our codec's bytes)."""
    return tuple(codec.encode(name) for name in queues)


@functools.lru_cache(maxsize=8)
def _done_and_reserve_keys(keys: Keys, worker_id: str, queues: tuple[str, ...]) -> tuple[str, ...]:
    return (
        *_reserve_keys(keys, worker_id, queues),
        keys.stat("processed"),
        keys.worker_stat("processed", worker_id),
    )


def unregister_worker(keys: Keys, worker_id: str) -> Operation[None]:
    """Remove every trace of a worker, as Ruby's unregister_worker does (also for pruning)."""
    yield batch(
        ("SREM", keys.workers(), worker_id),
        ("DEL", keys.worker(worker_id)),
        ("DEL", keys.worker_started(worker_id)),
        ("HDEL", keys.heartbeats(), worker_id),
        ("DEL", keys.worker_stat("processed", worker_id)),
        ("DEL", keys.worker_stat("failed", worker_id)),
    )


@dataclass(frozen=True)
class PruneOps:
    """What pruning reads about other workers."""

    keys: Keys

    def worker_ids(self) -> Operation[list[str]]:
        return texts((yield one(("SMEMBERS", self.keys.workers()))))

    def heartbeats(self) -> Operation[dict[str, str]]:
        replies = yield one(("HGETALL", self.keys.heartbeats()))
        return {text(k) or "": text(v) or "" for k, v in replies.items()}

    def job_of(self, worker_id: str) -> Operation[bytes | None]:
        reply: bytes | None = yield one(("GET", self.keys.worker(worker_id)))
        return reply
