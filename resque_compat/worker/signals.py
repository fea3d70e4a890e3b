"""Signals: the handlers only record what arrived; the worker loop decides what to do.

=======  =========================================  ===========================================
signal   Ruby Resque 3.0                            this worker (same meaning)
=======  =========================================  ===========================================
QUIT     finish the current job, then exit          ``GRACEFUL``
TERM     stop the job now, exit (``shutdown!``);    ``IMMEDIATE``; with GRACEFUL_TERM like QUIT
         with GRACEFUL_TERM like QUIT
INT      stop the job now, exit                     ``IMMEDIATE``
USR1     stop the current job, keep working         ``KILL_CHILD``
USR2     pause: reserve nothing until CONT          ``PAUSE``
CONT     resume after USR2                          ``RESUME``
=======  =========================================  ===========================================

"Stop the job now" follows TERM_CHILD. With fork per job: without TERM_CHILD the child gets
SIGKILL at once; with it the worker waits RESQUE_PRE_SHUTDOWN_TIMEOUT for the job to end,
sends SIGTERM (the job sees ``Resque::TermException``), waits RESQUE_TERM_TIMEOUT, then
sends SIGKILL. A child killed by a signal is recorded as a ``Resque::DirtyExit`` failure.
Without fork: with TERM_CHILD, ``Resque::TermException`` is raised inside the running job
at once (``SignalInbox.raising_term``), as Ruby's ``shutdown!`` does, and recorded as that
job's failure; without TERM_CHILD the job runs to its end, as Ruby has no child to kill.

With many jobs per child (resque-multi-job-forks: JOBS_PER_FORK, MINUTES_PER_FORK) the
child keeps taking jobs, so it listens too (``child_action_table``): QUIT finishes the
current job and ends the child (the plugin's own trap in the child); TERM and INT raise
``Resque::TermException`` in the running job and end the child; USR1, USR2 and CONT are
ignored there. The worker sends its child QUIT when it is told to stop or to pause, as the
plugin's ``shutdown_child`` does, then acts on its own signal as above; after USR1 it forks
a new child for the next job.

Handlers write one byte to a self-pipe (``signal.set_wakeup_fd``), so a worker blocked in
``select`` on Redis sockets or on its child wakes at once.
"""

from __future__ import annotations

import contextlib
import enum
import os
import signal
from collections import deque
from collections.abc import Iterator
from types import FrameType
from typing import Any


class Action(enum.Enum):
    GRACEFUL = "graceful"
    IMMEDIATE = "immediate"
    KILL_CHILD = "kill_child"
    PAUSE = "pause"
    RESUME = "resume"


def action_table(graceful_term: bool) -> dict[signal.Signals, Action]:
    return {
        signal.SIGQUIT: Action.GRACEFUL,
        signal.SIGTERM: Action.GRACEFUL if graceful_term else Action.IMMEDIATE,
        signal.SIGINT: Action.IMMEDIATE,
        signal.SIGUSR1: Action.KILL_CHILD,
        signal.SIGUSR2: Action.PAUSE,
        signal.SIGCONT: Action.RESUME,
    }


#: Every signal the worker acts on: the ones a ``--count`` supervisor forwards to its workers
#: and a new child holds until its own handlers are in place.
WORKER_SIGNALS = frozenset(action_table(graceful_term=False))


def child_action_table() -> dict[signal.Signals, Action]:
    """The signals a child running many jobs listens to (see the table above)."""
    return {
        signal.SIGQUIT: Action.GRACEFUL,
        signal.SIGTERM: Action.IMMEDIATE,
        signal.SIGINT: Action.IMMEDIATE,
    }


class SignalInbox:
    """Signals received and not yet acted upon, plus a file descriptor to ``select`` on."""

    def __init__(self, graceful_term: bool = False) -> None:
        self.table = action_table(graceful_term)
        self.pending: deque[Action] = deque()
        self._previous: dict[signal.Signals, Any] = {}
        self._raise_term = False
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)

    @property
    def wakeup_fd(self) -> int:
        return self._read_fd

    def install(self) -> None:
        for signum in self.table:
            self._previous[signum] = signal.signal(signum, self._record)
        signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)

    def _record(self, signum: int, _frame: FrameType | None) -> None:
        action = self.table[signal.Signals(signum)]
        self.pending.append(action)
        if self._raise_term and action is Action.IMMEDIATE:
            self._raise_term = False  # later TERMs only record (Ruby ignores them)
            raise TermException("SIGTERM")

    @contextlib.contextmanager
    def raising_term(self) -> Iterator[None]:
        """While a job runs in this process with TERM_CHILD: a stop-now signal raises
        ``TermException`` in it (the action is recorded too, so the worker then exits)."""
        self._raise_term = True
        try:
            yield
        finally:
            self._raise_term = False

    def take(self) -> list[Action]:
        """The actions received since the last call, in order; drains the self-pipe.

        Cheap when nothing arrived (the busy loop calls it once per job): every byte in the
        pipe comes with an action, so the pipe needs draining only when there is one.
        """
        if not self.pending:
            return []
        self._drain()
        actions = list(self.pending)
        self.pending.clear()
        return actions

    def _drain(self) -> None:
        try:
            while os.read(self._read_fd, 512):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        """Give the process its previous handlers back (tests run workers in-process)."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
        signal.set_wakeup_fd(-1)
        os.close(self._read_fd)
        os.close(self._write_fd)


class TermException(BaseException):
    """Raised inside a job's child when the worker asks it to stop (TERM_CHILD)."""

    ruby_name = "Resque::TermException"


def _raise_term(_signum: int, _frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise TermException("SIGTERM")


def reset_for_child() -> None:
    """In a forked child: TERM stops the job with an exception, worker signals are ignored."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, _raise_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in WORKER_SIGNALS - {signal.SIGTERM, signal.SIGINT}:
        signal.signal(signum, signal.SIG_IGN)
