"""A read-only snapshot of the whole fleet, for operator views (``top``, ``metrics``).

Everything here is read from the keys any Resque writes, so a fleet of Ruby workers,
Python workers and node-resque workers shows up the same way, and a fleet with no Python
worker at all is fully visible. Nothing is written: looking at a fleet must never change
it (Ruby's ``Worker.all`` is careful in the same way; its pruning is what writes).

The snapshot is a handful of round trips, not a transaction: a worker that finishes a job
while it is read may show up as idle with the job already counted, or the reverse. That is
what resque-web shows too, and it is exact again one refresh later.

Ages are measured against the Redis server's ``TIME``, the clock heartbeats are written
in and the one Ruby's pruning compares them with, so a view running on a machine whose
clock is off still flags exactly the workers Ruby would prune.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import codec
from .errors import DecodeError
from .failure import RawRecord, read_record
from .keys import FAILED, PROCESSED, Keys
from .store import Schema
from .store.base import Operation, server_time
from .store.control import PauseOps
from .store.workers import WorkerDetails
from .timefmt import parse_heartbeat

__all__ = [
    "PRUNE_AGE",
    "DelayedView",
    "FailureView",
    "FleetSnapshot",
    "Rates",
    "RunningJob",
    "WorkerView",
    "moment",
    "parse_worker_id",
    "rates_between",
    "read_snapshot",
]

PRUNE_AGE = 300.0
"""Ruby's default ``prune_interval``: a heartbeat older than this gets a worker pruned by the
next Ruby worker that starts, and its job recorded as a ``PruneDeadWorkerDirtyExit``."""

TIME_LAYOUTS = (
    "%Y-%m-%d %H:%M:%S %z",  # worker:<id>:started, Ruby's Time#to_s
    "%a %b %d %Y %H:%M:%S GMT%z",  # node-resque's run_at, JavaScript's Date#toString
)
"""The non-ISO times workers write; ISO 8601 (heartbeats, Ruby's run_at) and node-resque's
epoch seconds (its ``started``) are read as well."""


@dataclass(frozen=True)
class RunningJob:
    """What ``worker:<id>`` says a worker is running.

    ``class_name`` and ``args`` are None when the record is not the usual
    ``{"queue","run_at","payload":{"class","args"}}`` (a foreign or damaged record is still
    shown, never an error). ``runtime`` is None when ``run_at`` cannot be read.
    """

    queue: str
    class_name: str | None
    args: Any
    run_at: str | None
    runtime: float | None


@dataclass(frozen=True)
class WorkerView:
    """One registered worker as an operator wants to see it.

    ``host``, ``pid`` and ``queues`` come from the id the way Ruby's ``Worker.find`` splits
    it (``host:pid:q1,q2``); ``pid`` is None when that part is not a number.
    """

    id: str
    host: str
    pid: int | None
    queues: tuple[str, ...]
    job: RunningJob | None
    started: str | None
    uptime: float | None
    heartbeat_age: float | None
    processed: int
    failed: int

    @property
    def state(self) -> str:
        """Ruby's ``Worker#state``: working while ``worker:<id>`` holds a job, else idle."""
        return "working" if self.job is not None else "idle"

    @property
    def stale(self) -> bool:
        """Whether its heartbeat is old enough for the next Ruby worker to prune it."""
        return self.heartbeat_age is not None and self.heartbeat_age > PRUNE_AGE


@dataclass(frozen=True)
class FailureView:
    """One failure record, reduced to what a one-line summary needs."""

    list_name: str
    failed_at: str
    queue: str
    class_name: str
    exception: str
    error: str
    worker: str


@dataclass(frozen=True)
class DelayedView:
    """resque-scheduler's delayed jobs and master lock, whichever scheduler wrote them.

    ``overdue`` is how long ago the earliest timestamp fell due, 0 while none has. A master
    moves a timestamp within its interval of it falling due (up to 5 s with Ruby's default,
    milliseconds with ours), so an ``overdue`` that keeps growing means no scheduler is
    moving jobs: none holds the lock, or the one that does is stuck.
    """

    timestamps: int
    jobs: int
    next_due: int | None
    overdue: float
    master: str | None
    master_ttl: int | None


@dataclass(frozen=True)
class FleetSnapshot:
    """Queues, workers, counters and recent failures, read at ``server_time`` (Redis TIME);
    ``delayed`` when asked for (it costs a round trip per 1,000 delayed timestamps)."""

    server_time: float
    queues: Mapping[str, int]
    workers: tuple[WorkerView, ...]
    processed: int
    failed: int
    failed_lists: Mapping[str, int]
    recent_failures: tuple[FailureView, ...]
    paused: bool
    delayed: DelayedView | None = None

    @property
    def pending(self) -> int:
        return sum(self.queues.values())

    @property
    def working(self) -> int:
        return sum(1 for worker in self.workers if worker.job is not None)

    @property
    def stale(self) -> int:
        return sum(1 for worker in self.workers if worker.stale)

    @property
    def failed_entries(self) -> int:
        """Records kept in every failure list (``stat:failed`` counts all failures ever)."""
        return sum(self.failed_lists.values())


@dataclass(frozen=True)
class Rates:
    """Per-second changes between two snapshots, by the Redis clock.

    A queue's rate is its net growth (enqueued minus taken): Resque keeps no per-queue
    counters, so that is all the keys can tell. A counter that went down was reset
    (``Resque::Stat.clear``); as Prometheus does, its new value counts as the increase.
    """

    seconds: float
    processed: float
    failed: float
    queues: Mapping[str, float]


def read_snapshot(
    keys: Keys, recent_failures: int = 5, *, delayed: bool = False, lock_prefix: str = ""
) -> Operation[FleetSnapshot]:
    """Read the fleet under ``keys``' namespace, with up to ``recent_failures`` newest failures,
    and with ``delayed``, the delayed jobs and the master lock of schedulers started with
    ``RESQUE_SCHEDULER_MASTER_LOCK_PREFIX=lock_prefix``."""
    schema = Schema(keys)
    now = yield from server_time()
    queues = yield from schema.queues.sizes()
    processed = yield from schema.stats.get(PROCESSED)
    failed = yield from schema.stats.get(FAILED)
    workers = yield from _read_workers(schema, now)
    failed_lists = yield from _read_failed_lists(schema)
    recent = yield from _read_recent_failures(schema, failed_lists, recent_failures)
    pause = yield from PauseOps(schema.keys).value()
    scheduled = (yield from _read_delayed(schema, now, lock_prefix)) if delayed else None
    return FleetSnapshot(
        server_time=now,
        queues=queues,
        workers=workers,
        processed=processed,
        failed=failed,
        failed_lists=failed_lists,
        recent_failures=recent,
        paused=pause is not None and pause.strip().lower() == "true",
        delayed=scheduled,
    )


def _read_delayed(schema: Schema, now: float, lock_prefix: str) -> Operation[DelayedView]:
    found = yield from schema.delayed.overview(lock_prefix)
    first = found.first
    return DelayedView(
        timestamps=found.timestamps,
        jobs=found.jobs,
        next_due=first,
        overdue=0.0 if first is None else max(0.0, now - first),
        master=found.master,
        master_ttl=found.master_ttl,
    )


def rates_between(before: FleetSnapshot, after: FleetSnapshot) -> Rates | None:
    """Rates from ``before`` to ``after``; None when no time passed between them."""
    seconds = after.server_time - before.server_time
    if seconds <= 0:
        return None
    queues = {
        name: (size - before.queues.get(name, 0)) / seconds for name, size in after.queues.items()
    }
    return Rates(
        seconds=seconds,
        processed=_increase(before.processed, after.processed) / seconds,
        failed=_increase(before.failed, after.failed) / seconds,
        queues=queues,
    )


def _increase(before: int, after: int) -> int:
    return after - before if after >= before else after


def parse_worker_id(worker_id: str) -> tuple[str, int | None, tuple[str, ...]]:
    """``host:pid:q1,q2`` split as Ruby's ``Worker.find`` splits it (at the first two ``:``)."""
    host, _, rest = worker_id.partition(":")
    pid_text, _, queues = rest.partition(":")
    digits = re.match(r"\d+", pid_text)  # Ruby's to_i: node-resque's "1234+1" is pid 1234
    pid = int(digits[0]) if digits else None
    return host, pid, tuple(queues.split(",")) if queues else ()


def _read_workers(schema: Schema, now: float) -> Operation[tuple[WorkerView, ...]]:
    ids = yield from schema.workers.ids()
    jobs = yield from schema.workers.payloads(ids)
    heartbeats = yield from schema.workers.heartbeats()
    details = yield from schema.workers.details(ids)
    return tuple(
        _worker_view(wid, jobs.get(wid), heartbeats.get(wid), details[wid], now) for wid in ids
    )


def _worker_view(
    worker_id: str, job: bytes | None, heartbeat: str | None, details: WorkerDetails, now: float
) -> WorkerView:
    host, pid, queues = parse_worker_id(worker_id)
    beat = parse_heartbeat(heartbeat) if heartbeat else None
    started_at = moment(details.started)
    return WorkerView(
        id=worker_id,
        host=host,
        pid=pid,
        queues=queues,
        job=_running_job(job, now) if job else None,
        started=details.started,
        uptime=None if started_at is None else now - started_at,
        heartbeat_age=None if beat is None else now - beat,
        processed=details.processed,
        failed=details.failed,
    )


def _running_job(raw: bytes, now: float) -> RunningJob:
    try:
        record = codec.decode(raw)
    except DecodeError:
        record = None
    if not isinstance(record, dict):
        return RunningJob("", None, None, None, None)
    payload = record.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    class_name = payload.get("class")
    run_at = record.get("run_at")
    run_at = run_at if isinstance(run_at, str) else None
    began = moment(run_at)
    return RunningJob(
        queue=str(record.get("queue") or ""),
        class_name=class_name if isinstance(class_name, str) else None,
        args=payload.get("args"),
        run_at=run_at,
        runtime=None if began is None else now - began,
    )


def moment(value: str | None) -> float | None:
    """Epoch seconds of a time any Resque wrote (Ruby, Python, node-resque); None if unknown."""
    text = (value or "").strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    for layout in TIME_LAYOUTS:
        try:
            return datetime.strptime(text.split(" (")[0], layout).timestamp()
        except ValueError:
            continue
    return parse_heartbeat(text)


def _read_failed_lists(schema: Schema) -> Operation[dict[str, int]]:
    """``failed`` and every RedisMultiQueue ``<queue>_failed`` list, with their lengths."""
    extra = yield from schema.failed.list_names()
    names = [schema.failed.default_list, *(n for n in extra if n != schema.failed.default_list)]
    counts = yield from schema.failed.counts(names)
    return dict(zip(names, counts, strict=True))


def _read_recent_failures(
    schema: Schema, lists: Mapping[str, int], limit: int
) -> Operation[tuple[FailureView, ...]]:
    """The newest ``limit`` records over every list, newest first.

    Each list is appended to (RPUSH), so its newest records are its last ones. Records of
    several lists (RedisMultiQueue) are merged by ``failed_at``, whose layout sorts as text
    within one time zone; a single list keeps its own order, unreadable records included.
    """
    if limit <= 0:
        return ()
    found: list[FailureView] = []
    for name, length in lists.items():
        if length:
            count = min(limit, length)
            raws = yield from schema.failed.range(name, -count, count)
            found += [_failure_view(name, raw) for raw in raws]
    if len({failure.list_name for failure in found}) > 1:
        found.sort(key=lambda failure: failure.failed_at)
    return tuple(reversed(found[-limit:]))


def _failure_view(list_name: str, raw: bytes) -> FailureView:
    record = read_record(raw)
    if isinstance(record, RawRecord):
        return FailureView(list_name, "", "", "", "(unreadable record)", record.reason, "")
    payload = record.get("payload")
    class_name = payload.get("class") if isinstance(payload, dict) else None
    return FailureView(
        list_name=list_name,
        failed_at=_field(record, "failed_at"),
        queue=_field(record, "queue"),
        class_name=class_name if isinstance(class_name, str) else "",
        exception=_field(record, "exception"),
        error=_field(record, "error"),
        worker=_field(record, "worker"),
    )


def _field(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    return value if isinstance(value, str) else ""
