"""The jobs the chaos tests run (``--app tests.chaos.jobs``), and what they leave behind.

``ChaosJob`` records its own execution in Redis, so a test can tell which jobs ran and how
often without trusting the worker's bookkeeping: it appends its id to the plain list
:data:`RAN_KEY` (outside Resque's namespace). Recording waits for Redis through an outage,
so a job that runs while Redis is down still counts as run once Redis is back.
``tests/chaos/ruby_worker.rb`` defines the same class for Ruby Resque.
"""

from __future__ import annotations

import os
import time

import redis

from resque_compat import job

RAN_KEY = "chaos:ran"
"""Plain Redis list: one entry (the job id) per execution of a ``ChaosJob``."""

CHAOS_QUEUE = "chaos"
RECORD_PATIENCE = 60.0

_clients: dict[int, redis.Redis] = {}


def _client() -> redis.Redis:
    """One connection per process: a forked child must not share its parent's socket."""
    pid = os.getpid()
    client = _clients.get(pid)
    if client is None:
        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        _clients.clear()
        _clients[pid] = client
    return client


def record_run(job_id: str) -> None:
    """RPUSH the id, retrying while Redis is unreachable (an outage must not fail the job)."""
    deadline = time.monotonic() + RECORD_PATIENCE
    while True:
        try:
            _client().rpush(RAN_KEY, job_id)
            return
        except (redis.ConnectionError, redis.TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@job("ChaosJob", queue=CHAOS_QUEUE)
def chaos_job(job_id: str, sleep_ms: int = 0) -> None:
    """Work for ``sleep_ms`` (a window for kills to land in), then record the run."""
    if sleep_ms:
        time.sleep(sleep_ms / 1000)
    record_run(job_id)


@job("ChaosNoop", queue=CHAOS_QUEUE)
def chaos_noop(*_args: object) -> None:
    """Nothing at all: the soak measures the worker, not the job."""
