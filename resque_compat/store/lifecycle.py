"""A worker's own writes: startup, registration, reserving, finishing, heartbeat, unregister.

Ruby's worker pops a job (LPOP) and only then records it in ``worker:<id>`` (SET), two
round trips apart: a worker killed in between loses the job, which then exists nowhere.
Here the pop and the record are one Lua script, so a job is always either in its queue or
in ``worker:<id>``, where Ruby's and our pruning find it. Inside the script Redis runs the
same commands Ruby sends (GET pause-all-workers, LPOP per queue, SET worker:<id>), so the
keys every other tool sees are unchanged. Finishing a job and reserving the next one share
one script call, so a busy worker needs one round trip per job (Ruby needs five).

Waiting for work without polling is ``waiting``'s: it leaves the queues as they were.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from .. import codec
from ..errors import DecodeError, EncodeError
from ..keys import FAILED, PROCESSED, Keys
from .base import Operation, Script, batch, lua_source, one, text, texts

PAUSED = b"paused"

# The scripts and their KEYS/ARGV contracts are in ``scripts/*.lua``. Finishing a job and
# reserving the next is one script: finish.lua's body followed by reserve.lua's.
RESERVE = Script(lua_source("md5") + lua_source("reserve"))
DONE_AND_RESERVE = Script(lua_source("md5") + lua_source("finish") + lua_source("reserve"))
REPLACE_RECORD = Script(lua_source("replace_record"))
RELEASE = Script(lua_source("release"))


@dataclass(frozen=True)
class Reserved:
    """A job taken from a queue and already recorded in ``worker:<id>`` as ``record``;
    ``loner`` is the resque-loner digest whose marker the reserve deleted ('' for none)."""

    queue: str
    raw: bytes
    record: bytes
    loner: str = ""


@dataclass(frozen=True)
class QueueList:
    """The queues to reserve from, in priority order, and, for a list resolved from ``*``,
    globs or ``!skip`` patterns, the ``queues`` set it was resolved from (None when static).
    The reserve script checks that set on every call, as Ruby resolves on every reserve."""

    names: tuple[str, ...]
    known: tuple[str, ...] | None = None
    unique: tuple[str, ...] = ()
    """Job classes known to be unique (resque-loner): their markers are deleted at reserve."""


@dataclass(frozen=True)
class QueuesChanged:
    """The ``queues`` set differs from the one the list was resolved from: resolve again."""

    known: tuple[str, ...]


@dataclass(frozen=True)
class Finished:
    """The next reservation, and whether finishing deleted the job's resque-loner marker
    (then its class is unique: the worker passes it in ``QueueList.unique`` from then on)."""

    next: ReserveReply
    cleared_marker: bool


ReserveReply = Reserved | QueuesChanged | str | None


@dataclass(frozen=True)
class FailurePush:
    """A failure record for a list the finishing script pushes it to: the list's bare name
    (``failed``, ``<queue>_failed``), the record's bytes, and whether the name goes into
    ``failed_queues`` first (RedisMultiQueue). Pushed in the script, guarded by
    ``worker:<id>`` like the counters, a retried finish cannot record the failure twice."""

    list_name: str
    record: bytes
    registered: bool = False


@dataclass(frozen=True)
class Ending:
    """How a job ends: the failure record to push (None: none, or already saved by another
    backend), whether it counts in ``stat:failed``, whether to reserve the next job, and the
    resque-loner digest whose marker to delete ('' for none: no such job, or the reserve
    deleted it)."""

    failure: FailurePush | None = None
    count_failed: bool = False
    reserve_next: bool = True
    loner: str = ""


def _read_reserve(reply: Any, queues: QueueList, run_at: str) -> ReserveReply:
    if reply is None:
        return None
    if reply == PAUSED:
        return "paused"
    if int(reply[0]) == -1:
        return QueuesChanged(tuple(texts(reply[1:])))
    index, raw, digest = int(reply[0]), reply[1], reply[2]
    if index == 0:
        return _resumed(raw)
    queue = queues.names[index - 1]
    record = _record_prefix(queue, run_at) + raw + b"}"
    return Reserved(queue, raw, record, digest.decode("ascii"))


@functools.lru_cache(maxsize=64)
def _record_prefix(queue: str, run_at: str) -> bytes:
    """The bytes reserve.lua writes before the payload: the script returns only the payload,
    and the record is rebuilt here from what the worker sent it."""
    return b'{"queue":' + codec.encode(queue) + b',"run_at":"' + run_at.encode() + b'","payload":'


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

    def reserve(self, queues: QueueList, run_at: str) -> Operation[ReserveReply]:
        """Pop the first job in priority order and record it, in one script call."""
        keys = _reserve_keys(self.keys, self.worker_id, queues.names)
        reply = yield RESERVE.call(keys, [run_at, *_reserve_args(self.keys, queues)])
        return _read_reserve(reply, queues, run_at)

    def done_and_reserve(
        self, finished: Reserved, queues: QueueList, run_at: str, ending: Ending
    ) -> Operation[Finished]:
        """Finish the current job as ``ending`` says (its failure record, Ruby's ``failed!``,
        ``done_working``) and reserve the next, in one call that is safe to repeat."""
        push = ending.failure or FailurePush("", b"")
        failures = self.keys.failed_list(push.list_name) if push.list_name else self.keys.failed()
        keys = (
            *_done_and_reserve_keys(self.keys, self.worker_id, queues.names),
            failures,
            self.keys.failed_queues(),
            self.keys.loner(finished.queue, ending.loner) if ending.loner else "",
        )
        args = [
            run_at,
            *_reserve_args(self.keys, queues, bool(ending.loner)),
            finished.record,
            push.record,
            push.list_name if push.registered else "",
            "1" if ending.count_failed else "0",
            "1" if ending.reserve_next else "0",
        ]
        reply = yield DONE_AND_RESERVE.call(keys, args)
        reserved = _read_reserve(reply, queues, run_at)
        return Finished(reserved, isinstance(reserved, Reserved) and int(reply[3]) > 0)

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


@functools.lru_cache(maxsize=8)
def _reserve_keys(keys: Keys, worker_id: str, queues: tuple[str, ...]) -> tuple[str, ...]:
    """Built once per queue list: a busy worker needs them once per job."""
    return (
        keys.pause_all(),
        keys.worker(worker_id),
        keys.queues(),
        *(keys.queue(q) for q in queues),
    )


@functools.lru_cache(maxsize=8)
def _reserve_args(
    keys: Keys, queues: QueueList, marker_to_delete: bool = False
) -> tuple[str | bytes, ...]:
    """The known set (its size, -1 when static, then its names), the queue names as JSON
    strings for the record the script builds (our codec's bytes), then the unique classes
    and, when there are any or a finished job's marker is to be deleted (its class may be
    unique), each queue's loner key without its digest."""
    known = () if queues.known is None else queues.known
    count = -1 if queues.known is None else len(known)
    names = (codec.encode(name) for name in queues.names)
    wanted = queues.unique or marker_to_delete
    loners = (keys.loner(name, "") for name in queues.names) if wanted else ()
    return (str(count), *known, *names, str(len(queues.unique)), *queues.unique, *loners)


@functools.lru_cache(maxsize=8)
def _done_and_reserve_keys(keys: Keys, worker_id: str, queues: tuple[str, ...]) -> tuple[str, ...]:
    return (
        *_reserve_keys(keys, worker_id, queues),
        keys.stat(PROCESSED),
        keys.worker_stat(PROCESSED, worker_id),
        keys.stat(FAILED),
        keys.worker_stat(FAILED, worker_id),
    )


def unregister_worker(keys: Keys, worker_id: str) -> Operation[None]:
    """Remove every trace of a worker, as Ruby's unregister_worker does (also for pruning)."""
    yield batch(
        ("SREM", keys.workers(), worker_id),
        ("DEL", keys.worker(worker_id)),
        ("DEL", keys.worker_started(worker_id)),
        ("HDEL", keys.heartbeats(), worker_id),
        ("DEL", keys.worker_stat(PROCESSED, worker_id)),
        ("DEL", keys.worker_stat(FAILED, worker_id)),
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
