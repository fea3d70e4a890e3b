"""Recurring schedules against the real resque-scheduler 5.0.0 (and rufus 3.8 / fugit).

Dynamic schedules cross both ways (Python's ``set_schedule`` read by Ruby's
``fetch_schedule``, Ruby's read by Python); ``enqueue_from_config`` and Python's firing leave
the same bytes on the same queues; ``delayed:last_enqueued_at`` holds the same kind of
string; fugit's durations and cron times are what Python computes; a bad entry stored by
Ruby is refused by the Python scheduler while the good ones fire.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis

from compat_tests import jobs  # noqa: F401  (registers Noop and the other test jobs)
from compat_tests.runtimes import SHARED_RUBY, requires_ruby, run_ruby
from resque_compat.client import Resque
from resque_compat.schedule_format.entries import parse_entry
from resque_compat.schedule_format.timing import parse_cron, parse_duration
from resque_compat.scheduler.recurring import RecurringSchedules, enqueue_entry

pytestmark = requires_ruby

SCHEDULER_LIB = str(SHARED_RUBY / "resque-scheduler-5.0.0" / "lib")
#: resque-scheduler 4.11 (with Resque 2.7) stores and fires schedules the same way; the tests
#: of the protocol run against both.
VERSIONS = {
    "5.0.0": {"RESQUE_SCHEDULER_LIB": SCHEDULER_LIB},
    "4.11.0": {
        "RESQUE_SCHEDULER_LIB": str(SHARED_RUBY / "resque-scheduler-4.11.0" / "lib"),
        "RESQUE_RUBY_LIB": str(SHARED_RUBY / "resque-2.7.0" / "lib"),
    },
}
both_versions = pytest.mark.parametrize("version", sorted(VERSIONS))
RUBY_TIME_TO_S = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}")

# Entries whose firing is compared byte for byte: every args shape, a class Ruby and Python
# both know (Noop, @queue :compat), classes neither knows, a custom job class Ruby cannot load.
ENTRIES: dict[str, dict[str, Any]] = {
    "no_args": {"class": "Reports::Nightly", "queue": "reports"},
    "nil_args": {"class": "Reports::Nightly", "queue": "reports", "args": None},
    "string_arg": {"class": "ClearLeaderboards", "queue": "low", "args": "contributors"},
    "list_args": {"class": "Report", "queue": "reports", "args": [1, "two", 3.5, None, True]},
    "hash_arg": {"class": "Sweep", "queue": "sweeps", "args": {"older_than": 7, "t": ["a"]}},
    "number_arg": {"class": "Sweep", "queue": "sweeps", "args": 12345678901234567890},
    "unicode": {"class": "Mail", "queue": "mail", "args": ["é/ü ✓", {"k": "</script>"}]},
    "floats": {"class": "Stats", "queue": "stats", "args": [1.0, 1e20, 0.1, -2.5e-7]},
    "class_queue": {"class": "Noop", "args": ["from the class's queue"]},
    "queue_over_class": {"class": "Noop", "queue": "elsewhere", "args": [1]},
    "custom_class": {
        "class": "Digest",
        "queue": "mail",
        "custom_job_class": "Resque::JobWithStatus",
        "args": {"to": "ops"},
    },
    "plain_job_class": {"class": "Digest", "queue": "mail", "custom_job_class": "Resque::Job"},
}


def scheduler_eval(code: str, url: str, version: str = "5.0.0") -> Any:
    done = run_ruby("schedule.rb", url, env=VERSIONS[version], input=code)
    return json.loads(done.stdout)


@pytest.fixture
def resque(redis_url: str) -> Iterator[Resque]:
    with Resque.from_url(redis_url) as client:
        yield client


def everything_queued(client: redis.Redis) -> dict[str, list[bytes]]:
    members: set[bytes] = client.smembers("resque:queues")  # type: ignore[assignment]
    queues = sorted(name.decode() for name in members)
    queued: dict[str, list[bytes]] = {}
    for queue in queues:
        queued[queue] = client.lrange(f"resque:queue:{queue}", 0, -1)  # type: ignore[assignment]
    return queued


def last_enqueued(client: redis.Redis, name: str) -> str | None:
    key = "resque:delayed:last_enqueued_at"
    written: bytes | None = client.hget(key, name)  # type: ignore[assignment]
    return None if written is None else written.decode()


@both_versions
def test_schedule_set_from_python_is_read_by_ruby(
    resque: Resque, redis_url: str, version: str
) -> None:
    config = {"cron": "0 */5 * * * * America/Chicago", "class": "Noop", "queue": "compat"}
    resque.set_schedule("tick", {**config, "args": [1, {"a": "é"}], "persist": True})
    resque.set_schedule("hourly", {"every": ["1h", {"first_in": "10s"}], "class": "Report"})
    seen = scheduler_eval(
        'Resque.set_schedule("tick_rb", {"cron" => "0 */5 * * * * America/Chicago", '
        '"class" => "Noop", "queue" => "compat", "args" => [1, {"a" => "é"}], '
        '"persist" => true})\n'
        '[Resque.fetch_schedule("tick"), Resque.fetch_schedule("hourly"), '
        "Resque.schedule.keys.sort, Resque.redis.smembers(:schedules_changed).sort, "
        'Resque.redis.hget(:persistent_schedules, "tick") == '
        'Resque.redis.hget(:persistent_schedules, "tick_rb")]',
        redis_url,
        version,
    )
    assert seen[0] == {**config, "args": [1, {"a": "é"}]}
    assert seen[1] == {"every": ["1h", {"first_in": "10s"}], "class": "Report"}
    assert seen[2] == ["hourly", "tick", "tick_rb"]
    assert seen[3] == ["hourly", "tick", "tick_rb"]
    assert seen[4] is True, "Python stored other bytes than Ruby's set_schedule"


@both_versions
def test_schedule_set_by_ruby_is_read_and_removed_by_python(
    resque: Resque, redis_url: str, version: str
) -> None:
    scheduler_eval(
        'Resque.set_schedule("cleanup", {:class => "Cleanup", :every => "15mins", '
        ':queue => "high", :args => "/tmp/poop", :persist => true})',
        redis_url,
        version,
    )
    expected = {"class": "Cleanup", "every": "15mins", "queue": "high", "args": "/tmp/poop"}
    assert resque.fetch_schedule("cleanup") == expected
    assert resque.stored_schedules() == {"cleanup": expected}
    assert resque.remove_schedule("cleanup") is True
    assert scheduler_eval(
        '[Resque.fetch_schedule("cleanup"), Resque.redis.smembers(:schedules_changed)]',
        redis_url,
        version,
    ) == [None, ["cleanup"]]


@both_versions
def test_firing_leaves_the_bytes_enqueue_from_config_leaves(
    resque: Resque, raw_redis: redis.Redis, redis_url: str, version: str
) -> None:
    configs = json.dumps(ENTRIES)
    scheduler_eval(
        f"JSON.parse({json.dumps(configs)}).each_value "
        "{ |c| Resque::Scheduler.enqueue_from_config(c) }\nnil",
        redis_url,
        version,
    )
    from_ruby = everything_queued(raw_redis)
    raw_redis.flushall()
    for name, config in ENTRIES.items():
        assert enqueue_entry(resque, parse_entry(name, config, dynamic=True)) is True
    assert everything_queued(raw_redis) == from_ruby
    assert from_ruby["compat"] == [b'{"class":"Noop","args":["from the class\'s queue"]}']
    raw_redis.flushall()
    timed = {name: {**config, "every": "1m"} for name, config in ENTRIES.items()}
    recurring = RecurringSchedules(resque, timed)
    due = recurring.next_due()
    assert due is not None and recurring.fire_due(due) == len(ENTRIES)
    assert everything_queued(raw_redis) == from_ruby


def test_last_enqueued_at_is_written_as_ruby_writes_it(
    resque: Resque, raw_redis: redis.Redis, redis_url: str
) -> None:
    resque.set_schedule("every_second", {"every": "1s", "class": "Noop", "queue": "compat"})
    recurring = RecurringSchedules(resque, dynamic=True)
    due = recurring.next_due()
    assert due is not None
    assert recurring.fire_due(due) == 1
    written = last_enqueued(raw_redis, "every_second")
    assert written is not None and RUBY_TIME_TO_S.fullmatch(written)
    ruby = scheduler_eval(
        'Resque::Scheduler.send(:enqueue_recurring, "ruby_side", '
        '{"class" => "Noop", "queue" => "compat"})\n'
        '[Resque.get_last_enqueued_at("every_second"), Resque.get_last_enqueued_at("ruby_side"),'
        ' (Time.parse(Resque.get_last_enqueued_at("every_second")).to_f)]',
        redis_url,
    )
    assert ruby[0] == written
    assert RUBY_TIME_TO_S.fullmatch(ruby[1])
    assert abs(ruby[2] - int(due)) <= 1
    assert resque.get_last_enqueued_at("ruby_side") == ruby[1]


@both_versions
def test_a_bad_entry_stored_by_ruby_is_refused_and_the_others_fire(
    resque: Resque, raw_redis: redis.Redis, redis_url: str, version: str
) -> None:
    scheduler_eval(
        'Resque.set_schedule("broken", {"cron" => "61 * * * *", "class" => "Noop", '
        '"persist" => true})\n'
        'Resque.set_schedule("fine", {"every" => "1s", "class" => "Noop", "persist" => true})',
        redis_url,
        version,
    )
    file_schedule = {"from_file": {"every": "1s", "queue": "files"}, "no_queue": {"every": "1s"}}
    recurring = RecurringSchedules(resque, file_schedule, dynamic=True)
    recurring.load()
    assert set(recurring.problems) == {"broken", "no_queue"}
    assert "not a valid cron line" in recurring.problems["broken"]
    assert "no queue" in recurring.problems["no_queue"]
    assert set(recurring.entries()) == {"fine", "from_file"}
    due = recurring.next_due()
    assert due is not None and recurring.fire_due(due + 0.5) == 2
    assert raw_redis.lrange("resque:queue:files", 0, -1) == [b'{"class":"from_file","args":[]}']
    assert raw_redis.llen("resque:queue:compat") == 1


def test_both_schedulers_pick_up_changes(resque: Resque, redis_url: str) -> None:
    recurring = RecurringSchedules(resque, dynamic=True)
    recurring.load()
    assert not recurring.reload_if_changed()
    scheduler_eval(
        'Resque.set_schedule("added", {"every" => "5m", "class" => "Noop", "persist" => true})',
        redis_url,
    )
    assert recurring.reload_if_changed()
    assert set(recurring.entries()) == {"added"}
    resque.set_schedule("python_side", {"cron": "*/5 * * * *", "class": "Noop"})
    resque.remove_schedule("added")
    loaded = scheduler_eval(
        "Resque::Scheduler.dynamic = true\n"
        "Resque::Scheduler.load_schedule!\n"
        "names = Resque::Scheduler.scheduled_jobs.keys.sort\n"
        "Resque::Scheduler.rufus_scheduler.shutdown\n"
        "names",
        redis_url,
    )
    assert loaded == ["python_side"]


DURATIONS = [
    "30s", "1h30m", "1h 30m", "15mins", "2 days and 3 hours", "1.5h", "90", "1M", "1m",
    "1w2d", "1y", "PT1H30M", "P1D", "pt30s", "10 seconds", "3 months", "1h30", "2d, 4h",
    "1 hour and 30 minutes", "45 secs",
]  # fmt: skip


def test_durations_are_fugits() -> None:
    ruby = run_ruby(
        "schedule.rb",
        "redis://127.0.0.1:1/0",
        env={"RESQUE_SCHEDULER_LIB": SCHEDULER_LIB},
        input=f"JSON.parse({json.dumps(json.dumps(DURATIONS))})"
        ".map { |d| Rufus::Scheduler.parse_in(d).to_f }",
    )
    assert json.loads(ruby.stdout) == [parse_duration(text) for text in DURATIONS]


CRONS = [
    "*/5 * * * *", "0 0 * * *", "30 6 * * 1", "0 */5 * * * * America/Chicago",
    "0 9 * * MON-FRI Europe/Paris", "0 18 * * fri#L", "0 9 last * *", "@hourly", "@weekly",
    "0 2 * * * America/New_York", "30 2 * * * Europe/Paris", "0 9 1,15 * 5", "0 0 1 jan *",
    "15 */2 * * sun,sat", "0 12 * * 1#2", "0 22-23 * * *", "0 0 9 * * MON Asia/Tokyo",
    "0 4 * * * +09:00", "/15 * * * *", "*/20 * * * * *", "30 1 * * * America/Chicago",
    "0 * * * * America/Chicago", "*/30 * * * * Europe/Paris", "0 3 * * sun Europe/Paris",
]  # fmt: skip
STARTS = [
    datetime(2026, 3, 7, 23, 59, 30, tzinfo=ZoneInfo("UTC")),
    datetime(2026, 3, 29, 0, 30, tzinfo=ZoneInfo("Europe/Paris")),
    datetime(2026, 11, 1, 0, 30, tzinfo=ZoneInfo("America/Chicago")),
    datetime(2026, 12, 31, 23, 0, 5, tzinfo=ZoneInfo("UTC")),
]


def python_next_times(cron: str, start: float, count: int) -> list[float]:
    parsed, times = parse_cron(cron), [start]
    for _ in range(count):
        times.append(parsed.next_after(times[-1]))
    return times[1:]


def test_cron_next_times_are_fugits(redis_url: str) -> None:
    starts = [start.timestamp() for start in STARTS]
    ruby = scheduler_eval(
        f"crons = JSON.parse({json.dumps(json.dumps(CRONS))})\n"
        f"starts = {json.dumps(starts)}\n"
        "crons.map { |c| f = Fugit::Cron.parse(c); starts.map { |s| "
        "t = EtOrbi.make_time(Time.at(s)); (1..4).map { t = f.next_time(t); t.to_f } } }",
        redis_url,
    )
    python = [[python_next_times(cron, start, 4) for start in starts] for cron in CRONS]
    mismatches = [
        (cron, STARTS[i].isoformat(), theirs, ours)
        for cron, ruby_rows, python_rows in zip(CRONS, ruby, python, strict=True)
        for i, (theirs, ours) in enumerate(zip(ruby_rows, python_rows, strict=True))
        if theirs != ours
    ]
    assert mismatches == [], "\n".join(map(str, mismatches))


def test_first_firings_are_rufus(resque: Resque, redis_url: str) -> None:
    schedules: dict[str, dict[str, Any]] = {
        "plain": {"every": "5m", "class": "Noop"},
        "first_in": {"every": ["1h", {"first_in": "10s"}], "class": "Noop"},
        "cron_first_in": {"cron": ["0 0 1 1 *", {"first_in": "20s"}], "class": "Noop"},
        "iso": {"every": "PT90S", "class": "Noop"},
    }
    for name, config in schedules.items():
        resque.set_schedule(name, config)
    recurring = RecurringSchedules(resque, dynamic=True)
    recurring.load()
    started = time.time()
    ours = {name: due - started for name, due in recurring.due_times().items() if due}
    theirs = scheduler_eval(
        "Resque::Scheduler.dynamic = true\n"
        "Resque::Scheduler.load_schedule!\n"
        "now = Time.now.to_f\n"
        "found = Resque::Scheduler.scheduled_jobs.map { |n, j| [n, j.next_time.to_f - now] }\n"
        "Resque::Scheduler.rufus_scheduler.shutdown\n"
        "found.to_h",
        redis_url,
    )
    assert set(theirs) == set(ours) == set(schedules)
    for name, offset in ours.items():
        assert abs(theirs[name] - offset) < 1, (name, theirs[name], offset)
