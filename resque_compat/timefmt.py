"""The time formats Ruby Resque writes, each in the zone Ruby would use.

=========================  ==============================  ===============================
where                      Ruby expression                 format
=========================  ==============================  ===============================
``worker:<id>`` run_at     ``Time.now.utc.iso8601``        ``2026-11-28T06:52:30Z``
``worker:<id>:started``    ``Time.now.to_s`` (local)       ``2026-11-28 01:52:30 -0500``
``workers:heartbeat``      ``Time.at(redis TIME).iso8601``  ``2026-11-28T01:52:30-05:00``
process titles             ``Time.now.to_i``               ``1795850357``
=========================  ==============================  ===============================

Failure timestamps (``failed_at``, ``retried_at``) belong to ``resque_compat.failure``.
"""

from __future__ import annotations

import functools
import time
from datetime import datetime, timezone


def local_now() -> datetime:
    return datetime.now().astimezone()


def run_at(now: float | None = None) -> str:
    second = int(time.time() if now is None else now)
    return _run_at(second)


@functools.lru_cache(maxsize=2)
def _run_at(second: int) -> str:
    """Formatted once per second: a busy worker asks for it once per job."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))


def started(now: datetime | None = None) -> str:
    return (now or local_now()).strftime("%Y-%m-%d %H:%M:%S %z")


def heartbeat(server_seconds: float) -> str:
    """ISO 8601 in the local zone with a ``+00:00`` style offset (Ruby never writes ``Z``)."""
    moment = datetime.fromtimestamp(int(server_seconds), timezone.utc).astimezone()
    return moment.isoformat(timespec="seconds")


def parse_heartbeat(value: str) -> float | None:
    """Seconds since the epoch of a heartbeat written by any Resque; None when unreadable."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.timestamp()


def epoch() -> int:
    return int(time.time())
