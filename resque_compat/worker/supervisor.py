"""Several worker processes (``--count``), a pidfile, running in the background.

Like Ruby's ``rake resque:workers``: start N workers and wait for them. Signals sent to
the supervisor are passed on to every worker, so ``kill -QUIT <supervisor>`` stops the
whole group gracefully.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from .signals import WORKER_SIGNALS


def supervise(count: int, run_worker: Callable[[], None]) -> int:
    """Fork ``count`` workers, forward signals to them, return non-zero if any failed."""
    children = [_spawn(run_worker) for _ in range(count)]

    def forward(signum: int, _frame: FrameType | None) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    for signum in WORKER_SIGNALS:
        signal.signal(signum, forward)
    worst = 0
    for pid in children:
        _, status = os.waitpid(pid, 0)
        worst = max(worst, abs(os.waitstatus_to_exitcode(status)))
    return worst


def _spawn(run_worker: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            run_worker()
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    return pid


def write_pidfile(path: str) -> None:
    Path(path).write_text(f"{os.getpid()}")


def daemonize() -> None:
    """Detach like Ruby's ``Process.daemon(true)``: new session, no controlling terminal."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0,):
        os.dup2(devnull, fd)
    sys.stdout.flush()
