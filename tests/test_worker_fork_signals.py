"""A TERM that reaches a job's child before the child has its own handlers is not lost.

Right after ``fork`` a child still has the worker's handlers, which only note a signal for
the worker's loop, a loop the child never runs. A TERM sent to stop the job in that window
(the worker forwards it as soon as it has forked) used to vanish: the job ran on and was
killed after the term timeout, a ``DirtyExit`` instead of Ruby's ``TermException``. Under
load the window is wide enough to hit (``test_term_child_gives_the_job_a_term_exception``
did). The child is now forked with the stop signals held until it starts its job.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from types import FrameType

import pytest

from resque_compat.worker import runner
from resque_compat.worker.signals import reset_for_child

NOTED: list[int] = []


def _note(signum: int, _frame: FrameType | None) -> None:
    """What the worker's handlers do: note the signal for the loop."""
    NOTED.append(signum)


@pytest.fixture
def worker_handlers() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, _note)
    yield
    signal.signal(signal.SIGTERM, previous)


def _slow_to_start_then_run() -> runner.JobResult:
    """A child that takes a while before its handlers are in place, then runs a long job."""
    time.sleep(0.5)
    reset_for_child()
    runner.release_held_signals()
    time.sleep(10)
    return runner.JobResult(True)


@pytest.mark.usefixtures("worker_handlers")
def test_a_term_sent_before_the_child_has_its_handlers_stops_the_job() -> None:
    started = time.monotonic()
    child = runner.Child.start(_slow_to_start_then_run)
    child.signal(signal.SIGTERM)
    read_fd, write_fd = os.pipe()
    try:
        while not child.wait(0.1, read_fd):
            assert time.monotonic() - started < 5, "the TERM was lost: the job ran on"
    finally:
        os.close(read_fd)
        os.close(write_fd)
    result = child.finish()
    child.reap(block=True)
    assert result is not None
    assert (result.ok, result.exception, result.error) == (
        False,
        "Resque::TermException",
        "SIGTERM",
    )
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == set(), "the worker's mask changed"
