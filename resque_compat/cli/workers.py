"""``resque-compat workers list|prune``: the worker registry, as Ruby's ``resque list`` and a
worker's startup pruning see it.

``prune`` runs Ruby's two rules (``Worker#prune_dead_workers``) without being a worker, so
it must be stricter than a worker where a worker's rule relies on being one:

========================================  ================================================
a registered or heartbeating worker...    ``workers prune``
========================================  ================================================
on this host, its pid a running process   kept, whatever its heartbeat says: it is alive
heartbeat older than ``--prune-interval``  pruned, any host (Ruby's first rule); its job
(Redis ``TIME``, whole seconds)           becomes a ``Resque::PruneDeadWorkerDirtyExit``
registered on this host, pid not running  pruned (Ruby's second rule); its job becomes a
                                          ``Resque::DirtyExit``
anything else                             kept (another host without an expired heartbeat,
                                          a pid that is not a number: nothing proves it dead)
========================================  ================================================

Ruby's second rule only looks at workers on the pruner's own queue set and calls a pid dead
when no process titled ``resque-...`` has it, because a worker of another language on the
same host may not carry that title. With no queue set of its own, the command asks a
stricter question instead: does any process have that pid? A worker of any language is
then safe, at the price of keeping a dead worker whose pid was reused.

Ruby's ``pruning_dead_workers_in_progress`` lock is taken when free (so a worker starting
meanwhile does not prune too) and given back at the end; a worker that took it at startup
keeps it for a minute, so it is not waited for: each dead worker's job is claimed with
``GETDEL`` instead (see ``store.control``). ``--dry-run`` reads the same facts, writes nothing.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from .. import codec
from ..codec import JsonStyle
from ..connection import RedisSettings
from ..errors import DecodeError
from ..failure import Failure, FailureBackend
from ..store import SyncDriver
from ..store.base import server_time, text
from ..store.control import OperatorPruneOps
from ..store.lifecycle import LifecycleOps, PruneOps, unregister_worker
from ..store.workers import WorkerOps
from ..timefmt import parse_heartbeat
from ..views import PRUNE_AGE, WorkerView, read_snapshot
from ..worker.pruning import in_flight_failure, prune_exit_message, split_worker_id
from .context import pass_settings
from .failed import open_backend
from .output import clip, connection, emit, json_option, seconds, shown, table

LOCK_SECONDS = 60
"""How long the pruning lock may outlive a crashed prune (Ruby: the heartbeat interval)."""
MIN_PRUNE_INTERVAL = 60.0
"""Below Ruby's default heartbeat interval, a live worker between two heartbeats would look
dead: the command refuses such an interval rather than prune live workers."""


def process_running(pid: int) -> bool:
    """Whether a process with this pid exists on this host (a zombie counts as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


@dataclass(frozen=True)
class Verdict:
    """What ``prune`` does with one worker id, and why."""

    worker_id: str
    prune: bool
    reason: str
    expired: bool = False


@dataclass(frozen=True)
class Fleet:
    """The facts the verdicts are drawn from, read once."""

    registered: frozenset[str]
    heartbeat_ages: dict[str, float | None]
    hostname: str

    @property
    def ids(self) -> list[str]:
        return sorted(self.registered | self.heartbeat_ages.keys())


def verdict(fleet: Fleet, worker_id: str, interval: float) -> Verdict:
    """The rules of the table in the module docstring, in that order."""
    host, pid, _queues = split_worker_id(worker_id)
    local = host == fleet.hostname and pid.isdigit()
    age = fleet.heartbeat_ages.get(worker_id)
    if local and process_running(int(pid)):
        return Verdict(worker_id, False, f"pid {pid} is running on this host")
    if age is not None and int(age) > interval:
        return Verdict(worker_id, True, f"heartbeat {int(age)}s old (> {interval:g}s)", True)
    if local and worker_id in fleet.registered:
        return Verdict(worker_id, True, f"pid {pid} is not running on this host")
    if age is not None:
        return Verdict(worker_id, False, f"heartbeat {int(age)}s old")
    if host == fleet.hostname:
        return Verdict(worker_id, False, "no heartbeat, and its pid is not a number")
    return Verdict(worker_id, False, "no heartbeat, on another host: cannot tell")


def read_fleet(driver: SyncDriver, ops: WorkerOps, hostname: str) -> Fleet:
    registered = frozenset(driver.run(ops.ids()))
    beats = driver.run(ops.heartbeats())
    now = driver.run(server_time())
    ages: dict[str, float | None] = {}
    for worker_id, stamp in beats.items():
        beat = parse_heartbeat(stamp)
        ages[worker_id] = None if beat is None else now - beat
    return Fleet(registered, ages, hostname)


@click.group()
def workers() -> None:
    """Registered workers: list them, prune the dead ones."""


def worker_document(worker: WorkerView) -> dict[str, Any]:
    job = worker.job
    return {
        "id": worker.id,
        "host": worker.host,
        "pid": worker.pid,
        "queues": list(worker.queues),
        "state": worker.state,
        "job": None if job is None else job.class_name,
        "job_queue": None if job is None else job.queue,
        "run_at": None if job is None else job.run_at,
        "started": worker.started,
        "heartbeat_age": None if worker.heartbeat_age is None else round(worker.heartbeat_age),
        "stale": worker.stale,
    }


def _worker_row(item: dict[str, Any]) -> list[object]:
    age = seconds(item["heartbeat_age"])
    return [
        clip(shown(item["id"])),
        shown(item["host"]),
        item["pid"] if item["pid"] is not None else "-",
        clip(shown(",".join(item["queues"])), 30),
        item["state"],
        shown(item["job"] or ("?" if item["state"] == "working" else "-")),
        shown(item["started"] or "-"),
        f"{age} (stale)" if item["stale"] else age,
    ]


@workers.command("list")
@json_option
@pass_settings
def list_workers(settings: RedisSettings, as_json: bool) -> None:
    """Every registered worker, Ruby, Python or other: state, job, heartbeat age."""
    with connection(settings) as driver:
        snapshot = driver.run(read_snapshot(settings.keys, recent_failures=0))
    items = [worker_document(worker) for worker in snapshot.workers]
    headers = ["ID", "HOST", "PID", "QUEUES", "STATE", "JOB", "STARTED", "HEARTBEAT (S)"]
    emit(
        as_json,
        items,
        lambda: table(headers, [_worker_row(item) for item in items]) if items else "(no workers)",
    )


@dataclass(frozen=True)
class Pruning:
    """One prune run: where, with which failure backend, under which lock holder id."""

    driver: SyncDriver
    settings: RedisSettings
    failures: FailureBackend
    holder: str

    def job_of(self, worker_id: str, take: bool) -> Any:
        """``worker:<id>`` decoded (its text when not JSON), None when idle; ``take``
        claims it (GETDEL) so that no other pruner records the same job."""
        keys = self.settings.keys
        operation = (
            OperatorPruneOps(keys).take_job(worker_id) if take else PruneOps(keys).job_of(worker_id)
        )
        raw = self.driver.run(operation)
        if not raw:
            return None
        try:
            return codec.decode(raw)
        except DecodeError:
            return text(raw)

    def apply(self, worker_id: str, failure: Failure | None) -> None:
        """Unregister one worker as Ruby does, recording its job's failure first."""
        if failure is not None:
            self.driver.run(self.failures.save(failure))
        self.driver.run(unregister_worker(self.settings.keys, worker_id))

    def lock(self) -> bool:
        """Take Ruby's pruning lock if it is free, so no worker starting now prunes too."""
        lock = LifecycleOps(self.settings.keys, self.holder)
        return bool(self.driver.run(lock.acquire_pruning_lock(LOCK_SECONDS)))

    def unlock(self) -> None:
        self.driver.run(OperatorPruneOps(self.settings.keys).release(self.holder))


def _prune_text(done: Sequence[dict[str, Any]], kept: Sequence[Verdict], dry_run: bool) -> str:
    action = "would prune" if dry_run else "pruned"
    rows: list[list[object]] = [
        [clip(shown(d["id"])), action, d["reason"], shown(d["job"] or "-")] for d in done
    ]
    rows += [[clip(shown(v.worker_id)), "kept", v.reason, ""] for v in kept]
    if not rows:
        return "no workers registered"
    summary = f"{action} {len(done)} worker(s), kept {len(kept)}"
    return summary + "\n" + table(["WORKER", "ACTION", "WHY", "JOB"], rows)


@workers.command()
@click.option("--dry-run", is_flag=True, help="Only say what would be pruned.")
@click.option(
    "--prune-interval",
    type=click.FloatRange(min=MIN_PRUNE_INTERVAL),
    envvar="RESQUE_PRUNE_INTERVAL",
    default=PRUNE_AGE,
    show_default=True,
    help="Seconds after which a heartbeat counts as expired (Ruby's Resque.prune_interval); "
    "at least 60, the interval live workers heartbeat at by default.",
)
@click.option(
    "--failure-backend",
    "backend_name",
    envvar="FAILURE_BACKEND",
    default="redis",
    show_default=True,
    help="Where the jobs of pruned workers are recorded as failed.",
)
@json_option
@pass_settings
def prune(
    settings: RedisSettings,
    dry_run: bool,
    prune_interval: float,
    backend_name: str,
    as_json: bool,
) -> None:
    """Unregister dead workers by Ruby's rules, never a live one (see docs/cli.md)."""
    hostname = socket.gethostname()
    failures = open_backend(settings, backend_name, JsonStyle.JSON_GEM)
    with connection(settings) as driver:
        pruning = Pruning(driver, settings, failures, f"{hostname}:{os.getpid()}:prune")
        locked = not dry_run and pruning.lock()
        try:
            fleet = read_fleet(driver, WorkerOps(settings.keys), hostname)
            verdicts = [verdict(fleet, worker_id, prune_interval) for worker_id in fleet.ids]
            done = [_pruned(pruning, found, dry_run) for found in verdicts if found.prune]
        finally:
            if locked:
                pruning.unlock()
    kept = [found for found in verdicts if not found.prune]
    document = {
        "dry_run": dry_run,
        "pruned": done,
        "kept": [{"id": v.worker_id, "reason": v.reason} for v in kept],
    }
    emit(as_json, document, lambda: _prune_text(done, kept, dry_run))


def _pruned(pruning: Pruning, found: Verdict, dry_run: bool) -> dict[str, Any]:
    """Prune one worker (unless ``dry_run``); what was, or would be, done."""
    job = pruning.job_of(found.worker_id, take=not dry_run)
    failure = None
    if job:
        message = prune_exit_message(found.worker_id, job) if found.expired else None
        failure = in_flight_failure(found.worker_id, job, message)
    if not dry_run:
        pruning.apply(found.worker_id, failure)
    payload = job.get("payload") if isinstance(job, dict) else None
    class_name = payload.get("class") if isinstance(payload, dict) else None
    return {
        "id": found.worker_id,
        "reason": found.reason,
        "job": class_name if isinstance(class_name, str) else None,
        "failure": None if failure is None else failure.exception,
    }
