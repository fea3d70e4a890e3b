"""Pruning dead workers at startup, by Ruby's rules and never a live worker.

Under the ``pruning_dead_workers_in_progress`` lock (SET NX EX, left to expire):

1. every worker whose heartbeat is older than the prune interval (Redis ``TIME``), on any
   host and registered or not, is unregistered; its in-flight job is recorded as a
   ``Resque::PruneDeadWorkerDirtyExit`` failure;
2. every other registered worker on this host, listening on the same set of queues (any
   set when this worker listens on ``*``), whose pid is not a running Resque process
   (a process titled like ``resque-<version>: ...`` or ``resque: Starting``, exactly the
   titles Ruby looks for), is unregistered; its job becomes a ``Resque::DirtyExit``.

Before the failure is recorded, the job's ``on_failure`` hooks run here with that error when
its class is registered, as Ruby's ``Job#fail`` runs them: so resque-retry retries a job
whose worker died, whichever runtime prunes it.

Workers that never sent a heartbeat on other hosts are never touched. Where Ruby aborts on a
``worker:<id>`` value that is not JSON, this worker records the raw value in the failure
and carries on.
"""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from .. import codec, timefmt
from ..errors import DecodeError, DirtyExit, PruneDeadWorkerDirtyExit
from ..failure import Failure, FailureBackend
from ..job import JobRegistry, Payload, PayloadError, document_for_failure
from ..keys import Keys
from ..store import SyncDriver
from ..store.base import server_time, text
from ..store.lifecycle import LifecycleOps, PruneOps, unregister_worker
from .queues import QueueSelector
from .runner import run_failure_hooks

log = logging.getLogger("resque_compat.worker")

RESQUE_PROCESS = re.compile(r"resque:work|resque:\sStarting|resque-[0-9]")


def live_resque_pids() -> set[str]:
    """Pids of processes on this host titled like a Resque worker (Ruby's ``ps | grep``)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return _pids_from_ps()
    found: set[str] = set()
    for entry in proc.iterdir():
        if entry.name.isdigit() and _is_resque_title(_cmdline(entry)):
            found.add(entry.name)
    return found


def _cmdline(entry: Path) -> str:
    try:
        return (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _is_resque_title(command: str) -> bool:
    return bool(RESQUE_PROCESS.search(command)) and "resque-web" not in command


def _pids_from_ps() -> set[str]:
    output = subprocess.run(
        ["ps", "-A", "-o", "pid,command"], capture_output=True, text=True, check=False
    ).stdout
    return {line.split()[0] for line in output.splitlines()[1:] if _is_resque_title(line)}


@dataclass
class Pruner:
    driver: SyncDriver
    keys: Keys
    lifecycle: LifecycleOps
    selector: QueueSelector
    hostname: str
    prune_interval: float
    failures: FailureBackend
    registry: JobRegistry | None = None
    find_live_pids: Callable[[], set[str]] = live_resque_pids

    def prune(self) -> list[str]:
        """Prune what Ruby would prune; returns the ids removed."""
        ops = PruneOps(self.keys)
        registered = self.driver.run(ops.worker_ids())
        live_pids = self.find_live_pids()
        expired = self._expired(self.driver.run(ops.heartbeats()))
        for worker_id in expired:
            log.info("Pruning dead worker: %s", worker_id)
            job = self._job_of(ops, worker_id)
            self._unregister(worker_id, job, prune_exit_message(worker_id, job))
        pruned = list(expired)
        for worker_id in registered:
            if worker_id not in expired and self._dead_on_this_host(worker_id, live_pids):
                log.info("Pruning dead worker: %s", worker_id)
                self._unregister(worker_id, self._job_of(ops, worker_id), None)
                pruned.append(worker_id)
        return pruned

    def _expired(self, heartbeats: dict[str, str]) -> list[str]:
        now = self.driver.run(server_time())
        expired = []
        for worker_id, stamp in heartbeats.items():
            beat = timefmt.parse_heartbeat(stamp)
            if beat is not None and now - beat > self.prune_interval:
                expired.append(worker_id)
        return expired

    def _dead_on_this_host(self, worker_id: str, live_pids: set[str]) -> bool:
        parts = worker_id.split(":")
        if len(parts) < 3:
            return False
        host, pid, queues = parts[0], parts[1], parts[2]
        if "*" not in self.selector.patterns and not self.selector.same_set(queues):
            return False
        return host == self.hostname and pid not in live_pids

    def _job_of(self, ops: PruneOps, worker_id: str) -> Any:
        """The worker's in-flight job as Ruby would read it; the raw text when not JSON."""
        try:
            raw = self.driver.run(ops.job_of(worker_id))
        except redis.ResponseError as error:  # not a string at all (WRONGTYPE)
            log.warning("worker:%s cannot be read (%s); pruning it anyway", worker_id, error)
            return None
        if not raw:
            return None
        try:
            return codec.decode(raw)
        except DecodeError:
            log.warning("worker:%s holds a value that is not JSON; keeping it raw", worker_id)
            return text(raw)

    def _unregister(self, worker_id: str, job: Any, prune_message: str | None) -> None:
        if job:
            failure = in_flight_failure(worker_id, job, prune_message)
            self._run_failure_hooks(job, failure)
            self.driver.run(self.failures.save(failure))
        self.driver.run(unregister_worker(self.keys, worker_id))

    def _run_failure_hooks(self, job: Any, failure: Failure) -> None:
        """The job's ``on_failure`` hooks, when its payload names a registered class."""
        if self.registry is None:
            return
        try:
            payload = Payload.from_document(_job_field(job, "payload"))
        except PayloadError:
            return
        error = _DIRTY_EXITS[failure.exception](failure.error)
        run_failure_hooks(payload, self.registry, error)


def prune_exit_message(worker_id: str, job: Any) -> str:
    """Ruby's ``PruneDeadWorkerDirtyExit`` message for a worker pruned by its heartbeat."""
    class_name = _job_field(job, "payload", "class") or "<Unknown Job>"
    return f"Worker {worker_id} did not gracefully exit while processing {class_name}"


def _job_field(job: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(job, dict):
            return None
        job = job.get(name)
    return job


_DIRTY_EXITS = {error.ruby_name: error for error in (DirtyExit, PruneDeadWorkerDirtyExit)}


def in_flight_failure(worker_id: str, job: Any, prune_message: str | None = None) -> Failure:
    """The failure Ruby records for a job left in ``worker:<id>`` by a worker that is gone."""
    is_json = isinstance(job, dict)
    return Failure(
        payload=document_for_failure(job.get("payload") if is_json else job),
        exception=(PruneDeadWorkerDirtyExit if prune_message else DirtyExit).ruby_name,
        error=prune_message or "Job still being processed",
        backtrace=(),
        worker=worker_id,
        queue=str(job.get("queue", "")) if is_json else "",
        failed_at=timefmt.local_now(),
    )


def split_worker_id(worker_id: str) -> tuple[str, str, list[str]]:
    host, _, rest = worker_id.partition(":")
    pid, _, queues = rest.partition(":")
    return host, pid, queues.split(",") if queues else []
