"""resque-retry 1.8.1 and Python: one attempt counter, one give-up, one failure record.

``RetriedJob`` (retry limit 2, immediate retries) exists in both runtimes. A Ruby attempt is
what a Ruby worker does with one job (reserve, perform, ``fail`` on error) with the
``MultipleWithRetrySuppression`` backend; Python attempts are the real Python worker's, with
``--failure-backend multiple_with_retry_suppression:redis``. After each attempt the keys are
compared with what the same sequence all in Ruby leaves.
"""

from __future__ import annotations

import json
import re
from typing import Any

import redis

from compat_tests.ruby_retry import ONE_ATTEMPT, PLUGINS
from compat_tests.runtimes import requires_ruby, ruby_eval, run_ruby
from resque_compat import Resque, codec
from resque_compat.plugins.retry import retry_key
from tests.workerproc import PythonWorker

pytestmark = requires_ruby

ARGS = ["x", 1, {"deep": [None, 2.5]}]
COUNTER = f"resque:{retry_key('RetriedJob', ARGS)}"


def _enqueue(redis_url: str, *args: Any) -> None:
    with Resque.from_url(redis_url) as resque:
        resque.enqueue_to("retry", "RetriedJob", *args)


def _snapshot(raw_redis: redis.Redis) -> dict[str, Any]:
    failed = [codec.decode(raw) for raw in raw_redis.lrange("resque:failed", 0, -1)]
    return {
        "counter": raw_redis.get(COUNTER),
        "ttl": raw_redis.ttl(COUNTER),
        "queue": raw_redis.lrange("resque:queue:retry", 0, -1),
        "failed": [(f["payload"], f["exception"], f["error"], f["queue"]) for f in failed],
        "suppressed": raw_redis.keys("resque:failure-resque-retry:*"),
    }


def _attempts(raw_redis: redis.Redis) -> list[tuple[str, str | None]]:
    entries = [json.loads(raw) for raw in raw_redis.lrange("compat:attempts", 0, -1)]
    return [(e["runtime"], e["counter"]) for e in entries]


def _python_worker(redis_url: str) -> PythonWorker:
    return PythonWorker(
        redis_url,
        "retry",
        "--interval",
        "0",
        "--app",
        "compat_tests.plugin_jobs",
        "--failure-backend",
        "multiple_with_retry_suppression:redis",
    )


def _all_ruby(redis_url: str, raw_redis: redis.Redis) -> list[dict[str, Any]]:
    _enqueue(redis_url, *ARGS)
    snapshots = []
    for _attempt in range(3):
        ruby_eval(ONE_ATTEMPT, redis_url, env=PLUGINS)
        snapshots.append(_snapshot(raw_redis))
    return snapshots


PAYLOAD = codec.encode_payload("RetriedJob", ARGS)
EXPECTED = [
    {"counter": b"0", "ttl": -1, "queue": [PAYLOAD], "failed": [], "suppressed": []},
    {"counter": b"1", "ttl": -1, "queue": [PAYLOAD], "failed": [], "suppressed": []},
    {
        "counter": None,
        "ttl": -2,
        "queue": [],
        "failed": [(codec.decode(PAYLOAD), "RuntimeError", "attempt failed", "retry")],
        "suppressed": [],
    },
]


def test_all_ruby_attempts_leave_the_expected_keys(redis_url: str, raw_redis: redis.Redis) -> None:
    """The reference sequence: what real resque-retry leaves after each of three failures."""
    assert _all_ruby(redis_url, raw_redis) == EXPECTED
    assert _attempts(raw_redis) == [("ruby", "0"), ("ruby", "1"), ("ruby", "2")]


def test_two_ruby_failures_and_one_python_failure_are_three_attempts(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    _enqueue(redis_url, *ARGS)
    snapshots = []
    for _attempt in range(2):
        ruby_eval(ONE_ATTEMPT, redis_url, env=PLUGINS)
        snapshots.append(_snapshot(raw_redis))
    with _python_worker(redis_url) as worker:
        assert worker.wait(30) == 0, worker.output()
    snapshots.append(_snapshot(raw_redis))
    assert snapshots == EXPECTED
    assert _attempts(raw_redis) == [("ruby", "0"), ("ruby", "1"), ("python", "2")]


def test_one_ruby_failure_then_python_counts_on_and_gives_up(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    _enqueue(redis_url, *ARGS)
    ruby_eval(ONE_ATTEMPT, redis_url, env=PLUGINS)
    with _python_worker(redis_url) as worker:
        assert worker.wait(30) == 0, worker.output()
    assert _snapshot(raw_redis) == EXPECTED[2]
    assert _attempts(raw_redis) == [("ruby", "0"), ("python", "1"), ("python", "2")]


def test_all_python_attempts_leave_what_ruby_leaves(redis_url: str, raw_redis: redis.Redis) -> None:
    _enqueue(redis_url, *ARGS)
    with _python_worker(redis_url) as worker:
        assert worker.wait(30) == 0, worker.output()
    assert _snapshot(raw_redis) == EXPECTED[2]
    assert _attempts(raw_redis) == [("python", "0"), ("python", "1"), ("python", "2")]


def test_a_success_clears_the_counter_on_both_sides(redis_url: str, raw_redis: redis.Redis) -> None:
    succeed = ["succeed", 7]
    key = f"resque:{retry_key('RetriedJob', succeed)}"
    assert key == "resque:" + ruby_eval(
        'RetriedJob.redis_retry_key("succeed", 7)', redis_url, env=PLUGINS
    )
    _enqueue(redis_url, *succeed)
    ruby_eval(ONE_ATTEMPT, redis_url, env=PLUGINS)
    _enqueue(redis_url, *succeed)
    with _python_worker(redis_url) as worker:
        assert worker.wait(30) == 0, worker.output()
    assert raw_redis.exists(key) == 0
    assert _attempts(raw_redis) == [("ruby", "0"), ("python", "0")]
    assert raw_redis.llen("resque:failed") == 0


def test_ruby_and_python_build_the_same_retry_keys(redis_url: str) -> None:
    shapes: list[list[Any]] = [[], [None], [1, "a b\tc"], [[1, [2]], {"k": "v"}, 2.5, True]]
    literal = json.dumps(json.dumps(shapes))
    ruby_keys = ruby_eval(
        f"JSON.parse({literal}).map {{ |a| RetriedJob.redis_retry_key(*a) }}",
        redis_url,
        env=PLUGINS,
    )
    assert [retry_key("RetriedJob", args) for args in shapes] == ruby_keys


KILLED_COUNTER = f"resque:{retry_key('KilledRetriedJob', ARGS)}"


def _killed_attempts(
    redis_url: str, raw_redis: redis.Redis, runtime: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Every attempt of ``KilledRetriedJob`` dies in the worker's child; what is left."""
    _enqueue_killed(redis_url)
    if runtime == "ruby":
        env = {**PLUGINS, "QUEUE": "retry", "INTERVAL": "0"}
        run_ruby("worker.rb", redis_url, env=env, timeout=60)
    else:
        app = ("--app", "compat_tests.plugin_jobs")
        with PythonWorker(redis_url, "retry", "--interval", "0", *app, env=env) as worker:
            assert worker.wait(30) == 0, worker.output()
    failed = [codec.decode(raw) for raw in raw_redis.lrange("resque:failed", 0, -1)]
    left = {
        "attempts": _attempts(raw_redis),
        "counter": raw_redis.get(KILLED_COUNTER),
        "queue": raw_redis.lrange("resque:queue:retry", 0, -1),
        "failed": [
            (f["payload"], f["exception"], re.sub(r"pid \d+", "pid N", f["error"]), f["queue"])
            for f in failed
        ],
        "processed": raw_redis.get("resque:stat:processed"),
        "stat_failed": raw_redis.get("resque:stat:failed"),
    }
    raw_redis.flushall()
    return left


def _enqueue_killed(redis_url: str) -> None:
    with Resque.from_url(redis_url) as resque:
        resque.enqueue_to("retry", "KilledRetriedJob", *ARGS)


def test_a_killed_child_is_retried_with_the_counter_ruby_keeps(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """The child dies (SIGKILL) mid-attempt: the worker runs the job's failure hooks with a
    Resque::DirtyExit, resque-retry's reads the attempt from Redis, and the job is retried
    until the limit, then given up, leaving what a Ruby worker with real resque-retry leaves;
    with many jobs per child (the dead child's job found in worker:<id>) too."""
    ruby = _killed_attempts(redis_url, raw_redis, "ruby")
    python = _killed_attempts(redis_url, raw_redis, "python")
    many_per_child = _killed_attempts(redis_url, raw_redis, "python", {"JOBS_PER_FORK": "5"})
    dirty = (
        codec.decode(codec.encode_payload("KilledRetriedJob", ARGS)),
        "Resque::DirtyExit",
        "Child process received unhandled signal pid N SIGKILL (signal 9)",
        "retry",
    )
    assert ruby["attempts"] == [("ruby", "0"), ("ruby", "1"), ("ruby", "2")]
    assert ruby["counter"] is None and ruby["queue"] == []
    assert ruby["failed"] == [dirty] * 3
    assert python["attempts"] == [("python", "0"), ("python", "1"), ("python", "2")]
    assert {**python, "attempts": []} == {**ruby, "attempts": []}
    assert many_per_child == python
