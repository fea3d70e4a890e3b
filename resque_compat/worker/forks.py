"""Many jobs per forked child: resque-multi-job-forks 0.5.2 (JOBS_PER_FORK, MINUTES_PER_FORK).

Forking costs more than a small job; the plugin lets one child run jobs until a limit, then
exit, and the worker forks a new one. What Ruby's tools see stays a worker's:

- the worker reserves a job and forks (``before_fork`` there, once per child); the child
  (``after_fork`` once) runs it, then finishes it and reserves the next itself, with the
  same scripts on its own connection and the worker's id, so ``worker:<id>`` always holds
  the job running (``Resque::Worker#job``, ``working``) and a job is always either queued
  or recorded there;
- the child's titles are a worker's (``Processing ...``, ``Waiting for ...``); the worker's
  stays ``Forked <pid> at <time>``, and it keeps the heartbeat and acts on signals meanwhile;
- counters and failure records are fork per job's: one ``processed`` per job, ``failed``
  per failure, the record written by the process that saw the failure;
- the child ends at its limit (:class:`ForkBudget`), on QUIT, TERM or INT (see
  ``signals``), or when the queues are empty with INTERVAL 0, running ``before_child_exit``;
- a child that dies mid-job leaves that job in ``worker:<id>``: the worker fails it as a
  ``Resque::DirtyExit``, running its ``on_failure`` hooks, and forks a new child for the next.

Where Ruby's plugin differs, on purpose: its child unregisters the worker and clears the
worker's own counters each time it exits, and its worker counts one ``processed`` more per
child; it fails the child's first job, not the one running, when the child is killed.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Protocol

from .. import timefmt
from ..store.lifecycle import Reserved
from . import runner
from .execution import Execution
from .proctitle import ProcessTitles
from .settings import ForkLimits, WorkerHooks
from .signals import SignalInbox, reset_for_child

Reservation = Reserved | str | None


class ForkBudget:
    """What is left of one child's limits. Ruby's plugin counts from the end of the child's
    first job and checks before each reserve; a child always runs at least one job."""

    def __init__(self, limits: ForkLimits) -> None:
        self.limits = limits
        self.jobs = 0
        self.deadline = math.inf
        self.over_memory = False

    def job_done(self) -> None:
        self.jobs += 1
        if self.jobs == 1:
            self.deadline = time.monotonic() + self.limits.seconds
        if self.limits.memory_kb > 0:
            self.over_memory = resident_kb() > self.limits.memory_kb

    def spent(self) -> bool:
        if self.jobs == 0:
            return False
        if self.over_memory:
            return True
        if self.limits.jobs is not None:
            return self.jobs >= self.limits.jobs
        return time.monotonic() >= self.deadline

    def seconds_left(self) -> float:
        """How long an idle wait may last before the time limit is looked at again."""
        if self.limits.jobs is not None:
            return math.inf
        return max(0.0, self.deadline - time.monotonic())


def resident_kb() -> int:
    """This process's resident memory in kB (``VmRSS``, what the plugin's RssReader reads)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class ForkingWorker(Protocol):
    """What this module needs of the worker (``core.Worker``)."""

    hooks: WorkerHooks
    titles: ProcessTitles
    execution: Execution
    inbox: SignalInbox

    def child(self, budget: ForkBudget) -> ForkingWorker: ...

    def loop(self, first: Reserved | None = None) -> None: ...

    def close(self) -> None: ...

    def recorded_job(self) -> Reserved | None: ...

    def finish(
        self, job: Reserved, result: runner.JobResult, class_name: str = "", loner: str = ""
    ) -> Reservation: ...

    def reserve(self) -> Reservation: ...


def process(worker: ForkingWorker, job: Reserved, limits: ForkLimits) -> Reservation:
    """Fork a child for ``job`` and the jobs after it, wait for its end, fail the job it
    left behind if it died, and reserve the next job (for the next child)."""
    worker.hooks.run("before_fork", job)
    child = runner.Child.start(lambda: _child_life(worker, job, limits))
    worker.titles.forked(child.pid, timefmt.epoch())
    reported = worker.execution.watch(child)
    # A child that reported success finished its last job itself: nothing can be left.
    left = None if reported is not None and reported.ok else worker.recorded_job()
    if left is None:
        return worker.reserve()
    payload = runner.read_payload(left.raw)
    why = None if reported is None or reported.ok else f"{reported.exception}: {reported.error}"
    return worker.finish(left, worker.execution.dirty_exit(child, payload, why))


def _child_life(worker: ForkingWorker, first: Reserved, limits: ForkLimits) -> runner.JobResult:
    """The child: its own connection and signals, ``first`` and then reserved jobs until the
    budget is spent or it is told to stop, ``before_child_exit``, then out."""
    reset_for_child()
    child = worker.child(ForkBudget(limits))
    child.inbox.install()
    runner.release_held_signals()  # what arrived since the fork is the child's to act on
    child.hooks.run("after_fork", first)
    child.loop(first)
    child.hooks.run("before_child_exit", child)
    child.close()
    return runner.JobResult(True)
