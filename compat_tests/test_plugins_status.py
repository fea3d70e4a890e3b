"""resque-status 0.5.0 against Python: statuses written by either side read by the other.

Ruby runs the real plugin (``ruby_fixtures/plugins.rb``, loaded with ``COMPAT_PLUGINS``);
``StepsJob`` exists in both runtimes with the same effect, so each test picks who runs it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from compat_tests.runtimes import requires_ruby, ruby_eval, run_ruby
from resque_compat import RedisSettings, Resque, codec
from resque_compat.plugins.status import StatusPlugin
from tests.workerproc import PythonWorker, wait_for

pytestmark = requires_ruby

PLUGINS = {"COMPAT_PLUGINS": "1"}
RUBY_RUNS_ONE = (
    'job = Resque.reserve("statused"); begin; job.perform; rescue => e; job.fail(e); end; true'
)


@pytest.fixture
def plugin(redis_url: str) -> StatusPlugin:
    return StatusPlugin(RedisSettings.from_url(redis_url))


@pytest.fixture
def stack() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as exits:
        yield exits


def _ruby_status(redis_url: str, uuid: str) -> Any:
    code = (
        f'h = Resque::Plugins::Status::Hash.get("{uuid}"); '
        "h && h.merge('pct' => h.pct_complete, 'is_completed' => h.completed?, "
        "'is_killed' => h.killed?, 'time_class' => h.time.class.to_s)"
    )
    return ruby_eval(code, redis_url, env=PLUGINS)


def _python_worker(redis_url: str, queue: str = "statused") -> PythonWorker:
    return PythonWorker(redis_url, queue, "--interval", "0", "--app", "compat_tests.plugin_jobs")


def test_python_create_writes_what_ruby_create_writes(
    redis_url: str, raw_redis: redis.Redis, plugin: StatusPlugin
) -> None:
    """Same queued document keys and order, same payload shape, same index entry."""
    options = {"steps": 2, "nested": [1, {"a": None}], "text": 'é/"x"'}
    code = f"StepsJob.create(JSON.parse({json.dumps(json.dumps(options))}))"
    ruby_uuid = ruby_eval(code, redis_url, env=PLUGINS)
    with Resque.from_url(redis_url) as resque:
        python_uuid = plugin.create(resque, "StepsJob", options)
    assert python_uuid is not None and len(python_uuid) == 32
    documents = {}
    for uuid in (ruby_uuid, python_uuid):
        raw = raw_redis.get(f"resque:status:{uuid}")
        assert raw is not None
        document = codec.decode(raw)
        assert document.pop("uuid") == uuid
        assert isinstance(document.pop("time"), int)
        documents[uuid] = (list(codec.decode(raw)), document)
        assert raw_redis.zscore("resque:_statuses", uuid) is not None
    assert documents[ruby_uuid] == (
        ["time", "status", "uuid", "options"],
        {"status": "queued", "options": options},
    )
    assert documents[python_uuid] == documents[ruby_uuid]
    payloads = raw_redis.lrange("resque:queue:statused", 0, -1)
    expected = [
        codec.encode_payload("StepsJob", [uuid, options]) for uuid in (ruby_uuid, python_uuid)
    ]
    assert payloads == expected


def test_ruby_reads_a_python_jobs_status(
    redis_url: str, raw_redis: redis.Redis, plugin: StatusPlugin
) -> None:
    with Resque.from_url(redis_url) as resque:
        uuid = plugin.create(resque, "StepsJob", {"steps": 2})
    assert uuid is not None
    with _python_worker(redis_url) as worker:
        assert worker.wait(30) == 0, worker.output()
    seen = _ruby_status(redis_url, uuid)
    assert seen["status"] == "completed" and seen["is_completed"] is True
    assert (seen["num"], seen["total"], seen["pct"]) == (2, 2, 100)
    assert seen["name"] == 'StepsJob({"steps"=>2})'
    assert seen["message"].startswith("Completed at ")
    assert seen["options"] == {"steps": 2} and seen["time_class"] == "Time"
    stored = codec.decode(raw_redis.get(f"resque:status:{uuid}") or b"")
    assert list(stored) == ["time", "status", "uuid", "options", "name", "num", "total", "message"]
    assert json.loads(raw_redis.lindex("compat:status", 0) or b"{}")["runtime"] == "python"


def test_python_reads_a_ruby_jobs_status(
    redis_url: str, raw_redis: redis.Redis, plugin: StatusPlugin
) -> None:
    uuid = ruby_eval('StepsJob.create("steps" => 3)', redis_url, env=PLUGINS)
    queued = plugin.get(uuid)
    assert queued is not None and queued.status == "queued" and queued.pct_complete == 0
    ruby_eval(RUBY_RUNS_ONE, redis_url, env=PLUGINS)
    status = plugin.get(uuid)
    assert status is not None
    assert (status.status, status.num, status.total, status.pct_complete) == (
        "completed",
        3,
        3,
        100,
    )
    assert status["name"] == 'StepsJob({"steps"=>3})'
    assert [s.uuid for s in plugin.statuses()] == [uuid]
    assert raw_redis.llen("resque:failed") == 0


def test_a_kill_request_stops_a_python_status_job(
    redis_url: str, raw_redis: redis.Redis, plugin: StatusPlugin, stack: contextlib.ExitStack
) -> None:
    with Resque.from_url(redis_url) as resque:
        uuid = plugin.create(resque, "StepsJob", {"steps": 200, "pause": 0.05})
    assert uuid is not None
    worker = stack.enter_context(_python_worker(redis_url))

    def progressed() -> bool:
        status = plugin.get(uuid)
        return status is not None and int(status.num or 0) >= 2

    wait_for(progressed, 30, "the job reports progress")
    ruby_eval(f'Resque::Plugins::Status::Hash.kill("{uuid}")', redis_url, env=PLUGINS)
    assert worker.wait(30) == 0, worker.output()
    seen = _ruby_status(redis_url, uuid)
    assert seen["status"] == "killed" and seen["is_killed"] is True
    assert seen["message"].startswith("Killed at ")
    assert 2 <= seen["num"] < 200
    assert raw_redis.smembers("resque:_kill") == set()
    assert raw_redis.llen("compat:status") == 0
    assert raw_redis.llen("resque:failed") == 0


def test_a_ruby_worker_runs_a_python_created_status_job(
    redis_url: str, raw_redis: redis.Redis, plugin: StatusPlugin
) -> None:
    with Resque.from_url(redis_url) as resque:
        uuid = plugin.create(resque, "StepsJob", {"steps": 4})
    assert uuid is not None
    run_ruby("worker.rb", redis_url, env={**PLUGINS, "QUEUE": "statused", "INTERVAL": "0"})
    status = plugin.get(uuid)
    assert status is not None and status.status == "completed" and status.num == 4
    assert json.loads(raw_redis.lindex("compat:status", 0) or b"{}") == {
        "runtime": "ruby",
        "uuid": uuid,
    }
