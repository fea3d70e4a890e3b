"""Schedule entries as resque-scheduler's README and real applications write them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from resque_compat.schedule_format.entries import EntryError, arguments, env_matches, parse_entry
from resque_compat.schedule_format.timing import TimingError, parse_cron, parse_duration

NOW = 1_800_000_000.0

# Real-world entries: resque-scheduler's README, its test schedules, and apps' schedule files.
REAL_WORLD = """
CancelAbandonedOrders:
  cron: "*/5 * * * *"
queue_documents_for_indexing:
  cron: "0 0 * * *"
  class: "QueueDocuments"
  queue: high
  args:
  description: "This job queues all content for indexing in solr"
clear_leaderboards_contributors:
  cron: "30 6 * * 1"
  class: "ClearLeaderboards"
  queue: low
  args: contributors
  description: "This job resets the weekly leaderboard for contributions"
every_five_seconds_chicago:
  cron: "0 */5 * * * * America/Chicago"
  class: Tick
  queue: ticks
every_hour_and_a_half:
  every: 1h30m
  class: Report
  queue: reports
  args: [1, "two", {"three": 3}]
with_first_in:
  every: ["1h", {first_in: "10s"}]
  class: Report
  queue: reports
only_in_production:
  every: 30s
  class: Ping
  queue: pings
  rails_env: production, staging
hash_args:
  cron: "@hourly"
  class: Sweep
  queue: sweeps
  args:
    older_than: 7
    tables: [a, b]
weekdays_nine:
  cron: "0 9 * * MON-FRI Europe/Paris"
  class: Digest
  queue: mail
  custom_job_class: Resque::JobWithStatus
last_friday:
  cron: "0 18 * * fri#L"
  class: Payroll
  queue: hr
"""


def load(name: str) -> Any:
    config = yaml.safe_load(REAL_WORLD)[name]
    return parse_entry(name, {"class": name, **config}, dynamic=False, now=NOW)


def test_every_real_world_entry_loads() -> None:
    for name in yaml.safe_load(REAL_WORLD):
        entry = load(name)
        assert entry.class_name
        assert entry.cron is not None or entry.every is not None


def test_args_shapes_follow_ruby() -> None:
    assert arguments(None) == ()
    assert arguments("contributors") == ("contributors",)
    assert arguments([1, 2]) == (1, 2)
    assert arguments({"a": 1}) == ({"a": 1},)
    assert arguments(5) == (5,)
    assert load("hash_args").args == ({"older_than": 7, "tables": ["a", "b"]},)
    assert load("every_hour_and_a_half").args == (1, "two", {"three": 3})
    assert load("queue_documents_for_indexing").args == ()


def test_every_with_options() -> None:
    entry = load("with_first_in")
    assert entry.every == 3600
    assert entry.repeat.first_at == NOW + 10
    assert entry.timing == "every: 1h (first in 10s)"


def test_custom_job_class_and_env() -> None:
    assert load("weekdays_nine").custom_job_class == "Resque::JobWithStatus"
    assert env_matches("production, staging", "staging")
    assert not env_matches("production, staging", "development")
    assert not env_matches("production", None)
    assert env_matches(None, None)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("15mins", 900),
        ("2 days and 3 hours", 183600),
        ("1.5h", 5400),
        ("90", 90),
        ("1M", 30 * 86400),
        ("1m", 60),
        ("1w2d", 9 * 86400),
        ("1y", 365 * 86400),
        ("PT1H30M", 5400),
        ("P1D", 86400),
        ("10 seconds", 10),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "1ms", "every hour", "1h30x"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(TimingError):
        parse_duration(text)


def test_cron_with_seconds_and_zone() -> None:
    cron = parse_cron("0 */5 * * * * America/Chicago")
    start = datetime(2026, 7, 1, 12, 1, 3, tzinfo=ZoneInfo("America/Chicago")).timestamp()
    after = datetime.fromtimestamp(cron.next_after(start), ZoneInfo("America/Chicago"))
    assert (after.hour, after.minute, after.second) == (12, 5, 0)


def test_cron_translations() -> None:
    assert parse_cron("0 18 * * fri#L").expression == "0 18 * * L5"
    assert parse_cron("0 9 last * *").expression == "0 9 L * *"
    assert parse_cron("/15 * * * *").expression == "*/15 * * * *"
    assert parse_cron("@daily").expression == "0 0 * * *"
    assert parse_cron("0 0 9 * * MON").with_seconds
    assert parse_cron("0 9 * * MON-FRI America/Chicago").zone == ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"cron": "61 * * * *", "class": "A", "queue": "q"}, "not a valid cron line"),
        ({"cron": "0 9 * * * Mars/Base", "class": "A", "queue": "q"}, "unknown time zone"),
        ({"cron": "0 9 * * tue%2", "class": "A", "queue": "q"}, "modulo weekdays"),
        ({"every": "soon", "class": "A", "queue": "q"}, "not a duration"),
        ({"every": 30, "class": "A", "queue": "q"}, "must be a string"),
        ({"every": "0s", "class": "A", "queue": "q"}, "not a positive duration"),
        ({"every": "1m", "queue": "q"}, "no 'class'"),
        ({"every": "1m", "class": 5, "queue": "q"}, "must be a string"),
        ({"every": ["1m", {"times": "x"}], "class": "A"}, "times must be an integer"),
        ({"every": "1m", "class": "A", "args": [datetime(2026, 1, 1)]}, "quote dates"),
        ("every minute", "must be a mapping"),
    ],
)
def test_malformed_entries_name_entry_and_problem(config: Any, problem: str) -> None:
    with pytest.raises(EntryError) as raised:
        parse_entry("nightly", config, dynamic=True, now=NOW)
    assert "schedule 'nightly'" in str(raised.value)
    assert problem in str(raised.value)


def test_entry_without_timing_loads_but_never_fires() -> None:
    entry = parse_entry("manual", {"class": "A", "queue": "q"}, dynamic=False, now=NOW)
    assert entry.cron is None and entry.every is None
    assert entry.timing == "Not currently scheduled"
