"""A worker's settings, built once (by the CLI from Ruby's environment variables, or by code)."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .queues import QueueSelector

WorkerHook = Callable[..., Any]
HOOK_NAMES = (
    "before_first_fork",
    "before_fork",
    "after_fork",
    "queue_empty",
    "worker_exit",
    "before_pause",
    "after_pause",
    "shutdown",
    "before_child_exit",
)


@dataclass(frozen=True)
class Intervals:
    """Ruby's polling intervals; ``interval == 0`` means "exit when the queues are empty".

    Where Ruby sleeps between polls, this worker blocks on Redis instead (and so picks up a
    job as soon as it is pushed); the intervals still bound how long one wait lasts.
    """

    interval: float = 5.0
    min_interval: float | None = None
    max_interval: float | None = None
    backoff_interval: float | None = None

    @property
    def exit_when_empty(self) -> bool:
        return self.interval == 0

    @property
    def maximum(self) -> float:
        return self.max_interval if self.max_interval is not None else self.interval


@dataclass(frozen=True)
class Shutdown:
    """What TERM does to a running job (Ruby's TERM_CHILD and its two timeouts)."""

    term_child: bool = False
    term_timeout: float = 4.0
    pre_shutdown_timeout: float = 0.0
    graceful_term: bool = False


@dataclass(frozen=True)
class ForkLimits:
    """How long one forked child keeps taking jobs (resque-multi-job-forks 0.5.2).

    The plugin reads ``JOBS_PER_FORK`` first: when it is set, only the job count limits a
    child; else ``MINUTES_PER_FORK`` (whole minutes, 1 by default) does, counted from the
    end of the child's first job. ``RESQUE_MEM_THRESHOLD`` (kB of resident memory, 0 for
    none) ends a child early either way. A child always runs at least one job.
    """

    jobs: int | None = None
    seconds: float = 60.0
    memory_kb: int = 0

    @classmethod
    def from_ruby(cls, jobs: str | None, minutes: str | None, memory: str | None) -> ForkLimits:
        """The three variables as the plugin reads them (``String#to_i``: "1.5" is 1, junk 0)."""
        return cls(
            jobs=None if jobs is None else ruby_to_i(jobs),
            seconds=60.0 * (1 if minutes is None else ruby_to_i(minutes)),
            memory_kb=0 if memory is None else ruby_to_i(memory),
        )


def ruby_to_i(text: str) -> int:
    """Ruby's ``String#to_i``: the leading integer, 0 when there is none."""
    found = re.match(r"\s*([-+]?\d+)", text.replace("_", ""))
    return int(found.group(1)) if found else 0


@dataclass
class WorkerHooks:
    """Worker-level hooks (Resque.before_fork and friends), each a list run in order."""

    hooks: dict[str, list[WorkerHook]] = field(
        default_factory=lambda: {name: [] for name in HOOK_NAMES}
    )

    def add(self, name: str, hook: WorkerHook) -> WorkerHook:
        if name not in self.hooks:
            raise ValueError(f"unknown worker hook {name!r}; expected one of {HOOK_NAMES}")
        self.hooks[name].append(hook)
        return hook

    def run(self, name: str, *args: Any) -> None:
        for hook in self.hooks[name]:
            hook(*args)


default_worker_hooks = WorkerHooks()
"""The hooks ``@worker_hook`` registers; a Worker built without hooks uses them."""


def worker_hook(name: str) -> Callable[[WorkerHook], WorkerHook]:
    """Register a worker hook (Ruby's ``Resque.before_fork = ...``) in the default hooks.

    >>> @worker_hook("after_fork")
    ... def reconnect_database(job): ...
    """
    return lambda hook: default_worker_hooks.add(name, hook)


@dataclass(frozen=True)
class WorkerSettings:
    queues: QueueSelector
    intervals: Intervals = Intervals()
    shutdown: Shutdown = Shutdown()
    fork_per_job: bool = hasattr(os, "fork")
    heartbeat_interval: float = 60.0
    prune_interval: float = 300.0
    resque_version: str = "3.0.0"
    procline_prefix: str = ""
    hostname: str = field(default_factory=socket.gethostname)
    multi_job_forks: ForkLimits | None = None
    """With fork per job: a child runs jobs until these limits (None: one job per child)."""
    wait_timeout: float = 5.0
    """Longest single blocking wait for work. Signals end a wait at once; this bounds how
    late a new queue matching a glob, or a cleared pause-all-workers key, is noticed."""
