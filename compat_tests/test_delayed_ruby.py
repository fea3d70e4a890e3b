"""Delayed jobs between Python and the real resque-scheduler (5.0.0 with Resque 3.0, 4.11.0 with
Resque 2.7): the producer's commands and keys, each side finding and removing the other's
jobs, and each side's mover moving the other's jobs to the same bytes.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import redis

from compat_tests.reference import CommandCapture
from compat_tests.runtimes import REPO_ROOT, read_performed, requires_ruby, run_ruby
from compat_tests.scheduler_rig import (
    RUBY_SCHEDULERS,
    scheduler_eval,
    skip_unless_present,
    start_python_scheduler,
    wait_until,
)
from resque_compat import Resque, codec
from resque_compat.connection import RedisSettings
from resque_compat.job import JobRegistry
from resque_compat.keys import Keys
from resque_compat.scheduler.lock import lock_value
from resque_compat.scheduler.mover import DelayedMover
from resque_compat.store import SyncDriver
from resque_compat.store.mover import MoverOps
from tests.workerproc import PythonWorker

pytestmark = requires_ruby

VERSIONS = sorted(RUBY_SCHEDULERS)
REFERENCE_CALLS = "compat_tests/reference/enqueue_basic.json"
PRODUCER_COMMANDS = frozenset({"rpush", "sadd", "zadd"})


def _recorded_args_calls() -> list[str]:
    """The argument lists of the producer recordings' successful ``Resque.enqueue`` calls, as
    Ruby source (``1, "two", 3.0, ...``), for Ruby to schedule."""
    with open(REFERENCE_CALLS, encoding="utf-8") as handle:
        calls = json.load(handle)["ruby_calls"]
    found = []
    for entry in calls:
        call = entry.get("call", "")
        usable = entry.get("returned") == "true" and "Thing" not in call
        if usable and call.startswith("Resque.enqueue(FileServe"):
            found.append(call[len("Resque.enqueue(FileServe") :].split(")  #")[0])
    return found


def _ruby_enqueue_at(timestamp: int) -> str:
    lines = [f"Resque.enqueue_at(Time.at({timestamp}), RecordArgs{rest})" for rest in ARGS]
    return "\n".join(lines) + "\ntrue"


ARGS = _recorded_args_calls()


def _client(url: str) -> Resque:
    from compat_tests.jobs import registry
    from resque_compat.client import ClientOptions

    return Resque(RedisSettings.from_url(url), ClientOptions(registry=registry))


def _delayed_args(raw: redis.Redis, timestamp: int) -> list[list[Any]]:
    stored: list[bytes] = raw.lrange(f"resque:delayed:{timestamp}", 0, -1)  # type: ignore[assignment]
    return [codec.decode(item)["args"] for item in stored]


def _producer_commands(commands: list[list[Any]]) -> list[list[Any]]:
    return [c for c in commands if str(c[0]).lower() in PRODUCER_COMMANDS]


@pytest.mark.parametrize("version", VERSIONS)
def test_enqueue_at_sends_rubys_commands_and_leaves_rubys_keys(
    version: str, redis_url: str, raw_redis: redis.Redis
) -> None:
    """Every value of the producer recordings, scheduled by Ruby then by Python: the same
    RPUSH/SADD/ZADD commands byte for byte (Python adds one PUBLISH), the same keyspace."""
    skip_unless_present(version)
    assert len(ARGS) >= 15
    timestamp = int(time.time()) + 3600
    with CommandCapture(redis_url) as ruby_capture:
        scheduler_eval(_ruby_enqueue_at(timestamp), redis_url, version)
    ruby_keys = ruby_capture.dump_keyspace()
    arg_lists = _delayed_args(raw_redis, timestamp)
    raw_redis.flushall()
    resque = _client(redis_url)
    with CommandCapture(redis_url) as python_capture:
        for args in arg_lists:
            resque.enqueue_at(timestamp, "RecordArgs", *args)
    python_keys = python_capture.dump_keyspace()
    expected = _producer_commands(ruby_capture.commands)
    assert len(expected) == 3 * len(ARGS)
    assert _producer_commands(python_capture.commands) == expected
    publishes = [c for c in python_capture.commands if str(c[0]).lower() == "publish"]
    assert len(publishes) == len(ARGS)
    assert python_keys == ruby_keys
    raw_redis.flushall()
    resque.enqueue_at_many("RecordArgs", [(timestamp, args) for args in arg_lists])
    assert python_capture.dump_keyspace() == ruby_keys
    resque.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_ruby_finds_and_removes_python_delayed_jobs(version: str, redis_url: str) -> None:
    skip_unless_present(version)
    resque = _client(redis_url)
    at = int(time.time()) + 600
    resque.enqueue_at(at, "RecordArgs", 1, "one")
    resque.enqueue_at(at, "RecordArgs", 2, "two")
    resque.enqueue_at(at + 5, "RecordArgs", 3, {"k": [1.5]})
    resque.enqueue_at(at + 9, "RecordArgs", 4)
    seen = scheduler_eval(
        f"""
        peek = Resque.delayed_timestamp_peek({at}, 0, 10)
        found = Resque.find_delayed_selection {{ |args| args[0] == 3 }}
        at = Resque.scheduled_at(RecordArgs, 1, "one")
        from_ts = Resque.remove_delayed_job_from_timestamp({at + 9}, RecordArgs, 4)
        removed = Resque.remove_delayed(RecordArgs, 2, "two")
        selection = Resque.remove_delayed_selection {{ |args| args[0] == 3 }}
        [peek, found, at, from_ts, removed, selection, Resque.delayed_queue_schedule_size,
         Resque.next_delayed_timestamp(Time.at({at + 100}))]
        """,
        redis_url,
        version,
    )
    peek, found, scheduled, from_ts, removed, selection, size, upcoming = seen
    assert [job["args"] for job in peek] == [[1, "one"], [2, "two"]]
    assert found == ['{"class":"RecordArgs","args":[3,{"k":[1.5]}],"queue":"compat"}']
    assert scheduled == [at]
    assert (from_ts, removed, selection) == (1, 1, 1)
    assert (size, upcoming) == (2, at)  # Ruby leaves emptied timestamps to the scheduler
    assert resque.delayed_timestamp_peek(at, 0, 10) == [
        {"class": "RecordArgs", "args": [1, "one"], "queue": "compat"}
    ]
    resque.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_python_finds_and_removes_ruby_delayed_jobs(version: str, redis_url: str) -> None:
    skip_unless_present(version)
    at = int(time.time()) + 600
    scheduler_eval(
        f"""
        Resque.enqueue_at(Time.at({at}), RecordArgs, 1, "one")
        Resque.enqueue_at(Time.at({at}), RecordArgs, 2, "two")
        Resque.enqueue_at(Time.at({at + 5}), RecordArgs, 3, {{"k" => [1.5]}})
        Resque.enqueue_at(Time.at({at + 9}), RecordArgs, 4)
        true
        """,
        redis_url,
        version,
    )
    resque = _client(redis_url)
    assert resque.delayed_queue_schedule_size() == 3
    assert resque.delayed_timestamp_size(at) == 2
    assert [job["args"] for job in resque.delayed_timestamp_peek(at, 0, 10)] == [
        [1, "one"],
        [2, "two"],
    ]
    found = resque.find_delayed_selection(lambda args: args[0] == 3, "RecordArgs")
    assert found == [b'{"class":"RecordArgs","args":[3,{"k":[1.5]}],"queue":"compat"}']
    assert resque.remove_delayed_job_from_timestamp(at + 9, "RecordArgs", 4) == 1
    assert resque.remove_delayed("RecordArgs", 2, "two") == 1
    assert resque.remove_delayed_selection(lambda args: args[0] == 3) == 1
    assert resque.next_delayed_timestamp(at + 100) == at
    left = scheduler_eval(
        f"[Resque.delayed_timestamp_peek({at}, 0, 10), Resque.delayed_queue_schedule_size]",
        redis_url,
        version,
    )
    assert left == [[{"class": "RecordArgs", "args": [1, "one"], "queue": "compat"}], 2]
    resque.close()


def _python_move(redis_url: str, timestamp: int) -> int:
    client = redis.Redis.from_url(redis_url)
    settings = RedisSettings.from_url(redis_url)
    mover = DelayedMover(SyncDriver(client), MoverOps(settings.keys), JobRegistry())
    try:
        return mover.move_timestamp(timestamp)
    finally:
        client.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_both_movers_enqueue_the_same_bytes(
    version: str, redis_url: str, raw_redis: redis.Redis
) -> None:
    """Every recorded value, delayed by Python: Ruby's ``handle_delayed_items`` and the Python
    mover leave the same queue and the same keys (nothing delayed left)."""
    skip_unless_present(version)
    timestamp = int(time.time()) + 3600
    scheduler_eval(_ruby_enqueue_at(timestamp), redis_url, version)
    arg_lists = _delayed_args(raw_redis, timestamp)
    raw_redis.flushall()
    resque = _client(redis_url)
    resque.enqueue_at_many("RecordArgs", [(timestamp, args) for args in arg_lists])
    scheduler_eval(
        f"Resque::Scheduler.handle_delayed_items(Time.at({timestamp}))\ntrue", redis_url, version
    )
    raw_redis.delete("resque:resque:resque_scheduler_master_lock")
    ruby_queue = raw_redis.lrange("resque:queue:compat", 0, -1)
    ruby_keys = sorted(raw_redis.keys("*"))
    raw_redis.flushall()
    resque.enqueue_at_many("RecordArgs", [(timestamp, args) for args in arg_lists])
    assert _python_move(redis_url, timestamp) == len(arg_lists)
    assert raw_redis.lrange("resque:queue:compat", 0, -1) == ruby_queue
    assert sorted(raw_redis.keys("*")) == ruby_keys == [b"resque:queue:compat", b"resque:queues"]
    resque.close()


def test_ruby_delayed_jobs_moved_by_python_scheduler_run_in_both_workers(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    due = int(time.time()) + 2
    scheduler_eval(
        f"""
        Resque.enqueue_at(Time.at({due}), RecordArgs, "for python", 1.5)
        Resque.enqueue_at_with_queue("ruby_only", Time.at({due}), RecordArgs, "for ruby")
        true
        """,
        redis_url,
    )
    with start_python_scheduler(redis_url, env={"RESQUE_SCHEDULER_INTERVAL": "1"}) as scheduler:
        wait_until(lambda: raw_redis.llen("resque:queue:ruby_only") == 1, 10, "the move")
        moved_at = time.time()
        scheduler.stop()
    assert due <= moved_at < due + 1.5
    assert raw_redis.lrange("resque:queue:compat", 0, -1) == [
        b'{"class":"RecordArgs","args":["for python",1.5]}'
    ]
    assert raw_redis.lrange("resque:queue:ruby_only", 0, -1) == [
        b'{"class":"RecordArgs","args":["for ruby"]}'
    ]
    assert not raw_redis.exists("resque:delayed_queue_schedule")
    with PythonWorker(redis_url, "compat", "--interval", "0") as worker:
        assert worker.wait(30) == 0, worker.output()
    run_ruby("worker.rb", redis_url, env={"QUEUE": "ruby_only", "INTERVAL": "0"})
    runtimes = {tuple(r["args"]): r["runtime"] for r in read_performed(redis_url)}
    assert runtimes == {("for python", 1.5): "python", ("for ruby",): "ruby"}


def test_master_lock_key_and_value_are_rubys(redis_url: str) -> None:
    key, value = ruby_eval_lock(redis_url)
    assert f"resque:{key}" == Keys().scheduler_master_lock("blue")
    assert value.rsplit(":", 1)[0] == lock_value().rsplit(":", 1)[0]


def ruby_eval_lock(redis_url: str) -> list[str]:
    found: list[str] = scheduler_eval(
        """
        ENV["RESQUE_SCHEDULER_MASTER_LOCK_PREFIX"] = "blue"
        [Resque::Scheduler.send(:master_lock_key), Resque::Scheduler::Lock::Basic.new("k").value]
        """,
        redis_url,
    )
    return found


def _timestamps(raw: redis.Redis) -> list[int]:
    found: list[bytes] = raw.zrange("resque:delayed_queue_schedule", 0, -1)  # type: ignore[assignment]
    return [int(ts) for ts in found]


AJ_BOOT = f"require {str(REPO_ROOT / 'ruby_fixtures' / 'activejob_boot.rb')!r}\n"


def test_rails_set_wait_perform_later_runs_in_a_python_worker(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """Rails 6.1 ``set(wait:)`` through resque-scheduler, moved by the Python mover."""
    from compat_tests.activejob_handlers import received

    scheduler_eval(AJ_BOOT + 'ArgsJob.set(wait: 600).perform_later("later", 2)\ntrue', redis_url)
    [timestamp] = _timestamps(raw_redis)
    assert abs(timestamp - (time.time() + 600)) < 5
    assert _python_move(redis_url, timestamp) == 1
    with PythonWorker(
        redis_url, "default", "--interval", "0", "--app", "compat_tests.activejob_handlers"
    ) as worker:
        assert worker.wait(30) == 0, worker.output()
    [entry] = read_performed(redis_url)
    job_class, args, kwargs, _context = received(entry)
    assert (entry["runtime"], job_class, args, kwargs) == ("python", "ArgsJob", ["later", 2], {})


def test_enqueue_activejob_with_wait_runs_in_a_ruby_worker(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """Python's ``enqueue_activejob(wait=)`` is Rails' ``enqueue_at``: delayed, moved by Ruby's
    ``handle_delayed_items``, performed by Rails in a Ruby worker."""
    with Resque.from_url(redis_url, registry=JobRegistry()) as producer:
        job_id = producer.enqueue_activejob("ArgsJob", "soon", queue="default", wait=600)
    [timestamp] = _timestamps(raw_redis)
    scheduler_eval(
        AJ_BOOT + f"Resque::Scheduler.handle_delayed_items(Time.at({timestamp}))\ntrue", redis_url
    )
    assert raw_redis.llen("resque:queue:default") == 1
    run_ruby("activejob_worker.rb", redis_url, env={"QUEUE": "default", "INTERVAL": "0"})
    [entry] = read_performed(redis_url)
    [description] = entry["args"]
    assert entry["runtime"] == "ruby"
    assert (description["job_id"], description["args"]) == (job_id, [["String", "soon"]])
