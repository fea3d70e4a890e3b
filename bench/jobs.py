"""The jobs the benchmarks run: ``resque-compat work --app bench.jobs``.

Ruby (``bench/ruby/jobs.rb``) and node (``bench/node/worker.js``) define the same two names
with the same effect, so one queue of payloads measures every runtime:

* ``BenchNoop`` does nothing: what remains is the worker's own cost per job.
* ``BenchStamp`` reads the clock on its first line, then appends
  ``{"tag": <args[0]>, "t": <epoch seconds>, "runtime": "python", "pid": ...}`` to the plain
  list ``bench:stamps`` (outside the Resque namespace). The benchmarks time runs and pickups
  from these stamps, so a worker's start-up and shutdown never count.
"""

from __future__ import annotations

import functools
import json
import os
import time
from typing import Any

import redis

from resque_compat import job

QUEUE = "bench"
STAMPS_KEY = "bench:stamps"


@functools.cache
def _stamps_client(pid: int) -> redis.Redis:
    """One connection per process (keyed by pid: a forked child must not reuse its parent's)."""
    del pid
    return redis.Redis.from_url(os.environ["REDIS_URL"])


@job("BenchNoop", queue=QUEUE)
def bench_noop(*_args: Any) -> None:
    return None


@job("BenchStamp", queue=QUEUE)
def bench_stamp(tag: str, *_rest: Any) -> None:
    now = time.time()
    entry = {"tag": tag, "t": now, "runtime": "python", "pid": os.getpid()}
    _stamps_client(os.getpid()).rpush(STAMPS_KEY, json.dumps(entry))
