"""The recurring schedule as the scheduler loop drives it, and ``schedule list|enqueue-now``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from resque_compat.aio import AsyncResque
from resque_compat.client import Resque
from resque_compat.job import JobRegistry
from resque_compat.schedule_format.entries import EntryError
from resque_compat.scheduler.recurring import RecurringSchedules
from tests.test_cli import invoke

SCHEDULE_FILE = """
report:
  every: 10s
  queue: reports
  args: {kind: daily}
nightly:
  cron: "0 3 * * * America/Chicago"
  class: Nightly
  queue: nightly
three_times:
  every: ["5s", {first_in: "1s", times: 3}]
  class: Thrice
  queue: q
prod_only:
  every: 1s
  class: Prod
  queue: q
  rails_env: production
persisted:
  every: 1m
  class: Persisted
  queue: q
  persist: true
broken:
  every: whenever
  class: Broken
  queue: q
broken_persisted:
  cron: "0 25 * * *"
  queue: q
  persist: true
"""


@pytest.fixture
def resque(redis_url: str) -> Iterator[Resque]:
    with Resque.from_url(redis_url) as client:
        yield client


@pytest.fixture
def schedule_file(tmp_path: Path) -> Path:
    path = tmp_path / "resque_schedule.yml"
    path.write_text(SCHEDULE_FILE, encoding="utf-8")
    return path


def queued(raw_redis: redis.Redis, queue: str) -> list[Any]:
    items: list[bytes] = raw_redis.lrange(f"resque:queue:{queue}", 0, -1)  # type: ignore[assignment]
    return [json.loads(item) for item in items]


def test_a_file_loads_as_ruby_loads_it(
    resque: Resque, schedule_file: Path, raw_redis: redis.Redis
) -> None:
    recurring = RecurringSchedules.from_file(resque, schedule_file, dynamic=True)
    stored = raw_redis.hget("resque:persistent_schedules", "persisted")
    assert stored == b'{"every":"1m","class":"Persisted","queue":"q"}'
    recurring.load()
    assert set(recurring.entries()) == {"report", "nightly", "three_times", "persisted"}
    assert recurring.entries()["report"].class_name == "report"
    assert "not a duration" in recurring.problems["broken"]
    assert "not a valid cron line" in recurring.problems["broken_persisted"]
    assert raw_redis.hexists("resque:persistent_schedules", "broken_persisted") == 0
    assert "production" in recurring.skipped["prod_only"]
    assert raw_redis.exists("resque:schedules_changed") == 0


def test_every_keeps_its_phase_and_skips_missed_firings(
    resque: Resque, raw_redis: redis.Redis
) -> None:
    recurring = RecurringSchedules(resque, {"tick": {"every": "10s", "queue": "ticks"}})
    first = recurring.next_due()
    assert first is not None
    assert recurring.fire_due(first - 0.001) == 0
    assert recurring.fire_due(first) == 1
    assert recurring.next_due() == first + 10
    assert recurring.fire_due(first + 35) == 1
    assert recurring.next_due() == first + 40
    assert queued(raw_redis, "ticks") == [{"class": "tick", "args": []}] * 2


def test_times_and_first_in(resque: Resque, raw_redis: redis.Redis) -> None:
    entry = {"every": ["5s", {"first_in": "1s", "times": 2}], "class": "T", "queue": "q"}
    recurring = RecurringSchedules(resque, {"twice": entry})
    first = recurring.next_due()
    assert first is not None
    later = first + 4
    assert recurring.fire_due(first) == 1
    assert recurring.next_due() == later + 1
    assert recurring.fire_due(later + 1) == 1
    assert recurring.next_due() is None
    assert len(queued(raw_redis, "q")) == 2


def test_registered_class_gives_its_queue_and_runs_its_hooks(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    registry = JobRegistry()
    seen: list[Any] = []
    spec = registry.register_function("Archive", lambda *args: None, queue="files")
    spec.hook("before_enqueue")(lambda *args: seen.append(args))
    with Resque.from_url(redis_url, registry=registry) as client:
        recurring = RecurringSchedules(client, {"Archive": {"every": "1s", "args": "x"}})
        due = recurring.next_due()
        assert due is not None and recurring.fire_due(due) == 1
    assert seen == [("x",)]
    assert queued(raw_redis, "files") == [{"class": "Archive", "args": ["x"]}]


@pytest.mark.parametrize("refuse", ["before_schedule", "before_enqueue", None])
def test_a_firing_runs_the_schedule_hooks_around_the_enqueue(
    redis_url: str, raw_redis: redis.Redis, refuse: str | None
) -> None:
    """resque-scheduler's ``process_schedule_hooks``: ``before_schedule`` (False: nothing
    more), ``before_delayed_enqueue``, ``enqueue_to`` (its own hooks), ``after_schedule``
    even when ``before_enqueue`` refused."""
    registry = JobRegistry()
    calls: list[str] = []
    spec = registry.register_function("Archive", lambda *args: None, queue="files")
    for kind in ("before_schedule", "before_delayed_enqueue", "before_enqueue"):

        def hook(*args: Any, kind: str = kind) -> bool:
            calls.append(kind)
            return kind != refuse

        spec.hook(kind)(hook)
    for kind in ("after_enqueue", "after_schedule"):
        spec.hook(kind)(lambda *args, kind=kind: calls.append(kind))
    with Resque.from_url(redis_url, registry=registry) as client:
        recurring = RecurringSchedules(client, {"Archive": {"every": "1s", "args": "x"}})
        due = recurring.next_due()
        assert due is not None
        recurring.fire_due(due)
    expected = {
        "before_schedule": ["before_schedule"],
        "before_enqueue": [
            "before_schedule",
            "before_delayed_enqueue",
            "before_enqueue",
            "after_schedule",
        ],
        None: [
            "before_schedule",
            "before_delayed_enqueue",
            "before_enqueue",
            "after_enqueue",
            "after_schedule",
        ],
    }
    assert calls == expected[refuse]
    assert len(queued(raw_redis, "files")) == (1 if refuse is None else 0)


def test_dynamic_changes_are_picked_up_each_turn(resque: Resque) -> None:
    recurring = RecurringSchedules(
        resque, {"from_file": {"every": "1m", "queue": "q"}}, dynamic=True
    )
    recurring.load()
    resque.set_schedule("added", {"cron": "*/5 * * * *", "class": "Added", "queue": "q"})
    assert recurring.reload_if_changed()
    assert set(recurring.entries()) == {"from_file", "added"}
    resque.set_schedule("from_file", {"every": "2m", "class": "Override", "queue": "q"})
    resque.remove_schedule("added")
    assert recurring.reload_if_changed()
    assert set(recurring.entries()) == {"from_file"}
    assert recurring.entries()["from_file"].class_name == "Override"
    assert not recurring.reload_if_changed()
    static = RecurringSchedules(resque)
    static.load()
    resque.set_schedule("late", {"every": "1m", "class": "Late", "queue": "q"})
    assert not static.reload_if_changed()


def test_set_schedule_refuses_what_no_scheduler_could_run(resque: Resque) -> None:
    with pytest.raises(EntryError, match=r"schedule 'x': .*not a cron line"):
        resque.set_schedule("x", {"cron": "every day", "class": "A"})
    with pytest.raises(EntryError, match="always stored in Redis"):
        resque.set_schedule("x", {"every": "1m", "class": "A", "persist": False})
    assert resque.fetch_schedule("x") is None
    assert resque.remove_schedule("x") is False


def test_schedule_list_and_enqueue_now(
    redis_url: str, schedule_file: Path, raw_redis: redis.Redis
) -> None:
    listed = invoke(redis_url, "schedule", "list", "-f", str(schedule_file), "--json").json()
    by_name = {item["name"]: item for item in listed}
    assert by_name["report"]["args"] == [{"kind": "daily"}]
    assert by_name["report"]["schedule"] == "every: 10s"
    assert by_name["nightly"]["next_at"] is not None
    assert by_name["broken"]["status"] == "refused"
    assert by_name["prod_only"]["status"] == "skipped"
    assert by_name["persisted"]["status"] == "ok"
    env = {"RAILS_ENV": "production"}
    done = invoke(
        redis_url, "schedule", "enqueue-now", "prod_only", "-f", str(schedule_file), env=env
    )
    assert done.code == 0 and "enqueued Prod" in done.out
    assert queued(raw_redis, "q") == [{"class": "Prod", "args": []}]
    assert raw_redis.exists("resque:delayed:last_enqueued_at") == 0
    refused = invoke(redis_url, "schedule", "enqueue-now", "broken", "-f", str(schedule_file))
    assert refused.code == 1 and "not a duration" in refused.err
    missing = invoke(redis_url, "schedule", "enqueue-now", "nope")
    assert missing.code == 1 and "no such schedule" in missing.err
    text = invoke(redis_url, "schedule", "list", "-f", str(schedule_file)).out
    assert "nightly" in text and "refused" in text


def test_the_asyncio_client_sends_the_same_schedules(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    config = {"every": "1m", "class": "A", "queue": "q", "args": [1]}

    async def asynchronous() -> tuple[Any, ...]:
        async with AsyncResque.from_url(redis_url) as client:
            await client.set_schedule("async", config)
            fetched = await client.fetch_schedule("async")
            stored = await client.stored_schedules()
            removed = await client.remove_schedule("async")
            return fetched, stored, removed, await client.get_last_enqueued_at("async")

    assert asyncio.run(asynchronous()) == (config, {"async": config}, True, None)
    with Resque.from_url(redis_url) as client:
        client.set_schedule("sync", config)
    assert raw_redis.hget("resque:persistent_schedules", "sync") == (
        b'{"every":"1m","class":"A","queue":"q","args":[1]}'
    )
