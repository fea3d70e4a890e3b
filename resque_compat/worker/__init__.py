"""The Python Resque worker: one module per responsibility (see ``core`` for the loop)."""

from __future__ import annotations

from .core import Worker
from .queues import QueueSelector
from .settings import ForkLimits, Intervals, Shutdown, WorkerHooks, WorkerSettings, worker_hook

__all__ = [
    "ForkLimits",
    "Intervals",
    "QueueSelector",
    "Shutdown",
    "Worker",
    "WorkerHooks",
    "WorkerSettings",
    "worker_hook",
]
