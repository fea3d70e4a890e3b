"""resque-status' Python side on a real Redis: the branches the cross-runtime tests in
``compat_tests/test_plugins_status*.py`` do not reach (no callbacks declared, expired
documents in the index, dequeue through a Python job's hooks or an explicit queue)."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from resque_compat import JobRegistry, RedisSettings, Resque
from resque_compat.client import ClientOptions
from resque_compat.plugins.status import StatusJob, StatusPlugin


@pytest.fixture
def plugin(redis_url: str) -> StatusPlugin:
    return StatusPlugin(RedisSettings.from_url(redis_url))


def test_without_on_failure_the_error_reaches_the_worker(plugin: StatusPlugin) -> None:
    calls: list[str] = []

    def broken(_status: StatusJob) -> None:
        raise KeyError("k")

    spec = plugin.job("Broken", registry=JobRegistry(), on_success=lambda s: calls.append("ok"))(
        broken
    )
    with pytest.raises(KeyError):
        spec.run(["u1", {}])
    failed = plugin.get("u1")
    assert failed is not None and failed.status == "failed" and calls == []


def test_a_job_that_completes_itself_keeps_its_message(plugin: StatusPlugin) -> None:
    seen: list[Any] = []

    def finish(status: StatusJob) -> None:
        status.completed("all 3 rows")

    spec = plugin.job("Finish", registry=JobRegistry(), on_success=lambda s: seen.append(s.uuid))(
        finish
    )
    assert spec.run(["u2", {"n": 3}]) is True
    done = plugin.get("u2")
    assert done is not None and done.message == "all 3 rows" and seen == ["u2"]


def test_a_kill_without_on_killed_ends_quietly(plugin: StatusPlugin) -> None:
    plugin.kill("u3")

    def ticks(status: StatusJob) -> None:
        status.tick("first")

    assert plugin.job("Ticks", registry=JobRegistry())(ticks).run(["u3", {}]) is True
    killed = plugin.get("u3")
    assert killed is not None and killed.status == "killed" and plugin.kill_ids() == []


def test_expired_documents_are_skipped_and_kept_in_the_index(
    plugin: StatusPlugin, raw_redis: redis.Redis
) -> None:
    """Ruby's ``clear_completed`` raises on such an entry (``nil.completed?``)."""
    plugin.set("done", {"status": "completed"})
    raw_redis.zadd("resque:_statuses", {"done": 2, "gone": 1})
    assert plugin.mget(["gone", "done"]) == [None, plugin.get("done")]
    assert [s.uuid for s in plugin.statuses()] == ["done"]
    assert plugin.status_ids(0) == ["done", "gone"]
    assert plugin.clear_completed() == ["done"]
    assert plugin.status_ids() == ["gone"] and plugin.count() == 1
    assert plugin.clear() == ["gone"] and plugin.count() == 0
    assert plugin.killall() == [] and plugin.kill_ids() == []


def test_dequeue_runs_a_python_jobs_dequeue_hooks(plugin: StatusPlugin, redis_url: str) -> None:
    registry = JobRegistry()
    spec = plugin.job("Export", queue="exports", registry=registry)(lambda status: None)
    allowed = [False]
    spec.hooks["before_dequeue"].append(lambda *args: allowed[0])
    resque = Resque(RedisSettings.from_url(redis_url), ClientOptions(registry=registry))
    with resque:
        uuid = plugin.create(resque, spec, {"n": 1})
        assert uuid is not None and resque.size("exports") == 1
        assert plugin.dequeue(resque, spec, uuid) is None
        allowed[0] = True
        assert plugin.dequeue(resque, "Export", uuid) == 1
        assert resque.size("exports") == 0


def test_dequeue_from_a_named_queue(plugin: StatusPlugin, redis_url: str) -> None:
    with Resque.from_url(redis_url) as resque:
        uuid = plugin.create(resque, "RubyReport", {"n": 2}, queue="reports")
        assert uuid is not None
        assert plugin.dequeue(resque, "RubyReport", uuid) == 0
        assert plugin.dequeue(resque, "RubyReport", uuid, queue="reports") == 1
        assert plugin.get(uuid) is not None
