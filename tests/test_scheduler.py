"""The Python scheduler's loop: on time to the millisecond for Python producers, woken for an
earlier job, bounded by the interval for producers that publish nothing, and its lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from resque_compat import JobRegistry, Resque
from resque_compat.client import ClientOptions
from resque_compat.connection import RedisSettings
from resque_compat.keys import Keys
from resque_compat.scheduler import Scheduler, SchedulerSettings
from resque_compat.scheduler.lock import lock_value
from resque_compat.scheduler.recurring import RecurringSchedules

LOCK = "resque:resque:resque_scheduler_master_lock"


class _Running:
    def __init__(self, url: str, settings: SchedulerSettings) -> None:
        self.scheduler = Scheduler(RedisSettings.from_url(url), settings)
        self.thread = threading.Thread(target=self.scheduler.run, args=(False,))

    def stop(self) -> None:
        self.scheduler.stop()
        self.thread.join(10)


@pytest.fixture
def start(redis_url: str) -> Iterator[Callable[..., Scheduler]]:
    running: list[_Running] = []

    def start_one(**settings: object) -> Scheduler:
        one = _Running(redis_url, SchedulerSettings(**settings))  # type: ignore[arg-type]
        one.thread.start()
        running.append(one)
        return one.scheduler

    yield start_one
    for one in running:
        one.stop()


def _producer(url: str) -> Resque:
    registry = JobRegistry()
    registry.register_function("Tick", lambda: None, queue="ticks")
    return Resque(RedisSettings.from_url(url), ClientOptions(registry=registry))


def _moved_at(raw: redis.Redis, queue: str, timeout: float = 10) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if raw.llen(f"resque:queue:{queue}"):
            return time.time()
        time.sleep(0.001)
    raise AssertionError("the job was not moved")


def _wait_master(raw: redis.Redis) -> None:
    deadline = time.monotonic() + 5
    while raw.get(LOCK) is None:
        assert time.monotonic() < deadline, "no master"
        time.sleep(0.01)


def test_a_job_is_moved_within_milliseconds_of_its_time(
    redis_url: str, raw_redis: redis.Redis, start: Callable[..., Scheduler]
) -> None:
    start(interval=60)
    _wait_master(raw_redis)
    due = int(time.time()) + 2
    _producer(redis_url).enqueue_at(due, "Tick", 1)
    lateness = _moved_at(raw_redis, "ticks") - due
    assert 0 <= lateness < 0.1


def test_an_earlier_job_wakes_the_scheduler(
    redis_url: str, raw_redis: redis.Redis, start: Callable[..., Scheduler]
) -> None:
    producer = _producer(redis_url)
    producer.enqueue_at(time.time() + 300, "Tick", "later")
    start(interval=60)
    _wait_master(raw_redis)
    time.sleep(0.2)  # asleep until the later job
    due = int(time.time()) + 2
    producer.enqueue_at_with_queue("early", due, "Tick", "early")
    assert 0 <= _moved_at(raw_redis, "early") - due < 0.1
    assert raw_redis.zcard("resque:delayed_queue_schedule") == 1


def test_a_producer_that_publishes_nothing_waits_at_most_the_interval(
    redis_url: str, raw_redis: redis.Redis, start: Callable[..., Scheduler]
) -> None:
    start(interval=0.5)
    _wait_master(raw_redis)
    due = int(time.time()) - 1  # as a Ruby producer racing the clock might leave it
    payload = b'{"class":"Tick","args":[],"queue":"ruby"}'
    raw_redis.rpush(f"resque:delayed:{due}", payload)
    raw_redis.sadd(b"resque:timestamps:" + payload, f"delayed:{due}")
    raw_redis.zadd("resque:delayed_queue_schedule", {str(due): due})
    written = time.time()
    assert _moved_at(raw_redis, "ruby") - written < 0.8


def test_the_lock_is_rubys_key_and_value_renewed_and_released(
    redis_url: str, raw_redis: redis.Redis, start: Callable[..., Scheduler]
) -> None:
    scheduler = start(interval=0.2, lock_timeout=7)
    _wait_master(raw_redis)
    assert raw_redis.get(LOCK) == lock_value().encode()
    assert 0 < raw_redis.ttl(LOCK) <= 7
    scheduler.stop()
    deadline = time.monotonic() + 5
    while raw_redis.get(LOCK) is not None:
        assert time.monotonic() < deadline, "the lock was not released"
        time.sleep(0.01)


def test_a_held_lock_makes_a_child_that_moves_nothing(
    redis_url: str, raw_redis: redis.Redis, start: Callable[..., Scheduler]
) -> None:
    raw_redis.set(LOCK, "elsewhere:1", ex=60)
    due = int(time.time()) - 1
    raw_redis.rpush(f"resque:delayed:{due}", b'{"class":"Tick","args":[],"queue":"ticks"}')
    raw_redis.zadd("resque:delayed_queue_schedule", {str(due): due})
    scheduler = start(interval=0.1)
    time.sleep(0.5)
    assert scheduler.master is False
    assert raw_redis.get(LOCK) == b"elsewhere:1"
    assert raw_redis.llen(f"resque:delayed:{due}") == 1


def test_lock_key_and_title_follow_ruby() -> None:
    keys = Keys("app")
    assert keys.scheduler_master_lock() == "app:app:resque_scheduler_master_lock"
    assert keys.scheduler_master_lock("blue") == "app:app:blue:resque_scheduler_master_lock"
    settings = SchedulerSettings(app_name="shop", env="production")
    assert settings.title("Master scheduler") == (
        "resque-scheduler-5.0.0[shop][production]: Master scheduler"
    )


def test_cli_scheduler_writes_and_removes_its_pidfile_and_stops_on_term(
    redis_url: str, raw_redis: redis.Redis, tmp_path: Path
) -> None:
    pidfile = tmp_path / "scheduler.pid"
    env = {k: v for k, v in os.environ.items() if k not in ("QUIET", "VERBOSE", "LOGFILE")}
    env.update({"REDIS_URL": redis_url, "PIDFILE": str(pidfile), "LOCK_TIMEOUT": "30"})
    command = [sys.executable, "-m", "resque_compat", "scheduler"]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as proc:
        _wait_master(raw_redis)
        assert pidfile.read_text().strip() == str(proc.pid)
        assert raw_redis.ttl(LOCK) > 20
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Master scheduler" in out and "Shutting down" in out
    assert not pidfile.exists()
    assert raw_redis.get(LOCK) is None


def test_the_master_fires_recurring_schedules_between_delayed_moves(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    client = _producer(redis_url)
    schedule = {"tick": {"every": "1s", "class": "Tick", "queue": "recurring", "args": [7]}}
    recurring = RecurringSchedules(client, schedule)
    scheduler = Scheduler(RedisSettings.from_url(redis_url), SchedulerSettings(), recurring)
    thread = threading.Thread(target=scheduler.run, args=(False,))
    thread.start()
    try:
        due = int(time.time()) + 1
        client.enqueue_at(due, "Tick", "delayed")
        _moved_at(raw_redis, "ticks")
        _moved_at(raw_redis, "recurring")
        deadline = time.monotonic() + 5  # HSET right after the enqueue
        while not raw_redis.hexists("resque:delayed:last_enqueued_at", "tick"):
            assert time.monotonic() < deadline, "no last_enqueued_at"
            time.sleep(0.01)
    finally:
        scheduler.stop()
        thread.join(10)
    assert raw_redis.lrange("resque:queue:recurring", 0, 0) == [b'{"class":"Tick","args":[7]}']
