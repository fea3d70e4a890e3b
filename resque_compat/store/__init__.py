"""The only package that talks to Redis.

Narrow parts, one per area of the schema (``queues``, ``workers``, ``failed``, ``stats``,
``delayed``),
each a set of operations built from ``keys`` and run by a driver (``base``). There is no
pass-through to the raw client: whatever the library does to Redis is an operation here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..keys import Keys
from .base import AsyncDriver, Batch, Operation, Script, SyncDriver, batch, one
from .delayed import DelayedOps
from .failed import FailedOps
from .queues import QueueOps, StatOps
from .workers import WorkerOps

__all__ = [
    "AsyncDriver",
    "Batch",
    "Operation",
    "Schema",
    "Script",
    "SyncDriver",
    "batch",
    "one",
]


@dataclass(frozen=True)
class Schema:
    """All operations of one namespace, grouped by area."""

    keys: Keys
    queues: QueueOps = field(init=False)
    stats: StatOps = field(init=False)
    workers: WorkerOps = field(init=False)
    failed: FailedOps = field(init=False)
    delayed: DelayedOps = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "queues", QueueOps(self.keys))
        object.__setattr__(self, "stats", StatOps(self.keys))
        object.__setattr__(self, "workers", WorkerOps(self.keys))
        object.__setattr__(self, "failed", FailedOps(self.keys))
        object.__setattr__(self, "delayed", DelayedOps(self.keys))
