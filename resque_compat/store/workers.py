"""The worker registry as readers see it: ``workers``, ``worker:<id>``, heartbeats, started.

The worker's own writes (register, working on, done, unregister, heartbeat, pruning) live
in ``store.lifecycle``; this module holds what inspectors (the client API, the CLI,
resque-web-like views) read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..keys import FAILED, PROCESSED, Keys
from .base import Operation, as_int, one, text, texts


@dataclass(frozen=True)
class WorkerDetails:
    """A worker's own keys besides its job: start time and its two counters."""

    started: str | None
    processed: int
    failed: int


@dataclass(frozen=True)
class WorkerOps:
    keys: Keys

    def ids(self) -> Operation[list[str]]:
        return sorted(texts((yield one(("SMEMBERS", self.keys.workers())))))

    def payloads(self, worker_ids: Sequence[str]) -> Operation[dict[str, bytes | None]]:
        """``worker:<id>`` of each worker (None when idle), in one MGET like Ruby's."""
        if not worker_ids:
            return {}
        replies = yield one(("MGET", *(self.keys.worker(wid) for wid in worker_ids)))
        return dict(zip(worker_ids, replies, strict=False))

    def working(self) -> Operation[dict[str, bytes]]:
        """Workers whose ``worker:<id>`` is set and non-empty, as Ruby's ``Worker.working``."""
        payloads = yield from self.payloads((yield from self.ids()))
        return {wid: value for wid, value in payloads.items() if value}

    def heartbeats(self) -> Operation[dict[str, str]]:
        replies = yield one(("HGETALL", self.keys.heartbeats()))
        return {text(k) or "": text(v) or "" for k, v in replies.items()}

    def started(self, worker_id: str) -> Operation[str | None]:
        return text((yield one(("GET", self.keys.worker_started(worker_id)))))

    def exists(self, worker_id: str) -> Operation[bool]:
        return bool((yield one(("SISMEMBER", self.keys.workers(), worker_id))))

    def details(self, worker_ids: Sequence[str]) -> Operation[dict[str, WorkerDetails]]:
        """``worker:<id>:started``, ``stat:processed:<id>``, ``stat:failed:<id>`` of each worker.

        One MGET for the whole fleet, so an operator view costs the same round trips for
        three workers as for three hundred.
        """
        if not worker_ids:
            return {}
        keys: list[str] = []
        for wid in worker_ids:
            keys += [
                self.keys.worker_started(wid),
                self.keys.worker_stat(PROCESSED, wid),
                self.keys.worker_stat(FAILED, wid),
            ]
        replies = yield one(("MGET", *keys))
        return {
            wid: WorkerDetails(
                text(replies[3 * i]), as_int(replies[3 * i + 1]), as_int(replies[3 * i + 2])
            )
            for i, wid in enumerate(worker_ids)
        }
