"""A Ruby resque-scheduler and ``resque-compat scheduler`` side by side: one master at a time
under the shared lock, takeover when the master is SIGKILLed, and no delayed job lost or moved
twice while masters keep being killed.
"""

from __future__ import annotations

import collections
import contextlib
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from compat_tests.runtimes import RuntimeProcess, requires_ruby
from compat_tests.scheduler_rig import (
    lock_holder,
    scheduler_eval,
    start_python_scheduler,
    start_ruby_scheduler,
    wait_until,
)
from resque_compat import Resque, codec
from resque_compat.connection import RedisSettings
from resque_compat.scheduler.lock import lock_value

pytestmark = requires_ruby

LOCK_TIMEOUT = 2
INTERVAL = 0.2
FAST = {"LOCK_TIMEOUT": str(LOCK_TIMEOUT), "RESQUE_SCHEDULER_INTERVAL": str(INTERVAL)}


def _start(kind: str, redis_url: str) -> RuntimeProcess:
    if kind == "ruby":
        return start_ruby_scheduler(redis_url, env=FAST)
    return start_python_scheduler(redis_url, env=FAST)


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def _settled(kind: str, pid: int, role: str) -> bool:
    """Python's title says master or child; Ruby's ends on "Schedules Loaded" after either."""
    expected = f"{role} scheduler" if kind == "python" else "Schedules Loaded"
    return _title(pid).startswith("resque-scheduler-5.0.0: ") and expected in _title(pid)


def _holder_pid(raw: redis.Redis) -> int | None:
    holder = lock_holder(raw)
    return None if holder is None else int(holder.rsplit(":", 1)[1])


def _kill(proc: RuntimeProcess) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.stop(signal.SIGKILL, timeout=5)


@pytest.fixture
def processes() -> Iterator[list[RuntimeProcess]]:
    started: list[RuntimeProcess] = []
    yield started
    for proc in started:
        proc.stop(signal.SIGKILL, timeout=5)


@pytest.mark.parametrize("first", ["ruby", "python"])
def test_one_master_and_takeover_within_the_lock_timeout(
    first: str, redis_url: str, raw_redis: redis.Redis, processes: list[RuntimeProcess]
) -> None:
    second = "python" if first == "ruby" else "ruby"
    master = _start(first, redis_url)
    processes.append(master)
    wait_until(lambda: _holder_pid(raw_redis) == master.pid, 20, f"{first} to be master")
    child = _start(second, redis_url)
    processes.append(child)
    wait_until(lambda: _settled(second, child.pid, "Child"), 20, f"{second} to start")
    assert _settled(first, master.pid, "Master")
    assert _holder_pid(raw_redis) == master.pid
    holder = lock_holder(raw_redis) or ""
    assert holder.rsplit(":", 1)[0] == lock_value().rsplit(":", 1)[0]
    assert 0 < raw_redis.ttl("resque:resque:resque_scheduler_master_lock") <= LOCK_TIMEOUT

    _kill(master)
    killed_at = time.monotonic()
    wait_until(lambda: _holder_pid(raw_redis) == child.pid, 10, f"{second} to take over")
    assert time.monotonic() - killed_at <= LOCK_TIMEOUT + INTERVAL + 1.0
    wait_until(lambda: _settled(second, child.pid, "Master"), 5, "the master title")

    resque = Resque(RedisSettings.from_url(redis_url))
    resque.enqueue_at_with_queue("compat", time.time() + 2, "RecordArgs", "after takeover")
    assert raw_redis.zcard("resque:delayed_queue_schedule") == 1  # delayed, not queued at once
    wait_until(lambda: raw_redis.llen("resque:queue:compat") == 1, 10, "the new master to move")
    resque.close()
    child.stop(signal.SIGTERM)
    assert lock_holder(raw_redis) is None  # released on TERM


JOBS = 10_000
SPREAD = 12


def _schedule_jobs(redis_url: str, start: int) -> None:
    """Half the jobs delayed by Ruby, half by Python (one batch), over SPREAD seconds."""
    resque = Resque(RedisSettings.from_url(redis_url))
    entries = [(start + i % SPREAD, [i]) for i in range(1, JOBS, 2)]
    resque.enqueue_at_many("RecordArgs", entries, queue="compat")
    resque.close()
    scheduler_eval(
        f"(0...{JOBS}).step(2) {{ |i| Resque.enqueue_at(Time.at({start} + i % {SPREAD}), "
        "RecordArgs, i) }\ntrue",
        redis_url,
    )


def test_no_job_lost_or_moved_twice_while_masters_are_killed(
    redis_url: str, raw_redis: redis.Redis, processes: list[RuntimeProcess]
) -> None:
    start = int(time.time()) + 4
    _schedule_jobs(redis_url, start)
    assert raw_redis.zcard("resque:delayed_queue_schedule") == SPREAD
    running = {kind: _start(kind, redis_url) for kind in ("ruby", "python")}
    processes.extend(running.values())
    chance = random.Random(14)
    kills = 0
    masters: set[str] = set()
    while time.time() < start + SPREAD + 1:
        time.sleep(chance.uniform(0.4, 1.2))
        holder = _holder_pid(raw_redis)
        for kind, proc in list(running.items()):
            if proc.pid == holder:
                masters.add(kind)
            if proc.pid == holder or chance.random() < 0.2:
                _kill(proc)
                kills += 1
                running[kind] = _start(kind, redis_url)
                processes.append(running[kind])
    wait_until(
        lambda: not raw_redis.exists("resque:delayed_queue_schedule"),
        LOCK_TIMEOUT + 10,
        "the last jobs to be moved",
    )
    for proc in running.values():
        proc.stop(signal.SIGTERM)
    queued = raw_redis.lrange("resque:queue:compat", 0, -1)
    counts = collections.Counter(codec.decode(item)["args"][0] for item in queued)
    assert kills >= 5
    assert masters == {"ruby", "python"}
    assert sorted(counts) == list(range(JOBS)), "a job was lost"
    assert set(counts.values()) == {1}, "a job was moved twice"
    assert raw_redis.keys("resque:delayed*") == []
    assert raw_redis.keys("resque:timestamps:*") == []
