"""resque-lock-timeout 0.4.5 and Python: one lock key, one timeout protocol, no overlap.

``LockedJob`` (identifier: its first argument, 60 s timeout, re-enqueued when locked) and
``DefaultLocked`` (``args.join('-')``, no timeout) exist in both runtimes.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from compat_tests.runtimes import requires_ruby, ruby_eval, start_ruby
from resque_compat import JobRegistry, RedisSettings, Resque, codec
from resque_compat.plugins.lock_timeout import JobLock, LockOptions, LockTimeout
from tests.workerproc import PythonWorker, wait_for

pytestmark = requires_ruby

PLUGINS = {"COMPAT_PLUGINS": "1"}
JOBS = 10


@pytest.fixture
def stack() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as exits:
        yield exits


def _ruby(code: str, redis_url: str) -> Any:
    return ruby_eval(code, redis_url, env=PLUGINS)


def _first(key: str, *_rest: Any) -> str:
    return key


def _locked_spec(redis_url: str, name: str, performed: list[Any], **options: Any) -> Any:
    registry = JobRegistry()
    spec = registry.register_function(name, lambda *args: performed.append(args), "locked")
    return LockTimeout(RedisSettings.from_url(redis_url)).locked(**options)(spec)


def test_ruby_and_python_build_the_same_lock_keys(redis_url: str) -> None:
    shapes: list[list[Any]] = [[], [1], ["a", None, 2.5, True], [[1, [2, "x"]], {"b": 1}]]
    ruby_keys = _ruby(
        f"JSON.parse({json.dumps(json.dumps(shapes))}).map {{ |a| "
        "[DefaultLocked.redis_lock_key(*a), DefaultLocked.redis_loner_lock_key(*a)] }",
        redis_url,
    )
    spec = _locked_spec(redis_url, "DefaultLocked", [])
    lock = JobLock(LockTimeout(RedisSettings.from_url(redis_url)).redis, spec, LockOptions())
    python_keys = [
        [lock.lock_key(a).removeprefix("resque:"), lock.loner_key(a).removeprefix("resque:")]
        for a in shapes
    ]
    assert python_keys == ruby_keys


def test_a_lock_held_by_ruby_skips_and_requeues_the_python_job(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    performed: list[Any] = []
    spec = _locked_spec(
        redis_url, "LockedJob", performed, timeout=60, requeue=True, identifier=_first
    )
    until = _ruby('LockedJob.acquire_lock!("k", 1, 0)', redis_url)
    assert isinstance(until, int) and until > time.time()
    assert spec.run(["k", 1, 0]) is False and performed == []
    assert raw_redis.lrange("resque:queue:locked", 0, -1) == [
        codec.encode_payload("LockedJob", ["k", 1, 0])
    ]
    assert int(raw_redis.get("resque:lock:LockedJob:k") or 0) == until


def test_python_takes_over_a_stale_ruby_lock_and_ruby_sees_python_locks(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    performed: list[Any] = []
    spec = _locked_spec(redis_url, "DefaultLocked", performed, timeout=30)
    raw_redis.set("resque:lock:DefaultLocked:k-1", int(time.time()) - 5)
    assert spec.run(["k", 1]) is True and performed == [("k", 1)]
    assert raw_redis.exists("resque:lock:DefaultLocked:k-1") == 0

    lock = JobLock(LockTimeout(RedisSettings.from_url(redis_url)).redis, spec, LockOptions(30))
    until = lock.acquire(lock.lock_key(["k", 2]))
    assert isinstance(until, int) and until >= int(time.time()) + 29
    code = 'DefaultLocked.instance_variable_set(:@lock_timeout, 30); DefaultLocked.locked?("k", 2)'
    assert _ruby(code, redis_url) is True


def test_an_untimed_lock_is_the_string_true_on_both_sides(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    performed: list[Any] = []
    spec = _locked_spec(redis_url, "DefaultLocked", performed)
    _ruby('DefaultLocked.acquire_lock!("x")', redis_url)
    assert raw_redis.get("resque:lock:DefaultLocked:x") == b"true"
    assert spec.run(["x"]) is False and performed == []
    _ruby('DefaultLocked.release_lock!("x")', redis_url)
    assert spec.run(["x"]) is True and performed == [("x",)]


def _intervals(raw_redis: redis.Redis) -> list[tuple[float, float, str, int]]:
    entries = [json.loads(raw) for raw in raw_redis.lrange("compat:locklog", 0, -1)]
    starts = {(e["runtime"], e["n"]): e["t"] for e in entries if e["edge"] == "start"}
    ends = {(e["runtime"], e["n"]): e["t"] for e in entries if e["edge"] == "end"}
    assert starts.keys() == ends.keys()
    return sorted((starts[k], ends[k], k[0], k[1]) for k in starts)


def test_a_ruby_and_a_python_worker_never_run_the_same_locked_job_at_once(
    redis_url: str, raw_redis: redis.Redis, stack: contextlib.ExitStack
) -> None:
    ruby = stack.enter_context(
        start_ruby("worker.rb", redis_url, env={**PLUGINS, "QUEUE": "locked", "INTERVAL": "0.1"})
    )
    python = stack.enter_context(
        PythonWorker(redis_url, "locked", "--interval", "0.1", "--app", "compat_tests.plugin_jobs")
    )
    python.wait_registered(30)
    with Resque.from_url(redis_url) as resque:
        for number in range(JOBS):
            resque.enqueue_to("locked", "LockedJob", "same", number, 0.15)
    wait_for(lambda: raw_redis.llen("compat:locklog") >= 2 * JOBS, 90, "every job ran")
    assert ruby.stop(signal.SIGQUIT) == 0
    python.signal(signal.SIGQUIT)
    assert python.wait(20) == 0, python.output()

    intervals = _intervals(raw_redis)
    assert sorted(n for *_t, n in intervals) == list(range(JOBS))
    for before, after in itertools.pairwise(intervals):
        assert before[1] <= after[0], f"{before} overlaps {after}"
    assert {runtime for _s, _e, runtime, _n in intervals} == {"ruby", "python"}
    assert raw_redis.exists("resque:lock:LockedJob:same") == 0
    assert raw_redis.llen("resque:failed") == 0
