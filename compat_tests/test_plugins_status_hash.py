"""resque-status 0.5.0's ``Status::Hash`` class methods, Python's beside Ruby's on one Redis:
ranges of ``status_ids``/``statuses``, ``clear*``, ``killall``, ``dequeue``.

Each test lets one side act on statuses the other side wrote, and checks that the other
side sees the result (Ruby's ``Hash.clear_completed`` after Python completed jobs, Python's
``clear_failed`` after Ruby's, a dequeue of a job the other side created).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis

from compat_tests.runtimes import requires_ruby, ruby_eval
from resque_compat import RedisSettings, Resque
from resque_compat.plugins.status import StatusPlugin
from tests.workerproc import PythonWorker

pytestmark = requires_ruby

PLUGINS = {"COMPAT_PLUGINS": "1"}
HASH = "Resque::Plugins::Status::Hash"
RUBY_RUNS_ALL = (
    'while (job = Resque.reserve("statused")); '
    "begin; job.perform; rescue => e; job.fail(e); end; end; true"
)
RANGES: list[tuple[int | None, int | None]] = [
    (None, None),
    (0, 1),
    (1, 3),
    (-1, -2),
    (2, 0),
    (0, None),
    (4, 10),
]


@pytest.fixture
def plugin(redis_url: str) -> StatusPlugin:
    return StatusPlugin(RedisSettings.from_url(redis_url))


def _ruby(code: str, redis_url: str) -> Any:
    return ruby_eval(code, redis_url, env=PLUGINS)


def _ruby_range(bounds: tuple[int | None, int | None]) -> str:
    return ", ".join("nil" if bound is None else str(bound) for bound in bounds)


def _python_creates(redis_url: str, plugin: StatusPlugin, outcomes: list[str]) -> list[str]:
    uuids = []
    with Resque.from_url(redis_url) as resque:
        for outcome in outcomes:
            uuid = plugin.create(resque, "CallbackJob", {"outcome": outcome})
            assert uuid is not None
            uuids.append(uuid)
    return uuids


def _python_runs_all(redis_url: str) -> None:
    args = ("--interval", "0", "--app", "compat_tests.plugin_jobs")
    with PythonWorker(redis_url, "statused", *args) as worker:
        assert worker.wait(30) == 0, worker.output()


def test_status_ids_and_statuses_ranges_agree(
    redis_url: str, raw_redis: redis.Redis, plugin: StatusPlugin
) -> None:
    """Five statuses at distinct scores; every range read by both sides."""
    for score, uuid in enumerate(["a1", "b2", "c3", "d4", "e5"]):
        plugin.set(uuid, {"status": "queued"})
        raw_redis.zadd("resque:_statuses", {uuid: 1000 + score})
    raw_redis.delete("resque:status:c3")
    calls = ", ".join(
        f"[{HASH}.status_ids({_ruby_range(r)}), {HASH}.statuses({_ruby_range(r)}).map(&:uuid)]"
        for r in RANGES
    )
    ruby = _ruby(f"[{calls}, {HASH}.count]", redis_url)
    python = [[plugin.status_ids(*r), [s.uuid for s in plugin.statuses(*r)]] for r in RANGES]
    assert [*python, plugin.count()] == ruby
    assert python[0] == [["e5", "d4", "c3", "b2", "a1"], ["e5", "d4", "b2", "a1"]]


def test_ruby_clear_completed_after_python_ran_the_jobs(
    redis_url: str, raw_redis: redis.Redis, plugin: StatusPlugin
) -> None:
    completed, failed, raised = _python_creates(redis_url, plugin, ["complete", "fail", "raise"])
    _python_runs_all(redis_url)
    (queued,) = _python_creates(redis_url, plugin, ["complete"])
    removed = _ruby(f"{HASH}.clear_completed", redis_url)
    assert removed == [completed]
    assert raw_redis.exists(f"resque:status:{completed}") == 0
    assert sorted(plugin.status_ids()) == sorted([failed, raised, queued])
    assert sorted(plugin.clear_failed()) == sorted([failed, raised])
    assert _ruby(f"{HASH}.status_ids", redis_url) == [queued]
    assert plugin.clear_completed() == []
    assert plugin.clear() == [queued]
    assert _ruby(f"[{HASH}.count, Resque.redis.keys('status:*')]", redis_url) == [0, []]


def test_python_clear_completed_after_ruby_ran_the_jobs(
    redis_url: str, plugin: StatusPlugin
) -> None:
    created = _ruby(
        '%w[complete fail complete].map { |o| CallbackJob.create("outcome" => o) }', redis_url
    )
    _ruby(RUBY_RUNS_ALL, redis_url)
    assert sorted(plugin.clear_completed()) == sorted([created[0], created[2]])
    assert _ruby(f"{HASH}.status_ids", redis_url) == [created[1]]
    assert _ruby(f"{HASH}.clear_failed", redis_url) == [created[1]]
    assert plugin.statuses() == []


def test_clear_with_a_range_removes_the_same_statuses(
    redis_url: str, raw_redis: redis.Redis, plugin: StatusPlugin
) -> None:
    for score, uuid in enumerate(["a1", "b2", "c3", "d4"]):
        plugin.set(uuid, {"status": "completed"})
        raw_redis.zadd("resque:_statuses", {uuid: 1000 + score})
    assert plugin.clear_completed(1, 2) == ["c3", "b2"]
    assert _ruby(f"{HASH}.clear(0, 0); {HASH}.status_ids", redis_url) == ["a1"]
    assert raw_redis.keys("resque:status:*") == [b"resque:status:a1"]


def test_dequeue_of_a_job_the_other_side_created(
    redis_url: str, raw_redis: redis.Redis, plugin: StatusPlugin
) -> None:
    """The options come back from the status and must encode to the queued bytes."""
    options = {"outcome": "complete", "ratio": 1.0, "big": 10**20, "nested": {"é": [None, "/"]}}
    literal = json.dumps(json.dumps(options))
    ruby_uuid = _ruby(f"CallbackJob.create(JSON.parse({literal}))", redis_url)
    (python_uuid,) = _python_creates(redis_url, plugin, ["complete"])
    with Resque.from_url(redis_url) as resque:
        assert plugin.dequeue(resque, "CallbackJob", ruby_uuid) == 1
        assert plugin.dequeue(resque, "CallbackJob", ruby_uuid) == 0
    assert _ruby(f'CallbackJob.dequeue(CallbackJob, "{python_uuid}")', redis_url) == 1
    assert raw_redis.llen("resque:queue:statused") == 0
    assert sorted(plugin.status_ids()) == sorted([ruby_uuid, python_uuid])
    with Resque.from_url(redis_url) as resque:
        assert plugin.dequeue(resque, "CallbackJob", "no-such-uuid") == 0


def test_python_kill_requests_are_the_ones_ruby_sees(redis_url: str, plugin: StatusPlugin) -> None:
    a, b, c = _python_creates(redis_url, plugin, ["complete"] * 3)
    newest_two = plugin.status_ids(0, 1)
    assert sorted(plugin.killall(0, 1)) == sorted(newest_two)
    seen = _ruby(
        f'[{HASH}.kill_ids.sort, {HASH}.should_kill?("{a}"), {HASH}.should_kill?("{b}"),'
        f' {HASH}.should_kill?("{c}")]',
        redis_url,
    )
    assert seen[0] == sorted(newest_two)
    assert seen[1:] == [u in newest_two for u in (a, b, c)]
    _ruby(f'{HASH}.killed("{newest_two[0]}")', redis_url)
    assert plugin.kill_ids() == [newest_two[1]]
    assert plugin.should_kill(newest_two[1]) and not plugin.should_kill(newest_two[0])
