"""resque-retry 1.8.1's ``retry_criteria_check``, ``retry_args``, ``@retry_exceptions`` as a
hash, ``retry_identifier``, and a retry refused by the job's ``before_enqueue`` hook, against
the real plugin.

Each scenario is one job run until its queue is empty: all in Ruby (the reference), all in the
Python worker, and first attempt in Ruby then the rest in Python. The three must leave the
same attempt log (each attempt's arguments and the counter it ran under), counters, queue and
failure records, with the ``MultipleWithRetrySuppression`` backend on both sides.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis

from compat_tests.ruby_retry import ONE_ATTEMPT, PERFORM, PLUGINS, SUPPRESSION
from compat_tests.runtimes import requires_ruby, ruby_eval
from resque_compat import Resque, codec
from tests.workerproc import PythonWorker

pytestmark = requires_ruby

RUBY_UNTIL_EMPTY = (
    SUPPRESSION + '20.times { job = Resque.reserve("retry") or break; ' + PERFORM + "}; true"
)

#: name -> (class, args, the attempts it makes: (args, counter it runs under), or (class,
#: args, counter) for a run of another class)
Attempt = tuple[list[Any], str] | tuple[str, list[Any], str | None]
SCENARIOS: dict[str, tuple[str, list[Any], list[Attempt]]] = {
    "criteria check retries": (
        "CriteriaJob",
        ["transient", 1],
        [(["transient", 1], str(n)) for n in range(4)],
    ),
    "criteria check refuses": ("CriteriaJob", ["permanent"], [(["permanent"], "0")]),
    "retry_args": ("RetryArgsJob", ["a", 0], [(["a", n], "0") for n in range(3)]),
    "exception hash limit": ("DelayListJob", ["x"], [(["x"], str(n)) for n in range(4)]),
    "before_enqueue refuses the retry": ("RefusedRetryJob", ["go"], [(["go"], "0")]),
    "retry_job_delegate": (
        "DelegatingRetryJob",
        ["d", 1],
        [(["d", 1], "0"), ("DelegateTarget", ["d", 1], None)],
    ),
    "retry_identifier": ("IdentifiedRetryJob", ["x", 1], [(["x", 1], str(n)) for n in range(3)]),
}


def _python_until_empty(redis_url: str) -> None:
    args = ("--interval", "0", "--app", "compat_tests.plugin_jobs")
    backend = ("--failure-backend", "multiple_with_retry_suppression:redis")
    with PythonWorker(redis_url, "retry", *args, *backend) as worker:
        assert worker.wait(30) == 0, worker.output()


def _leaves(raw_redis: redis.Redis) -> dict[str, Any]:
    counters = {key: raw_redis.get(key) for key in raw_redis.keys("resque:resque-retry:*")}
    failed = [codec.decode(raw) for raw in raw_redis.lrange("resque:failed", 0, -1)]
    attempts = [json.loads(raw) for raw in raw_redis.lrange("compat:attempts", 0, -1)]
    return {
        "attempts": [(a["class"], a["args"], a.get("counter")) for a in attempts],
        "runtimes": [a["runtime"] for a in attempts],
        "counters": counters,
        "queue": raw_redis.lrange("resque:queue:retry", 0, -1),
        "failed": [(f["payload"], f["exception"], f["error"]) for f in failed],
        "suppressed": raw_redis.keys("resque:failure-resque-retry:*"),
    }


def _run(mode: str, redis_url: str, raw_redis: redis.Redis, scenario: str) -> dict[str, Any]:
    raw_redis.flushdb()
    class_name, args, _ = SCENARIOS[scenario]
    with Resque.from_url(redis_url) as resque:
        resque.enqueue_to("retry", class_name, *args)
    if mode == "ruby":
        ruby_eval(RUBY_UNTIL_EMPTY, redis_url, env=PLUGINS)
    else:
        if mode == "mixed":
            ruby_eval(ONE_ATTEMPT, redis_url, env=PLUGINS)
        _python_until_empty(redis_url)
    return _leaves(raw_redis)


@pytest.mark.parametrize("mode", ["python", "mixed"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_python_attempts_leave_what_ruby_leaves(
    redis_url: str, raw_redis: redis.Redis, scenario: str, mode: str
) -> None:
    class_name, _args, attempts = SCENARIOS[scenario]
    ruby = _run("ruby", redis_url, raw_redis, scenario)
    assert ruby["attempts"] == [a if len(a) == 3 else (class_name, *a) for a in attempts]
    python = _run(mode, redis_url, raw_redis, scenario)
    expected_runtimes = ["python"] * len(attempts)
    if mode == "mixed":
        expected_runtimes[0] = "ruby"
    assert python["runtimes"] == expected_runtimes
    assert {**python, "runtimes": None} == {**ruby, "runtimes": None}


def test_what_the_scenarios_leave_in_ruby(redis_url: str, raw_redis: redis.Redis) -> None:
    """The reference itself, spelled out: retry_args leaves the counters of the earlier
    arguments behind (each new argument list counts from 0), giving up leaves one record."""
    leaves = _run("ruby", redis_url, raw_redis, "retry_args")
    keys = sorted(leaves["counters"])
    assert len(keys) == 2 and [leaves["counters"][k] for k in keys] == [b"0", b"0"]
    assert leaves["queue"] == [] and leaves["failed"] == []
    leaves = _run("ruby", redis_url, raw_redis, "exception hash limit")
    assert leaves["counters"] == {} and len(leaves["failed"]) == 1
    assert leaves["failed"][0][1:] == ("RuntimeError", "always")


def test_a_retry_identifier_makes_the_key_ruby_makes(redis_url: str) -> None:
    from compat_tests.plugin_jobs import identified_retry_job

    assert identified_retry_job.retrying is not None
    for args in (["x y", 1], [None], [{"a": [1]}, 2.5]):
        code = f"IdentifiedRetryJob.redis_retry_key(*JSON.parse('{json.dumps(args)}'))"
        ruby = ruby_eval(code, redis_url, env=PLUGINS)
        assert identified_retry_job.retrying.retry_key(args) == ruby
