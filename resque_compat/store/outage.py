"""Riding out a Redis that is away or refusing writes, for every long-running process.

The worker, the scheduler and the metrics server meet the same outages: a lost connection,
or a Redis that answers but refuses writes (``OOM`` at ``maxmemory`` with ``noeviction``,
``READONLY`` from a replica after a failover, ``MISCONF`` when it cannot save). Each logs one
line when an outage starts and one when it ends (an outage of an hour must not flood the log),
and tries again after a delay that doubles from 0.1 s to 30 s. This module owns that policy,
so that the processes cannot drift apart; what each does while it waits (read signals, keep a
lock) stays with it.

Retrying is safe because a refused write had no effect (a script is refused at its first
write, before it changed anything, and a pipeline's commands are refused one by one: see
``errors.WritesRefused``); after a lost connection, the caller retries only what is safe to
repeat.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import redis

from .base import as_refusal

T = TypeVar("T")

FIRST_DELAY = 0.1
LONGEST_DELAY = 30.0
TROUBLE = (redis.ConnectionError, redis.TimeoutError, redis.ResponseError)
"""What an outage raises; a ``ResponseError`` only when it is a refused write."""


def describe(error: BaseException, unreachable_too: bool = True) -> str | None:
    """The outage ``error`` shows, as the first line of its log says it; None when it is no
    outage (a wrong command, a script error: retrying would not help)."""
    refusal = as_refusal(error)
    if refusal is not None:
        return f"Redis refuses writes: {refusal.reply}"
    if unreachable_too and isinstance(error, (redis.ConnectionError, redis.TimeoutError)):
        return f"Redis unavailable ({error})"
    return None


class Outage:
    """The state of one process's outage: when it began, and the next delay."""

    def __init__(
        self,
        log: logging.Logger,
        longest: float = LONGEST_DELAY,
        retrying: str = "retrying with backoff",
    ) -> None:
        self.log = log
        self.longest = longest
        self.retrying = retrying
        """What the process does meanwhile, for its first line."""
        self.since: float | None = None
        self.delay = FIRST_DELAY

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def failed(self, what: str) -> float:
        """Another failed try: logged if it starts the outage; the seconds to wait before the
        next (doubling up to ``longest``)."""
        if self.since is None:
            self.since = time.monotonic()
            self.log.warning("%s; %s", what, self.retrying)
        delay, self.delay = self.delay, min(self.delay * 2, self.longest)
        return delay

    def over(self) -> None:
        """A try succeeded: the end of the outage is logged, if there was one."""
        if self.since is not None:
            self.log.warning("Redis is back after %.1fs", time.monotonic() - self.since)
        self.since, self.delay = None, FIRST_DELAY


def ride_out(
    call: Callable[[], T],
    outage: Outage,
    pause: Callable[[float], bool],
    unreachable_too: bool = True,
) -> T:
    """``call()``, tried again while Redis is away (unless not ``unreachable_too``) or
    refuses writes. ``pause(seconds)`` waits between tries and says whether to go on; when it
    says no (the process is stopping), the last error is raised."""
    while True:
        try:
            result = call()
        except TROUBLE as error:
            what = describe(error, unreachable_too)
            if what is None or not pause(outage.failed(what)):
                raise
        else:
            outage.over()
            return result
