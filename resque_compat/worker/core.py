"""The worker: start up, take jobs one by one, stop. Reads top to bottom like Ruby's ``work``.

Startup (Ruby's order): title ``resque: Starting``, signal handlers, remove the old
heartbeat, first heartbeat, prune dead workers under the lock, ``before_first_fork``,
register. Then, per job: atomic reserve (see ``store.lifecycle``), run it (``execution``:
forked or not, with the stop rules), record a failure if any, then finish it and reserve
the next in one script call. When no queue has work the worker blocks on Redis
(``waiting``) instead of sleeping. Signals are acted on before every reserve; a job reserved
but never started when the worker stops goes back to the head of its queue. At the end:
unregister (a running job becomes a ``Resque::DirtyExit``) and ``worker_exit``.

With JOBS_PER_FORK or MINUTES_PER_FORK (resque-multi-job-forks, see ``forks``) the forked
child runs this same loop for many jobs, under this worker's id, until its limits.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import select
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

import redis

from .. import timefmt
from ..connection import RedisSettings
from ..failure import Failure, FailureBackend, RedisBackend
from ..job import JobRegistry, Payload, PayloadError, default_registry, payload_for_failure
from ..plugins.loner import marker_left
from ..store import Operation, SyncDriver, server
from ..store.lifecycle import (
    Ending,
    FailurePush,
    LifecycleOps,
    QueueList,
    QueuesChanged,
    Reserved,
    ReserveReply,
    embeds,
)
from ..store.outage import Outage, ride_out
from ..store.plugins import LonerOps
from ..store.waiting import QueueWaiter
from . import forks, runner
from .execution import Execution, WhileBusy
from .failing import list_push
from .heartbeat import Heartbeat
from .proctitle import ProcessTitles
from .pruning import Pruner, in_flight_failure
from .settings import WorkerHooks, WorkerSettings, default_worker_hooks
from .signals import Action, SignalInbox, child_action_table

log = logging.getLogger("resque_compat.worker")

Reservation = Reserved | str | None
"""What a reserve returns: a job, ``"paused"`` (pause-all-workers is set), or nothing."""

KILLED_CHILD = "Child process received unhandled signal"
T = TypeVar("T")


@dataclass
class RunState:
    shutdown: bool = False
    paused: bool = False
    idle: bool = False


class Worker:
    """One Resque worker process. Construct it in the process that will run it (the id
    carries the pid)."""

    def __init__(
        self,
        settings: WorkerSettings,
        redis_settings: RedisSettings,
        registry: JobRegistry | None = None,
        hooks: WorkerHooks | None = None,
        failures: FailureBackend | None = None,
        parent: Worker | None = None,
    ) -> None:
        """``parent``: for a multi-job child (``child``), the worker whose id and client it
        takes (the client's pool opens new connections after the fork)."""
        self.settings = settings
        self.keys = redis_settings.keys
        self.registry = registry if registry is not None else default_registry
        self.hooks = hooks if hooks is not None else default_worker_hooks
        self.failures = failures or RedisBackend(self.keys)
        own_id = f"{settings.hostname}:{os.getpid()}:{settings.queues.label}"
        self.id: str = parent.id if parent else own_id
        self.redis_settings = redis_settings
        self.client: redis.Redis = parent.client if parent else redis_settings.client()
        self.driver = SyncDriver(self.client, dedicated=True)
        self.ops = LifecycleOps(self.keys, self.id)
        self.titles = ProcessTitles(settings.resque_version, settings.procline_prefix)
        self.inbox = SignalInbox(settings.shutdown.graceful_term)
        self.heartbeat = Heartbeat(self.driver, self.ops, settings.heartbeat_interval)
        self.waiter = QueueWaiter(self.client, self.keys)
        self.state = RunState()
        self.outage = Outage(log)
        # A dynamic list starts empty: the first reserve sends the queues set to resolve.
        dynamic = settings.queues.dynamic
        self._queues = QueueList((), ()) if dynamic else QueueList(settings.queues.patterns)
        busy = WhileBusy(self.heartbeat.beat_if_due, self._apply, self._wait_budget)
        self.execution = Execution(
            settings, self.registry, self.hooks, self.titles, self.inbox, busy
        )
        self._held: Reserved | None = None
        """A job reserved and not started yet: given back, not failed, if the worker stops."""
        self.budget: forks.ForkBudget | None = None
        """In a child running many jobs (``forks``): what is left of its limits."""

    # -- the whole life ---------------------------------------------------------------

    def work(self) -> None:
        """Run until told to stop (or, with ``interval`` 0, until the queues are empty)."""
        self.refuse_cluster()
        self.startup()
        try:
            self.loop()
        except BaseException as error:
            log.error("Worker %s stopped by %r", self.id, error)
            self.unregister(error)
            raise
        else:
            self.unregister()
        finally:
            self.hooks.run("worker_exit")
            self.close()

    def refuse_cluster(self) -> None:
        """Stop with the reason on a cluster node, before its CLUSTERDOWN/CROSSSLOT errors."""
        # INFO denied (an ACL user without @dangerous): nothing to learn, carry on.
        with contextlib.suppress(redis.ResponseError):
            self.driver.run(server.refuse_cluster())

    def startup(self) -> None:
        """Ruby's startup. A Redis that refuses writes (OOM, a replica) is waited for; one
        that cannot be reached fails the start, as Ruby's does."""
        self.titles.starting()
        self.inbox.install()
        writes = self._with_write_retry
        writes(lambda: self.driver.run(self.ops.remove_heartbeat()))
        self.heartbeat.beat()
        lock_expiry = int(self.settings.heartbeat_interval)
        if writes(lambda: self.driver.run(self.ops.acquire_pruning_lock(lock_expiry))):
            writes(self.prune_dead_workers)
        self.hooks.run("before_first_fork")
        self.waiter.detect(self.driver)
        writes(lambda: self.driver.run(self.ops.register(timefmt.started())))
        if self.settings.fork_per_job:
            # Objects that exist now are shared with every child; the collector must not
            # touch them there (each touch copies a page).
            gc.freeze()
        else:
            self.heartbeat.start_thread(SyncDriver(self.redis_settings.client()))
        log.info("Worker %s started", self.id)

    def prune_dead_workers(self) -> list[str]:
        pruner = Pruner(
            self.driver,
            self.keys,
            self.ops,
            self.settings.queues,
            self.settings.hostname,
            self.settings.prune_interval,
            self.failures,
            self.registry,
        )
        return pruner.prune()

    def loop(self, first: Reserved | None = None) -> None:
        reservation = self._hold(first) if first is not None else self.reserve()
        while True:
            self.execution.reap_exited()
            self.act_on_signals()
            self.heartbeat.beat_if_due()
            if self.state.shutdown:
                self.give_back()
                return
            if isinstance(reservation, Reserved):
                reservation = self.process(reservation)
            elif self.settings.intervals.exit_when_empty:
                self.became_idle()
                return
            else:
                self.wait(reservation)
                reservation = self.reserve()

    def unregister(self, error: BaseException | None = None) -> None:
        """Ruby's unregister_worker: fail a job still recorded, then remove every trace."""
        self.heartbeat.stop()
        try:
            self.give_back()
            job = self.driver.run(self.ops.current_job())
            if job:
                failure = in_flight_failure(self.id, job)
                if error is not None and not isinstance(error, KeyboardInterrupt):
                    failure = _with_error(failure, error)
                self.driver.run(self.failures.save(failure))
            self.driver.run(self.ops.unregister())
        except redis.RedisError as redis_error:
            log.error("could not unregister %s: %s", self.id, redis_error)

    def give_back(self) -> None:
        """Put a reserved, never started job back at the head of its queue (as Ruby, which
        pops only what it runs, leaves it), if ``worker:<id>`` still holds it."""
        held, self._held = self._held, None
        if held is not None and held.queue:
            self.driver.run(self.ops.release(held))

    def _hold(self, reservation: Reservation) -> Reservation:
        self._held = reservation if isinstance(reservation, Reserved) else None
        return reservation

    def close(self) -> None:
        self.execution.close()
        self.waiter.close()
        self.driver.close()
        self.inbox.close()
        self.client.close()

    # -- one job ----------------------------------------------------------------------

    def process(self, job: Reserved) -> Reservation:
        """Run one reserved job, record how it ended, finish it and reserve the next."""
        self.state.idle = False
        self._held = None
        limits = self.settings.multi_job_forks
        if limits is not None and self.settings.fork_per_job:
            return forks.process(self, job, limits)
        payload = runner.read_payload(job.raw)
        job = self.readable(job, payload)
        class_name = runner.class_name_of(payload)
        log.info("got: (Job{%s} | %s)", job.queue, class_name)
        loner = marker_left(payload, job.loner)
        if loner and class_name in self._queues.unique:
            loner = self._clear_marker_now(job.queue, class_name, loner)
        result = self.execution.run(job, payload, self._queues.names)
        if self.budget is not None:
            self.budget.job_done()
        return self.finish(job, result, class_name, loner)

    def finish(
        self, job: Reserved, result: runner.JobResult, class_name: str = "", loner: str = ""
    ) -> Reservation:
        """Record how the job ended, then finish it and reserve the next in one script;
        ``loner``: the digest of a resque-loner marker the reserve left for the finish."""
        push = None if result.ok else self.record_failure(job, result)
        self.act_on_signals()
        ending = Ending(
            failure=push,
            # Ruby counts failed! for every failure but a child killed by a signal.
            count_failed=not result.ok and not result.error.startswith(KILLED_CHILD),
            reserve_next=not (self.state.shutdown or self.state.paused),
            loner=loner,
        )
        return self._reserve_with(lambda queues: self._finish(job, queues, ending, class_name))

    def _finish(
        self, job: Reserved, queues: QueueList, ending: Ending, class_name: str
    ) -> Operation[ReserveReply]:
        """Finish ``job`` and reserve the next."""
        finished = yield from self.ops.done_and_reserve(job, queues, timefmt.run_at(), ending)
        self._know_unique(class_name, finished.cleared_marker)
        return finished.next

    def _clear_marker_now(self, queue: str, class_name: str, digest: str) -> str:
        """A unique job whose marker the reserve could not name (a hash in its args): it goes
        before the job runs, as in Ruby's reserve; returns what the finish must delete."""
        cleared = self.driver.run(LonerOps(self.keys).clear(queue, digest))
        return "" if self._know_unique(class_name, cleared) else digest

    def _know_unique(self, class_name: str, marked: int | bool) -> bool:
        """A class whose marker was found is unique in Ruby: later reserves delete them."""
        if marked and class_name not in self._queues.unique:
            self._queues = replace(self._queues, unique=(*self._queues.unique, class_name))
        return bool(marked)

    def readable(self, job: Reserved, payload: Payload | PayloadError) -> Reserved:
        """Make sure ``worker:<id>`` reads as a runnable job for every tool, Ruby's included.

        The reserve script embeds a payload as it is only when it is plain JSON; anything
        else (not JSON, too deep, control bytes) is rewritten here, as failure records keep
        it, so that Ruby's Worker#job, pruning and resque-web can read the record.
        """
        if isinstance(payload, Payload) and embeds(job):
            return job
        replacement = payload_for_failure(job.raw)
        return self._with_redis_retry(
            lambda: self.driver.run(self.ops.replace_record(job, replacement))
        )

    def record_failure(self, job: Reserved, result: runner.JobResult) -> FailurePush | None:
        """The failure record, for the finishing script to push when the backend is one of
        Resque's Redis lists (so a retried finish cannot push it twice); any other backend
        saves it now, retried while Redis is away (its save must be safe to repeat)."""
        failure = Failure(
            payload=payload_for_failure(job.raw),
            exception=result.exception,
            error=result.error,
            backtrace=result.backtrace,
            worker=self.id,
            queue=job.queue,
            failed_at=timefmt.local_now(),
        )
        log.error("(Job{%s}) failed: %s: %s", job.queue, result.exception, result.error)
        push = list_push(self.failures, failure)
        if push is None:
            self._with_redis_retry(lambda: self.driver.run(self.failures.save(failure)))
        return push

    # -- many jobs per child (``forks``) ----------------------------------------------

    def child(self, budget: forks.ForkBudget) -> Worker:
        """This worker as its multi-job child runs it: the same id, queues, hooks and
        failure backend, its own connection, jobs run in-process, the child's signals."""
        shutdown = replace(self.settings.shutdown, term_child=True)
        settings = replace(
            self.settings, fork_per_job=False, multi_job_forks=None, shutdown=shutdown
        )
        child = Worker(
            settings, self.redis_settings, self.registry, self.hooks, self.failures, parent=self
        )
        child.heartbeat.leave_to_parent()
        child.inbox.table = child_action_table()
        child.waiter.blocking = self.waiter.blocking
        child._queues = self._queues
        child.budget = budget
        return child

    def recorded_job(self) -> Reserved | None:
        """The job ``worker:<id>`` still holds (one a dead child left), as the reserve
        script hands a recorded job back; None when it holds nothing."""
        if not self._with_redis_retry(lambda: self.driver.run(self.ops.current_job())):
            return None
        found = self._reserve_with(lambda queues: self.ops.reserve(queues, timefmt.run_at()))
        self._held = None
        return found if isinstance(found, Reserved) else None

    # -- idle -------------------------------------------------------------------------

    def reserve(self) -> Reservation:
        """Signals first (a stopping worker takes nothing), then one atomic reserve."""
        self.act_on_signals()
        if self.state.shutdown:
            return None
        if self.state.paused:
            return "paused"
        return self._reserve_with(lambda queues: self.ops.reserve(queues, timefmt.run_at()))

    def _reserve_with(
        self, operation: Callable[[QueueList], Operation[ReserveReply]]
    ) -> Reservation:
        """Reserve with the current queue list; when the script reports that the ``queues``
        set changed (``*``, globs, ``!skip``), resolve the list again and reserve with it."""
        reply = self._with_redis_retry(lambda: self.driver.run(operation(self._queues)))
        while isinstance(reply, QueuesChanged):
            names = tuple(self.settings.queues.resolve(reply.known))
            self._queues = QueueList(names, reply.known, self._queues.unique)
            reply = self._with_redis_retry(
                lambda: self.driver.run(self.ops.reserve(self._queues, timefmt.run_at()))
            )
        return self._hold(reply)

    def wait(self, reservation: Reservation) -> None:
        if reservation == "paused" or self.state.paused:
            self.titles.paused()
            self.inbox_wait(self._wait_budget())
            return
        self.became_idle()
        self.titles.waiting(self._queues.names)
        self._with_redis_retry(
            lambda: self.waiter.wait(self._queues.names, self._wait_budget(), self.inbox.wakeup_fd)
        )

    def became_idle(self) -> None:
        if not self.state.idle:
            self.state.idle = True
            self.hooks.run("queue_empty")

    def inbox_wait(self, seconds: float) -> None:
        select.select([self.inbox.wakeup_fd], [], [], seconds)

    def _wait_budget(self) -> float:
        """How long one blocking wait may last: Ruby's INTERVAL, at most ``wait_timeout``
        (a glob may match a new queue meanwhile), and never past the next heartbeat."""
        budget = min(max(self.settings.intervals.interval, 0.05), self.settings.wait_timeout)
        if self.settings.fork_per_job:
            budget = min(budget, max(self.heartbeat.seconds_until_due(), 0.01))
        if self.budget is not None:
            budget = min(budget, max(self.budget.seconds_left(), 0.01))
        return budget

    # -- signals ----------------------------------------------------------------------

    def act_on_signals(self) -> None:
        for action in self.inbox.take():
            self._apply(action)
        if self.budget is not None and self.budget.spent():
            self.state.shutdown = True  # the child's limit: take nothing more (no hook)

    def _apply(self, action: Action) -> None:
        if action in (Action.GRACEFUL, Action.IMMEDIATE):
            if not self.state.shutdown:
                log.info("Exiting...")
                self.state.shutdown = True
                self.hooks.run("shutdown")
        elif action is Action.PAUSE and not self.state.paused:
            self.hooks.run("before_pause", self)
            self.state.paused = True
        elif action is Action.RESUME and self.state.paused:
            self.state.paused = False
            self.hooks.run("after_pause", self)

    # -- Redis outages ----------------------------------------------------------------

    def _with_write_retry(self, call: Callable[[], T]) -> T:
        """``_with_redis_retry`` for a Redis refusing writes only; unreachable raises."""
        return self._with_redis_retry(call, unreachable_too=False)

    def _with_redis_retry(self, call: Callable[[], T], unreachable_too: bool = True) -> T:
        """Run a Redis call, retrying with backoff while Redis is unreachable or refuses
        writes (``store.outage``: one line when it starts, one when it ends).

        A connection lost after a write was sent may have lost only its reply, so every call
        retried here is safe to repeat: reserving, finishing (with the failure record of
        Resque's two Redis backends and the counters) and the record rewrites are scripts
        guarded by what ``worker:<id>`` holds; the rest are plain overwrites (SET, HSET,
        SADD). Only another backend's ``save`` is repeated as it is (see ``failing``).
        A refused write had no effect (a script is refused at its first write).
        """
        return ride_out(call, self.outage, self._outage_pause, unreachable_too)

    def _outage_pause(self, delay: float) -> bool:
        """Wait ``delay`` between tries, awake to signals; a stopping worker gives up once
        the delay has grown past a second (the outage is not a blip)."""
        self.inbox_wait(delay)
        self.act_on_signals()
        return not (self.state.shutdown and delay > 1)


def _with_error(failure: Failure, error: BaseException) -> Failure:
    return replace(failure, exception=type(error).__qualname__, error=str(error))
