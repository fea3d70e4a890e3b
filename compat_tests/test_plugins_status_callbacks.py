"""resque-status 0.5.0: ``on_success`` / ``on_failure`` / ``on_killed`` as ``safe_perform!``
calls them, run once by Ruby and once by the Python worker for every branch.

``CallbackJob`` exists in both runtimes (``ruby_fixtures/plugins.rb``,
``compat_tests/plugin_jobs.py``); its callbacks log what they were given and the status
they saw to ``compat:callbacks``. Each outcome is run by Ruby first, then by Python, and the
two must leave the same status document, callbacks and failure records.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis

from compat_tests.runtimes import requires_ruby, ruby_eval, start_ruby
from resque_compat import RedisSettings, Resque, codec
from resque_compat.plugins.status import StatusPlugin
from tests.workerproc import PythonWorker, wait_for

pytestmark = requires_ruby

PLUGINS = {"COMPAT_PLUGINS": "1"}
RUBY_RUNS_ONE = (
    'job = Resque.reserve("statused"); begin; job.perform; rescue => e; job.fail(e); end; true'
)
FAILED_BY_ERROR = "The task failed because of an error:"

#: outcome -> (final status, the callbacks called with what they got and saw)
OUTCOMES: dict[str, tuple[str, list[tuple[str, str | None, str]]]] = {
    "complete": ("completed", [("on_success", None, "completed")]),
    "fail": ("failed", [("on_failure", "gave up on 7", "failed")]),
    "raise": ("failed", [("on_failure", "error: bad input", "failed")]),
    "callback_raises": (
        "failed",
        [("on_success", None, "completed"), ("on_failure", "error: after success", "failed")],
    ),
    "killed": ("killed", [("on_killed", None, "killed")]),
}


@pytest.fixture
def plugin(redis_url: str) -> StatusPlugin:
    return StatusPlugin(RedisSettings.from_url(redis_url))


def _create(redis_url: str, plugin: StatusPlugin, outcome: str) -> str:
    options: dict[str, Any] = {"outcome": "tick" if outcome == "killed" else outcome, "item": 7}
    with Resque.from_url(redis_url) as resque:
        uuid = plugin.create(resque, "CallbackJob", options)
    assert uuid is not None
    if outcome == "killed":
        plugin.kill(uuid)
    return uuid


def _run(runtime: str, redis_url: str) -> None:
    if runtime == "ruby":
        ruby_eval(RUBY_RUNS_ONE, redis_url, env=PLUGINS)
        return
    args = ("--interval", "0", "--app", "compat_tests.plugin_jobs")
    with PythonWorker(redis_url, "statused", *args) as worker:
        assert worker.wait(30) == 0, worker.output()


def _message_shape(message: Any) -> Any:
    """Timestamps differ between runs; what precedes them must not."""
    for prefix in ("Completed at ", "Killed at "):
        if isinstance(message, str) and message.startswith(prefix):
            return prefix
    return message


def _outcome(raw_redis: redis.Redis, uuid: str, runtime: str) -> dict[str, Any]:
    raw = raw_redis.get(f"resque:status:{uuid}")
    assert raw is not None
    document = codec.decode(raw)
    callbacks = [json.loads(e) for e in raw_redis.lrange("compat:callbacks", 0, -1)]
    mine = [c for c in callbacks if c["uuid"] == uuid]
    assert {c["runtime"] for c in mine} <= {runtime}
    return {
        "order": list(document),
        "status": document["status"],
        "message": _message_shape(document.get("message")),
        "progress": (document.get("num"), document.get("total")),
        "callbacks": [(c["callback"], c["detail"], c["status"]) for c in mine],
        "failed": raw_redis.llen("resque:failed"),
        "kill_list": raw_redis.smembers("resque:_kill"),
    }


@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_callbacks_run_as_ruby_runs_them(
    redis_url: str, raw_redis: redis.Redis, plugin: StatusPlugin, outcome: str
) -> None:
    seen = {}
    for runtime in ("ruby", "python"):
        uuid = _create(redis_url, plugin, outcome)
        _run(runtime, redis_url)
        seen[runtime] = _outcome(raw_redis, uuid, runtime)
    final, callbacks = OUTCOMES[outcome]
    assert seen["ruby"]["status"] == final
    assert seen["ruby"]["callbacks"] == callbacks
    assert seen["ruby"]["failed"] == 0 and seen["ruby"]["kill_list"] == set()
    assert seen["python"] == seen["ruby"]
    if outcome in ("raise", "callback_raises"):
        assert seen["python"]["message"].startswith(FAILED_BY_ERROR)


def test_python_killall_stops_a_ruby_status_job(
    redis_url: str, raw_redis: redis.Redis, plugin: StatusPlugin
) -> None:
    options = {"outcome": "tick", "steps": 400, "pause": 0.05}
    with Resque.from_url(redis_url) as resque:
        finished = plugin.create(resque, "CallbackJob", {"outcome": "complete"})
        uuid = plugin.create(resque, "CallbackJob", options)
    assert uuid is not None and finished is not None
    env = {**PLUGINS, "QUEUE": "statused", "INTERVAL": "0"}
    with start_ruby("worker.rb", redis_url, env=env) as worker:

        def ticking() -> bool:
            status = plugin.get(uuid)
            return status is not None and int(status.num or 0) >= 2

        wait_for(ticking, 30, "the Ruby job reports progress")
        assert sorted(plugin.killall()) == sorted([uuid, finished])
        worker.communicate(timeout=30)
    status = plugin.get(uuid)
    assert status is not None and status.status == "killed"
    assert 2 <= int(status.num) < 400
    callbacks = [json.loads(e) for e in raw_redis.lrange("compat:callbacks", 0, -1)]
    assert [(c["runtime"], c["uuid"], c["callback"]) for c in callbacks] == [
        ("ruby", finished, "on_success"),
        ("ruby", uuid, "on_killed"),
    ]
    assert plugin.kill_ids() == [finished]
    done = plugin.get(finished)
    assert done is not None and done.status == "completed"
