"""The failover scenario's moving parts: a producer, a supervised fleet, what Redis says.

Used by ``tests/test_sentinel.py``; kept apart so the test module reads as the scenarios and
their assertions. Jobs record that they ran in the rig's ledger (``COMPAT_LEDGER_URL``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import redis

from compat_tests.jobs import LEDGER_ENV, PERFORMED_KEY
from compat_tests.runtimes import RuntimeProcess, start_ruby
from resque_compat import Resque
from resque_compat.errors import ReplicationError, ResqueCompatError
from tests.sentinelrig import SentinelRig
from tests.workerproc import PythonWorker

RESUME_LIMIT = 15.0


@dataclass
class Producer:
    """Enqueues ``RecordArgs(n)``, n = 0, 1, 2..., noting which enqueues were acknowledged."""

    url: str
    options: dict[str, Any] = field(default_factory=dict)
    acked: list[tuple[int, float]] = field(default_factory=list)
    refused: list[tuple[int, float]] = field(default_factory=list)
    #: Refused with ReplicationError: on the master, not confirmed by a replica.
    unconfirmed: list[tuple[int, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        n = 0
        with Resque.from_url(self.url, **self.options) as resque:
            while not self.stop.is_set():
                try:
                    # Every 20th on ``ruby``, which only the Ruby worker reads.
                    resque.enqueue_to("ruby" if n % 20 == 0 else "compat", "RecordArgs", n)
                    self.acked.append((n, time.monotonic()))
                except ReplicationError:
                    self.refused.append((n, time.monotonic()))
                    self.unconfirmed.append((n, time.monotonic()))
                except (redis.RedisError, ResqueCompatError):
                    self.refused.append((n, time.monotonic()))
                    time.sleep(0.05)
                n += 1
                time.sleep(0.003)

    def acked_ids(self) -> set[int]:
        return {n for n, _t in self.acked}

    def first_ack_after(self, moment: float) -> float:
        """Seconds from ``moment`` to the next acknowledged enqueue (inf: none came)."""
        return min((t for _n, t in self.acked if t > moment), default=float("inf")) - moment

    def longest_wait(self) -> float:
        """The longest time between two acknowledged enqueues (a failover's hold, say)."""
        times = sorted(t for _n, t in self.acked)
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)

    def unconfirmed_after(self, moment: float) -> list[int]:
        return [n for n, t in self.unconfirmed if t > moment]


class Fleet:
    """Two Python workers on ``compat`` and a Ruby worker on ``ruby,compat``, supervised: a
    Ruby worker that exits is started again at once, as systemd or a Procfile runner would."""

    def __init__(self, rig: SentinelRig, stack: contextlib.ExitStack) -> None:
        self.rig, self.stack = rig, stack
        self.env = {LEDGER_ENV: f"redis://127.0.0.1:{rig.ledger.port}/0"}
        self.python = [
            stack.enter_context(PythonWorker(rig.url, "compat", "--interval", "0.1", env=self.env))
            for _ in range(2)
        ]
        self.ruby = self._start_ruby()
        self.ruby_exits: list[str] = []

    def _start_ruby(self) -> RuntimeProcess:
        env = {**self.env, "QUEUES": "ruby,compat", "INTERVAL": "0.1"}
        return self.stack.enter_context(start_ruby("worker.rb", self.rig.url, env=env))

    @property
    def pids(self) -> dict[int, str]:
        return {**{w.pid: "python" for w in self.python}, self.ruby.pid: "ruby"}

    def supervise(self) -> None:
        if not self.ruby.alive():
            self.ruby.stop()
            error = self.ruby.output()[1].strip().splitlines()
            self.ruby_exits.append(error[0] if error else f"exit {self.ruby.returncode}")
            self.ruby = self._start_ruby()

    def output(self) -> str:
        logs = [f"--- Python worker {w.pid} ---\n{w.output()[-3000:]}" for w in self.python]
        return "\n".join([*logs, f"--- Ruby worker ---\n{self.ruby.output()[1][-3000:]}"])

    def quit(self) -> None:
        for worker in self.python:
            worker.signal(signal.SIGQUIT)
        self.ruby.send_signal(signal.SIGQUIT)
        for worker in self.python:
            assert worker.wait(30) == 0, worker.output()
        self.ruby.communicate(timeout=30)


@contextlib.contextmanager
def fleet(rig: SentinelRig) -> Iterator[Fleet]:
    with contextlib.ExitStack() as stack:
        workers = Fleet(rig, stack)
        try:
            yield workers
        except BaseException:
            print(workers.output())  # shown by pytest with the failure
            raise


def registered(rig: SentinelRig) -> list[str]:
    with rig.master_client() as client:
        return sorted(m.decode() for m in client.smembers("resque:workers"))


def ledger(rig: SentinelRig) -> list[dict[str, Any]]:
    with rig.ledger_client() as client:
        return [json.loads(raw) for raw in client.lrange(PERFORMED_KEY, 0, -1)]


def failed_ids(rig: SentinelRig) -> list[int]:
    with rig.master_client() as client:
        records = [json.loads(raw) for raw in client.lrange("resque:failed", 0, -1)]
    return [int(r["payload"]["args"][0]) for r in records]


def processed(rig: SentinelRig, worker_ids: list[str]) -> dict[str, int]:
    with rig.master_client() as client:
        counts = [client.get(f"resque:stat:processed:{w}") for w in worker_ids]
    return {w: int(c or 0) for w, c in zip(worker_ids, counts, strict=True)}


def resume_times(rig: SentinelRig, workers: Fleet, promoted: float) -> dict[str, float]:
    """Seconds from promotion to each worker's first job counted on the new master (a Ruby
    worker that exited counts when the one started in its place has run a job)."""
    baseline = processed(rig, registered(rig))
    resumed: dict[str, float] = {}
    deadline = promoted + RESUME_LIMIT + 5
    while len(resumed) < 3 and time.monotonic() < deadline:
        workers.supervise()
        pids = workers.pids
        for worker_id, count in processed(rig, registered(rig)).items():
            pid = int(worker_id.split(":")[1])
            if pid in pids and count > baseline.get(worker_id, 0):
                resumed.setdefault(f"{pids[pid]}:{pid}", round(time.monotonic() - promoted, 2))
        time.sleep(0.02)
    return resumed


def drain(rig: SentinelRig, workers: Fleet) -> None:
    """Wait until both queues are empty and no live worker is mid-job (an exited Ruby
    worker's record stays until pruned)."""

    def idle() -> bool:
        workers.supervise()
        live = [
            f"resque:worker:{w}" for w in registered(rig) if int(w.split(":")[1]) in workers.pids
        ]
        with rig.master_client() as client:
            queued = client.llen("resque:queue:compat") + client.llen("resque:queue:ruby")
            return queued == 0 and not client.exists(*live)

    rig.wait_for(idle, 30, "the queue to drain")
