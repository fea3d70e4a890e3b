"""Delayed retries of resque-retry 1.8.1 (with resque-scheduler 5.0) against Python's.

Three jobs exist in both runtimes: a fixed ``@retry_delay``, an ``ExponentialBackoff``
strategy starting with 0 (an immediate retry first), and ``@retry_exceptions`` as a hash of
delays. Each is run step by step: a worker takes the queue until it is empty, the keys are
read, then the delayed retry is moved to the queue (resque-scheduler's
``enqueue_delayed_selection``, as if its time had come) for the next step. The steps are run
all by Ruby, all by Python, and alternately (Ruby first), with the
``MultipleWithRetrySuppression`` backend on both sides, and must leave the same keys: the
counter, the delayed retry (payload and delay), the ``failure-resque-retry:`` record kept
while it is pending (and its time to live), and the failure saved on giving up.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
import redis

from compat_tests.ruby_retry import PERFORM, PLUGINS, SUPPRESSION
from compat_tests.runtimes import requires_ruby, ruby_eval
from resque_compat import Resque, codec
from tests.workerproc import PythonWorker

pytestmark = requires_ruby

RUBY_UNTIL_EMPTY = (
    SUPPRESSION + '20.times { job = Resque.reserve("retry") or break; ' + PERFORM + "}; true"
)
FIRE_DELAYED = "Resque.enqueue_delayed_selection { true }"
ARGS = ["job", 3, {"k": [None, 1.5]}]
RECORD_KEYS = ["failed_at", "payload", "exception", "error", "backtrace", "worker", "queue"]

#: class -> the delay of each retry the steps see (0: retried at once, in the same step)
SCENARIOS: dict[str, list[int]] = {
    "DelayedRetryJob": [60, 60],
    "BackoffJob": [0, 30, 90],
    "ExceptionDelayJob": [10, 20],
}


def _tens(seconds: int) -> int:
    """Delays and TTLs are read a second or two after they were set: compare them in tens."""
    return round(seconds / 10) * 10


def _step(runtime: str, redis_url: str) -> None:
    if runtime == "ruby":
        ruby_eval(RUBY_UNTIL_EMPTY, redis_url, env=PLUGINS)
        return
    args = ("--interval", "0", "--app", "compat_tests.plugin_jobs")
    backend = ("--failure-backend", "multiple_with_retry_suppression:redis")
    with PythonWorker(redis_url, "retry", *args, *backend) as worker:
        assert worker.wait(30) == 0, worker.output()


def _pending_record(raw_redis: redis.Redis, key: bytes | str) -> dict[str, Any]:
    raw = raw_redis.get(key)
    assert raw is not None
    record = codec.decode(raw)
    assert list(record) == RECORD_KEYS
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d", record.pop("failed_at"))
    assert isinstance(record.pop("backtrace"), list) and isinstance(record.pop("worker"), str)
    return {**record, "ttl": _tens(raw_redis.ttl(key))}


def _leaves(raw_redis: redis.Redis) -> dict[str, Any]:
    now = int(time.time())
    delayed = []
    members: list[bytes] = raw_redis.zrange("resque:delayed_queue_schedule", 0, -1)  # type: ignore[assignment]
    for member in members:
        timestamp = int(member)
        for payload in raw_redis.lrange(f"resque:delayed:{timestamp}", 0, -1):
            delayed.append((_tens(timestamp - now), payload))
    counters = raw_redis.keys("resque:resque-retry:*")
    records = raw_redis.keys("resque:failure-resque-retry:*")
    failed = [codec.decode(raw) for raw in raw_redis.lrange("resque:failed", 0, -1)]
    attempts = [json.loads(raw) for raw in raw_redis.lrange("compat:attempts", 0, -1)]
    return {
        "attempts": [(a["class"], a["args"], a["counter"]) for a in attempts],
        "counters": {key: (raw_redis.get(key), raw_redis.ttl(key)) for key in counters},
        "delayed": delayed,
        "queue": raw_redis.lrange("resque:queue:retry", 0, -1),
        "pending": {key: _pending_record(raw_redis, key) for key in records},
        "failed": [(f["payload"], f["exception"], f["error"], f["queue"]) for f in failed],
    }


def _run(runtimes: list[str], redis_url: str, raw_redis: redis.Redis, klass: str) -> list[Any]:
    raw_redis.flushdb()
    with Resque.from_url(redis_url) as resque:
        resque.enqueue_to("retry", klass, *ARGS)
    seen = []
    for runtime in runtimes:
        _step(runtime, redis_url)
        seen.append(_leaves(raw_redis))
        ruby_eval(FIRE_DELAYED, redis_url, env=PLUGINS)
    return seen


def _steps(klass: str) -> int:
    """One step per delayed retry, and the last one that gives up."""
    return len([delay for delay in SCENARIOS[klass] if delay > 0]) + 1


@pytest.mark.parametrize("klass", list(SCENARIOS))
def test_all_ruby_reference(redis_url: str, raw_redis: redis.Redis, klass: str) -> None:
    """What real resque-retry leaves: each step's delayed retry, its pending record for twice
    the delay, the counter kept until the give-up saves one failure."""
    steps = _run(["ruby"] * _steps(klass), redis_url, raw_redis, klass)
    delays = [delay for delay in SCENARIOS[klass] if delay > 0]
    for step, delay in zip(steps, delays, strict=False):
        assert [when for when, _payload in step["delayed"]] == [delay]
        assert [record["ttl"] for record in step["pending"].values()] == [2 * delay]
        assert step["failed"] == [] and len(step["counters"]) == 1
    payload = step["delayed"][0][1]
    assert codec.decode(payload) == {"class": klass, "args": ARGS, "queue": "retry"}
    last = steps[-1]
    assert last["delayed"] == [] and last["pending"] == {} and last["counters"] == {}
    assert [f[1:] for f in last["failed"]] == [("RuntimeError", last["failed"][0][2], "retry")]
    assert len(last["attempts"]) == len(SCENARIOS[klass]) + 1


@pytest.mark.parametrize("mode", ["python", "alternating"])
@pytest.mark.parametrize("klass", list(SCENARIOS))
def test_python_steps_leave_what_ruby_leaves(
    redis_url: str, raw_redis: redis.Redis, klass: str, mode: str
) -> None:
    count = _steps(klass)
    ruby = _run(["ruby"] * count, redis_url, raw_redis, klass)
    runtimes = ["python"] * count
    if mode == "alternating":
        runtimes = ["ruby" if n % 2 == 0 else "python" for n in range(count)]
    python = _run(runtimes, redis_url, raw_redis, klass)
    for number, (mine, theirs) in enumerate(zip(python, ruby, strict=True)):
        assert mine == theirs, f"step {number + 1} ({runtimes[number]})"
