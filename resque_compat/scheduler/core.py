"""The scheduler loop: hold the master lock, move what is due, sleep until the next due time.

Each pass renews (or tries to take) the master lock, and while master moves every due delayed
job (``mover.DelayedMover``) and fires due recurring schedules. Then it waits, on the wake-up
channel Python producers publish to, until the earliest of: the next delayed timestamp, the next
recurring firing, ``interval`` seconds (Ruby producers publish nothing, and the lock must be
renewed). Ruby's loop instead sleeps ``interval`` between passes, so its jobs are up to that
late.

Signals (handlers only record; the loop acts, releasing the lock on the way out):

=========  ==========================================  ==================================
signal     resque-scheduler 5.0                        here
=========  ==========================================  ==================================
TERM/INT/  shut down: finish the batch being moved,    the same: the current script call
QUIT       release the lock, exit (at once if asleep)  ends, the lock is released
=========  ==========================================  ==================================
"""

from __future__ import annotations

import logging
import math
import signal
import time
from types import FrameType
from typing import Any, Protocol

import redis

from ..connection import RedisSettings
from ..job import JobRegistry, default_registry
from ..store import SyncDriver
from ..store.mover import MoverOps, Wakeups
from ..store.outage import LONGEST_DELAY, TROUBLE, Outage, describe
from .lock import MasterLock
from .mover import DelayedMover
from .proctitle import set_title
from .settings import SchedulerSettings

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
#: Longest stretch of a wait without looking at the stop flag (set by :meth:`Scheduler.stop`
#: from another thread; a signal ends the wait at once). Local: no command is sent.
STOP_CHECK = 0.5


class Recurring(Protocol):
    """Recurring schedules, as the scheduler drives them (only while it is master);
    ``recurring.RecurringSchedules`` is the implementation."""

    def load(self) -> None:
        """The whole schedule afresh: on becoming master, as Ruby's ``reload_schedule!``."""

    def reload_if_changed(self) -> bool:
        """With dynamic schedules, the changed ones (``schedules_changed``); each pass."""

    def next_due(self) -> float | None:
        """Unix seconds of the next firing; None when nothing is scheduled."""

    def fire_due(self, now: float) -> int:
        """Enqueue every firing due by ``now``; how many were enqueued."""


class _Interrupted(Exception):
    """Raised by a stop signal that arrives while the loop waits, to end the wait at once."""


class Scheduler:
    """One scheduler process: call :meth:`run` (returns after TERM/INT/QUIT or :meth:`stop`)."""

    def __init__(
        self,
        redis_settings: RedisSettings,
        settings: SchedulerSettings | None = None,
        recurring: Recurring | None = None,
        registry: JobRegistry | None = None,
    ) -> None:
        self.settings = settings or SchedulerSettings()
        self.recurring = recurring
        self.client = redis_settings.client()
        self.driver = SyncDriver(self.client, dedicated=True)
        mover_ops = MoverOps(redis_settings.keys, self.settings.lock_prefix)
        self.lock = MasterLock(self.driver, mover_ops, self.settings.lock_timeout)
        self.mover = DelayedMover(
            self.driver, mover_ops, registry or default_registry, self.settings.move_budget
        )
        self.keys = redis_settings.keys
        self.master: bool | None = None
        self.stopping = False
        # Retried at least once per interval, the lock's renewal pace.
        self.outage = Outage(log, min(LONGEST_DELAY, max(self.settings.interval, 1.0)))
        self._waiting = False

    def run(self, handle_signals: bool = True) -> None:
        """The loop; ``handle_signals=False`` for a scheduler run in a thread (stop it with
        :meth:`stop`), since only the main thread may install signal handlers."""
        set_title(self.settings.title("Starting"))
        previous = {}
        if handle_signals:
            previous = {sig: signal.signal(sig, self._on_stop_signal) for sig in STOP_SIGNALS}
        wakeups = Wakeups(self.client, self.keys)
        try:
            while not self.stopping:
                self._wait(self._pass(), wakeups)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._shut_down(wakeups)

    def stop(self) -> None:
        self.stopping = True

    def _on_stop_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("Got %s signal", signal.Signals(signum).name)
        self.stopping = True
        if self._waiting:
            raise _Interrupted

    def _pass(self) -> float:
        """One pass of the loop; returns when the next should start (Unix seconds).

        While Redis is away or refuses writes (``store.outage``: one line when that starts,
        one when it ends) the pass is tried again with backoff. Nothing is lost or moved
        twice: a refused script wrote nothing, and a move is one script, so a job is in its
        ``delayed:<ts>`` list or on its queue. Whether we are still master is not known
        until Redis answers (the lock may expire meanwhile): the next pass takes, keeps or
        leaves the lock as it finds it, and logs the role again, reloading the recurring
        schedules as on any change of master.
        """
        try:
            self._update_master(self.lock.hold())
            upcoming = self._work_as_master() if self.master else None
        except TROUBLE as error:
            what = describe(error)
            if what is None:
                raise
            self.master = None
            return time.time() + self.outage.failed(what)
        self.outage.over()
        return upcoming or time.time() + self.settings.interval

    def _update_master(self, master: bool) -> None:
        if master != self.master:
            text = "Master scheduler" if master else "Child scheduler"
            log.info(text)
            set_title(self.settings.title(text))
            if master and self.recurring is not None:
                self.recurring.load()
        self.master = master

    def _work_as_master(self) -> float:
        moved = self.mover.move_due(lambda: self.stopping)
        if moved:
            log.debug("queued %d delayed jobs", moved)
        candidates = [time.time() + min(self.settings.interval, self.settings.lock_timeout / 3)]
        if self.recurring is not None:
            self.recurring.reload_if_changed()
            self.recurring.fire_due(time.time())
            candidates.append(self.recurring.next_due() or math.inf)
        upcoming = self.mover.next_timestamp()
        if upcoming is not None:
            candidates.append(float(upcoming))
        return min(candidates)

    def _wait(self, deadline: float, wakeups: Wakeups) -> None:
        """Until ``deadline``, or until a producer publishes an earlier timestamp."""
        try:
            self._waiting = True
            while not self.stopping and (left := deadline - time.time()) > 0:
                earliest = wakeups.wait(min(left, STOP_CHECK))
                if earliest is not None and earliest < deadline:
                    return
        except _Interrupted:
            return
        except (redis.ConnectionError, redis.TimeoutError) as error:
            self.outage.failed(f"Redis unavailable ({error})")
            time.sleep(max(0.0, min(1.0, deadline - time.time())))
        finally:
            self._waiting = False

    def _shut_down(self, wakeups: Any) -> None:
        log.info("Shutting down")
        try:
            self.lock.release()
        except redis.RedisError as error:
            log.warning("could not release the master lock (it expires by itself): %s", error)
        wakeups.close()
        self.driver.close()
        self.client.close()
