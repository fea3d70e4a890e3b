"""resque-loner 1.2.1 and Python producers and workers: one digest, one marker, both sides
honour it, and a Python worker that takes a job deletes its marker as Ruby's worker does.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis

import compat_tests.plugin_jobs  # noqa: F401 - registers UniqueRecord and UniqueWithTtl
from compat_tests.runtimes import requires_ruby, ruby_eval, run_ruby
from resque_compat import JobRegistry, RedisSettings, Resque
from resque_compat.keys import Keys
from resque_compat.plugins import loner
from resque_compat.store import SyncDriver
from resque_compat.worker import QueueSelector, Worker, WorkerSettings
from resque_compat.worker.settings import Intervals
from tests.workerproc import PythonWorker

pytestmark = requires_ruby

PLUGINS = {"COMPAT_PLUGINS": "1"}
ARG_SHAPES: list[list[Any]] = [
    [],
    [1],
    ["a", 2.5, None, True, False],
    [{"b": 1, "a": {"z": 1, "y": 2}}],
    [[1, {"b": 2, "a": 1}], 'é/"x"\n', -7],
    [{"é": [1.0e20, 0.1], "Z": None, "a": "x"}, {}, []],
    [12345678901234567890, 1.5e-7],
]


def _ruby(code: str, redis_url: str) -> Any:
    return ruby_eval(code, redis_url, env=PLUGINS)


def _ruby_enqueue(redis_url: str, klass: str, args: list[Any]) -> Any:
    literal = json.dumps(json.dumps(args))
    return _ruby(f"Resque.enqueue({klass}, *JSON.parse({literal})); true", redis_url)


def test_ruby_and_python_compute_the_same_loner_key(redis_url: str) -> None:
    literal = json.dumps(json.dumps(ARG_SHAPES))
    ruby_digests = _ruby(
        f"JSON.parse({literal}).map {{ |args| "
        'UniqueRecord.redis_key({class: "UniqueRecord", args: args}) }',
        redis_url,
    )
    assert [loner.loner_digest("UniqueRecord", args) for args in ARG_SHAPES] == ruby_digests
    ruby_keys = _ruby(
        f"JSON.parse({literal}).map {{ |args| "
        "Resque::Plugins::Loner::Helpers.unique_job_queue_key("
        '"compat", {class: "UniqueRecord", args: args}) }',
        redis_url,
    )
    keys = Keys("")
    assert [loner.loner_key(keys, "compat", "UniqueRecord", a) for a in ARG_SHAPES] == ruby_keys


@pytest.mark.parametrize("args", ARG_SHAPES[1:5])
def test_python_enqueue_respects_and_writes_ruby_markers(
    redis_url: str, raw_redis: redis.Redis, args: list[Any]
) -> None:
    key = loner.loner_key(Keys(), "compat", "UniqueRecord", args)
    _ruby_enqueue(redis_url, "UniqueRecord", args)
    assert raw_redis.get(key) == b"1"
    with Resque.from_url(redis_url) as resque:
        assert resque.enqueue("UniqueRecord", *args) is False
        assert resque.size("compat") == 1
        assert resque.enqueue("UniqueRecord", *args, "other") is True
        assert resque.size("compat") == 2
    other = loner.loner_key(Keys(), "compat", "UniqueRecord", [*args, "other"])
    assert raw_redis.get(other) == b"1" and raw_redis.ttl(other) == -1
    _ruby_enqueue(redis_url, "UniqueRecord", [*args, "other"])
    assert raw_redis.llen("resque:queue:compat") == 2


def test_markers_cleared_by_a_ruby_worker_let_python_enqueue_again(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    with Resque.from_url(redis_url) as resque:
        assert resque.enqueue("UniqueRecord", 1, {"a": 1}) is True
        run_ruby("worker.rb", redis_url, env={**PLUGINS, "QUEUE": "compat", "INTERVAL": "0"})
        assert raw_redis.keys("resque:loners:*") == []
        assert resque.enqueue("UniqueRecord", 1, {"a": 1}) is True


def test_python_marker_expires_like_rubys_loner_ttl(redis_url: str, raw_redis: redis.Redis) -> None:
    _ruby_enqueue(redis_url, "UniqueWithTtl", ["ruby"])
    with Resque.from_url(redis_url) as resque:
        assert resque.enqueue("UniqueWithTtl", "python") is True
    for owner in ("ruby", "python"):
        key = loner.loner_key(Keys(), "compat", "UniqueWithTtl", [owner])
        assert 290 <= raw_redis.ttl(key) <= 300


def test_store_clear_frees_a_ruby_marker(redis_url: str, raw_redis: redis.Redis) -> None:
    _ruby_enqueue(redis_url, "UniqueRecord", [5])
    raw_redis.delete("resque:queue:compat")  # as if a worker had popped it
    assert _ruby("Resque.enqueued?(UniqueRecord, 5)", redis_url) is True
    driver = SyncDriver(raw_redis)
    assert driver.run(loner.clear(Keys(), "compat", "UniqueRecord", [5])) == 1
    assert _ruby("Resque.enqueued?(UniqueRecord, 5)", redis_url) is False
    _ruby_enqueue(redis_url, "UniqueRecord", [5])
    assert raw_redis.llen("resque:queue:compat") == 1


def test_clear_queue_removes_every_marker_of_the_queue(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    for number in range(3):
        _ruby_enqueue(redis_url, "UniqueRecord", [number])
    raw_redis.set("resque:loners:queue:other:job:abc", 1)
    driver = SyncDriver(raw_redis)
    assert driver.run(loner.clear_queue(Keys(), "compat")) == 3
    assert raw_redis.keys("resque:loners:*") == [b"resque:loners:queue:other:job:abc"]
    assert _ruby("Resque.enqueued?(UniqueRecord, 1)", redis_url) is False


def test_a_ruby_enqueue_after_a_python_worker_took_the_job_is_accepted(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    for args in ([1], [2, {"b": 1, "a": 2}]):
        _ruby_enqueue(redis_url, "UniqueRecord", args)
    with PythonWorker(redis_url, "compat", "--interval", "0") as worker:
        assert worker.wait() == 0, worker.output()
    assert raw_redis.keys("resque:loners:*") == []
    for args in ([1], [2, {"b": 1, "a": 2}]):
        _ruby_enqueue(redis_url, "UniqueRecord", args)
    assert raw_redis.llen("resque:queue:compat") == 2


def test_the_marker_is_gone_while_the_job_runs_once_the_worker_knows_the_class(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """The first job of a class finishes before its marker goes (the worker learns there
    that the class is unique, with no round trip of its own); from the next one on the marker
    goes before the job runs, as Ruby's reserve deletes it: inside the reserve script, or,
    when the args hold a hash (which resque-loner sorts and the script does not), by one DEL
    before the job. So a Ruby enqueue of that job while it runs is accepted (it runs again
    last)."""
    hashed = {"b": 1, "a": 2}
    for first in (0, 1, hashed, 3):
        _ruby_enqueue(redis_url, "UniqueRecord", [first])
    ran: list[tuple[Any, bool]] = []

    def unique_record(number: Any) -> None:
        key = loner.loner_key(Keys(), "compat", "UniqueRecord", [number])
        ran.append((number, raw_redis.exists(key) == 1))
        if number == hashed and len(ran) == 3:
            _ruby_enqueue(redis_url, "UniqueRecord", [number])

    registry = JobRegistry()
    registry.register_function("UniqueRecord", unique_record)
    settings = WorkerSettings(
        QueueSelector.parse("compat"), intervals=Intervals(interval=0), fork_per_job=False
    )
    Worker(settings, RedisSettings.from_url(redis_url), registry=registry).work()
    assert ran == [(0, True), (1, False), (hashed, False), (3, False), (hashed, False)]
    assert raw_redis.keys("resque:loners:*") == []
