"""Running one reserved job to its end, forked or not, honouring the stop rules.

The loop asks one question, :meth:`Execution.run`: "run this job", and gets a
:class:`~.runner.JobResult` back. Everything between lives here:

- without fork, the job runs in this process; with TERM_CHILD a stop-now signal raises
  ``Resque::TermException`` inside it (Ruby's ``shutdown!``);
- with fork, ``before_fork`` runs, the standby child forked during the previous job gets
  this one (else a child is forked now), the next standby is asked of the fork server
  (``forkserver``: after the first job this process forks no more), and the child is
  watched: heartbeat kept, signals acted on, and on TERM/INT/USR1 the child stopped by
  Ruby's ``kill_child`` (SIGKILL) or, with TERM_CHILD, ``new_kill_child`` (wait
  RESQUE_PRE_SHUTDOWN_TIMEOUT, SIGTERM, wait RESQUE_TERM_TIMEOUT, SIGKILL);
- a child that ends without a result becomes a ``Resque::DirtyExit``, after the job's
  ``on_failure`` hooks ran here with one (Ruby's parent calls ``job.fail``);
- children that reported are reaped later, off the job's critical path.

``runner`` holds the mechanics (pipes, fork, the child's life); this module decides when.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .. import timefmt
from ..errors import DirtyExit
from ..job import JobRegistry, Payload, PayloadError
from ..store.lifecycle import Reserved
from . import runner
from .forkserver import ForkServer
from .proctitle import ProcessTitles
from .settings import WorkerHooks, WorkerSettings
from .signals import Action, SignalInbox, TermException, reset_for_child

_ENDS_A_CHILD = (Action.GRACEFUL, Action.IMMEDIATE, Action.PAUSE)
log = logging.getLogger("resque_compat.worker")


@dataclass(frozen=True)
class WhileBusy:
    """What the worker does while a forked job runs: keep its heartbeat (``tick``), act on
    a signal (``apply``), and how long one wait may last before the next tick (``budget``)."""

    tick: Callable[[], None]
    apply: Callable[[Action], None]
    budget: Callable[[], float]


class Execution:
    """Runs jobs one at a time, in this process or in a child each, as settings say."""

    def __init__(
        self,
        settings: WorkerSettings,
        registry: JobRegistry,
        hooks: WorkerHooks,
        titles: ProcessTitles,
        inbox: SignalInbox,
        busy: WhileBusy,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.hooks = hooks
        self.titles = titles
        self.inbox = inbox
        self.busy = busy
        self._standby: runner.Standby | None = None
        self._exiting: list[runner.Child] = []
        self._server: ForkServer | None = None
        self._server_wanted = True

    def run(
        self, job: Reserved, payload: Payload | PayloadError, waiting_for: Sequence[str]
    ) -> runner.JobResult:
        """Run ``job`` to its end and say how it ended. ``waiting_for`` is the queue list a
        standby child shows in its title until it gets its job."""
        if not self.settings.fork_per_job:
            self.titles.processing(job.queue, timefmt.epoch(), runner.class_name_of(payload))
            return self._perform_here(payload)
        self.hooks.run("before_fork", job)
        child = self._start_child(job)
        self.titles.forked(child.pid, timefmt.epoch())
        self._prepare_standby(waiting_for)
        reported = self.watch(child)
        if reported is not None:
            return reported
        return self.dirty_exit(child, payload)

    def dirty_exit(
        self, child: runner.Child, payload: Payload | PayloadError, why: str | None = None
    ) -> runner.JobResult:
        """A child ended without finishing its job: ``Resque::DirtyExit``, after the job's
        ``on_failure`` hooks have run here with it (Ruby's ``job.fail`` in the parent).
        ``why`` replaces the exit status in the message when the child said what failed."""
        message = why or child.exit_message()
        runner.run_failure_hooks(payload, self.registry, DirtyExit(message))
        return runner.JobResult(False, DirtyExit.ruby_name, message)

    def reap_exited(self, block: bool = False) -> None:
        """Collect children that reported their job and then exited."""
        self._exiting = [child for child in self._exiting if not child.reap(block)]

    def close(self) -> None:
        """Let the standby child go, wait for every child still exiting, then let the fork
        server go."""
        standby, self._standby = self._standby, None
        if standby is None and self._server is not None:
            standby = self._served_standby()
        if standby is not None:
            standby.discard()
        self.reap_exited(block=True)
        if self._server is not None:
            self._server.close()
            self._server = None

    # -- without fork -----------------------------------------------------------------

    def _perform_here(self, payload: Payload | PayloadError) -> runner.JobResult:
        """With TERM_CHILD, TERM and INT raise ``Resque::TermException`` inside the job, as
        Ruby's ``shutdown!`` does; without it the job runs to its end (no child to kill)."""
        if not self.settings.shutdown.term_child:
            return runner.perform(payload, self.registry)
        try:
            with self.inbox.raising_term():
                return runner.perform(payload, self.registry)
        except TermException as error:
            return runner.failed(error)

    # -- with fork --------------------------------------------------------------------

    def _start_child(self, job: Reserved) -> runner.Child:
        """The standby child forked earlier, given this job; else a child forked now."""
        standby, self._standby = self._standby, None
        if standby is None and self._server is not None:
            standby = self._served_standby()
        child = standby.hand(runner.pack_job(job.queue, job.raw)) if standby else None
        return child or runner.Child.start(lambda: self._in_child(job))

    def _prepare_standby(self, waiting_for: Sequence[str]) -> None:
        """Have the next job's child forked while this one works: by the fork server, else
        here. Not with before_fork hooks: Ruby runs them with the job, before the fork."""
        if self._standby is not None or self.hooks.hooks["before_fork"]:
            return
        server = self._fork_server()
        if server is not None:
            try:
                server.request(waiting_for)
                return
            except OSError as error:
                self._lose_server(error)
        self._standby = runner.Standby.start(
            self._in_standby, lambda: self._standby_started(waiting_for)
        )

    def _standby_started(self, waiting_for: Sequence[str]) -> None:
        reset_for_child()
        self.titles.waiting(waiting_for)

    def _fork_server(self) -> ForkServer | None:
        """The fork server, started with the first standby child (on Linux: it watches its
        children through pidfds)."""
        if self._server is None and self._server_wanted and hasattr(os, "pidfd_open"):
            title = self.titles.fork_server(os.getpid())
            try:
                self._server = ForkServer.start(self._in_standby, self._standby_started, title)
            except OSError as error:
                self._lose_server(error)
        return self._server

    def _served_standby(self) -> runner.Standby | None:
        assert self._server is not None
        try:
            return self._server.take()
        except OSError as error:
            self._lose_server(error)
            return None

    def _lose_server(self, error: OSError) -> None:
        """Fork here from now on (each job's child as before the server existed)."""
        log.warning("the fork server failed (%s); forking each job's child from the worker", error)
        self._server_wanted = False
        if self._server is not None:
            self._server.close()
            self._server = None

    def _in_standby(self, message: bytes) -> runner.JobResult:
        queue, raw = runner.unpack_job(message)
        return self._perform_in_child(Reserved(queue, raw, b""))

    def _in_child(self, job: Reserved) -> runner.JobResult:
        reset_for_child()
        return self._perform_in_child(job)

    def _perform_in_child(self, job: Reserved) -> runner.JobResult:
        runner.release_held_signals()
        self.hooks.run("after_fork", job)
        payload = runner.read_payload(job.raw)
        self.titles.processing(job.queue, timefmt.epoch(), runner.class_name_of(payload))
        return runner.perform(payload, self.registry)

    def watch(self, child: runner.Child) -> runner.JobResult | None:
        """Wait for the child, acting on signals and beating the heartbeat meanwhile; what
        it reported, or None when it ended without a word (then it is reaped already)."""
        while not child.wait(self.busy.budget(), self.inbox.wakeup_fd):
            self.busy.tick()
            for action in self.inbox.take():
                self.busy.apply(action)
                if self.settings.multi_job_forks is not None and action in _ENDS_A_CHILD:
                    # resque-multi-job-forks' shutdown_child: a child taking job after job
                    # must be told to take no more.
                    child.signal(signal.SIGQUIT)
                if action is Action.KILL_CHILD or action is Action.IMMEDIATE:
                    self._stop_child(child)
        reported = child.finish()
        if reported is not None:
            self._exiting.append(child)
            return reported
        child.reap(block=True)
        return None

    def _stop_child(self, child: runner.Child) -> None:
        """Ruby's kill_child (SIGKILL) or, with TERM_CHILD, new_kill_child (TERM, then KILL)."""
        shutdown = self.settings.shutdown
        if not shutdown.term_child:
            child.signal(9)
            return
        if shutdown.pre_shutdown_timeout > 0 and self._child_ends_within(
            child, shutdown.pre_shutdown_timeout
        ):
            return
        child.signal(15)
        if not self._child_ends_within(child, shutdown.term_timeout):
            child.signal(9)

    def _child_ends_within(self, child: runner.Child, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if child.wait(min(0.1, deadline - time.monotonic()), self.inbox.wakeup_fd):
                return True
        return child.reported or child.reap()
