"""``Resque::Failure`` management replayed through the Python backends, against Ruby's recordings.

For each recording, every call that is not the failure API (enqueues, the Ruby worker run,
``Resque.remove_queue``...) is replayed with the recording's own commands, so Redis holds
exactly what Ruby's did; every ``Resque::Failure.*`` call is made through the Python backend
instead, under ``MONITOR``, and must send the recorded commands (times, host, pids and
backtraces normalised to the placeholders) and leave the recorded keyspaces.

One difference is intended (``docs/failures.md``): where Ruby removes entry ``i`` with
``lset <list> i ""`` + ``lrem <list> 1 ""``, Python sends ``lrem <list> 1 <the entry's
bytes>``, preceded by ``lindex <list> i`` when nothing had read the entry yet (a bare
``remove(i)``). :func:`python_commands` derives that expectation from Ruby's commands by
following the recorded list contents, so the comparison stays exact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import pytest
import redis

from compat_tests import reference as ref
from compat_tests.reference import Command, CommandCapture, Normalizer, Recording, Value
from resque_compat.connection import RedisSettings
from resque_compat.failure import (
    FailureBackend,
    InvalidFailureQueueError,
    RedisBackend,
    RedisMultiQueueBackend,
)
from resque_compat.keys import Keys
from resque_compat.store import SyncDriver
from resque_compat.store.base import Operation

RECORDED_AROUND = datetime(2026, 11, 28, 7, 19, tzinfo=timezone.utc)
RETRIED_AT = datetime(2026, 11, 28, 7, 18, 40, tzinfo=timezone.utc)
EST = timezone(timedelta(hours=-5), "EST")
PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")
FAILED_AT = re.compile(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} [A-Z]+")
NOZONE = re.compile(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}")


def anything(_result: Any) -> bool:
    return True


@dataclass(frozen=True)
class Step:
    """One ``Resque::Failure`` call: its recorded text (before any ``#`` comment), the Python
    call, a check of what it returns, and what else to compare afterwards."""

    ruby: str
    run: Callable[[FailureBackend], Operation[Any]]
    check: Callable[[Any], bool] = anything
    raises: type[Exception] | None = None
    reads_before_removal: bool = False
    snapshot: str | None = None


def args(records: Any) -> list[Any]:
    return [record["payload"]["args"] for record in records]


def ids(walked: Any) -> list[tuple[int, str]]:
    return [(index, record["payload"]["args"][0]) for index, record in walked]


MANAGEMENT_STEPS = {
    6: Step("Resque::Failure.count", lambda b: b.count(), lambda r: r == 5),
    7: Step(
        "Resque::Failure.count(nil, 'FailJob')",
        lambda b: b.count(None, "FailJob"),
        lambda r: r == 5,
    ),
    8: Step("Resque::Failure.queues", lambda b: b.queues(), lambda r: r == ["failed"]),
    9: Step(
        'Resque::Failure.all(0, 2).map { |f| f["payload"]["args"] }',
        lambda b: b.all(0, 2),
        lambda r: args(r) == [["A"], ["C"]],
    ),
    10: Step(
        'Resque::Failure.all(3)["payload"]',
        lambda b: b.all(3),
        lambda r: r["payload"] == {"class": "FailJob", "args": ["B"]},
    ),
    11: Step(
        'ids = []; Resque::Failure.each { |id, f| ids << [id, f["payload"]["args"][0]] }; ids',
        lambda b: b.each(),
        lambda r: ids(r) == [(4, "D"), (3, "B"), (2, "E"), (1, "C"), (0, "A")],
    ),
    12: Step("Resque::Failure.requeue(0)", lambda b: b.requeue(0)),
    13: Step(
        'Resque::Failure.all(0)["retried_at"]',
        lambda b: b.all(0),
        lambda r: r["retried_at"] == "2026/11/28 07:18:40 UTC",
    ),
    14: Step(
        "Resque::Failure.requeue_queue('q2')", lambda b: b.requeue_queue("q2"), lambda r: r == 2
    ),
    15: Step(
        "Resque::Failure.remove(2)",
        lambda b: b.remove(2),
        lambda r: r == 1,
        reads_before_removal=True,
        snapshot="after_requeue_and_remove",
    ),
    16: Step("Resque::Failure.requeue_all", lambda b: b.requeue_all(), lambda r: r == 4),
    17: Step("Resque::Failure.clear_retried", lambda b: b.clear_retried(), lambda r: r == 4),
    18: Step("Resque::Failure.count", lambda b: b.count(), lambda r: r == 0),
    24: Step(
        "Resque::Failure.remove_queue('q1')", lambda b: b.remove_queue("q1"), lambda r: r == 2
    ),
    25: Step("Resque::Failure.count", lambda b: b.count(), lambda r: r == 1),
    26: Step(
        "Resque::Failure.requeue(0, 'q2')",
        lambda b: b.requeue(0, "q2"),
        raises=InvalidFailureQueueError,
    ),
    27: Step("Resque::Failure.clear", lambda b: b.clear(), lambda r: r == 1),
    28: Step("Resque::Failure.count", lambda b: b.count(), lambda r: r == 0),
}

MULTI_QUEUE_STEPS = {
    6: Step(
        "Resque::Failure.queues.sort",
        lambda b: b.queues(),
        lambda r: r == ["q1_failed", "q2_failed"],
    ),
    7: Step("Resque::Failure.count", lambda b: b.count(), lambda r: r == 4),
    8: Step("Resque::Failure.count('q1_failed')", lambda b: b.count("q1_failed"), lambda r: r == 2),
    9: Step(
        "Resque::Failure.all(0, 2, 'q1_failed').map { |f| f['payload']['args'] }",
        lambda b: b.all(0, 2, "q1_failed"),
        lambda r: args(r) == [["A"], ["C"]],
    ),
    10: Step("Resque::Failure.requeue(0, 'q1_failed')", lambda b: b.requeue(0, "q1_failed")),
    11: Step(
        "Resque::Failure.all(0, 1, 'q1_failed')['retried_at']",
        lambda b: b.all(0, 1, "q1_failed"),
        lambda r: r["retried_at"] == "2026/11/28 07:18:40",
    ),
    12: Step(
        "Resque::Failure.remove(1, 'q2_failed')",
        lambda b: b.remove(1, "q2_failed"),
        lambda r: r == 1,
        reads_before_removal=True,
    ),
    13: Step(
        "Resque::Failure.requeue_queue('q2')",
        lambda b: b.requeue_queue("q2"),
        lambda r: r == 1,
        snapshot="after_requeue_and_remove",
    ),
    14: Step("Resque::Failure.requeue_all", lambda b: b.requeue_all(), lambda r: r == 3),
    15: Step(
        "Resque::Failure.remove_queue('q2')", lambda b: b.remove_queue("q2"), lambda r: r == 1
    ),
    16: Step(
        "Resque::Failure.clear('q1_failed')", lambda b: b.clear("q1_failed"), lambda r: r == 1
    ),
    17: Step("Resque::Failure.count", lambda b: b.count(), lambda r: r == 0),
    18: Step(
        "Resque::Failure.queues.sort",
        lambda b: b.queues(),
        lambda r: r == ["q1_failed", "q2_failed"],
    ),
}

NON_UTC_STEPS = {
    5: Step("Resque::Failure.requeue(0)", lambda b: b.requeue(0)),
}


# --- placeholders back to values, and replaying Ruby's own commands --------------------------


def concrete_values(recording: Recording) -> dict[str, str]:
    """A raw value per placeholder, taken from the recording's raw failed entry where it has
    one (host, pid, backtrace line, ``failed_at`` with its zone)."""
    raw = json.loads(recording.raw_examples["failed_entry"])
    host, pid, _queues = raw["worker"].split(":", 2)
    values = {
        "<HOST>": host,
        "<PID>": pid,
        "<BACKTRACE_LINE>": json.dumps(raw["backtrace"][0])[1:-1],
        "<TIME_RESQUE_FAILED_AT>": raw["failed_at"],
    }
    for name, info in recording.placeholders.items():
        if "format" in info and name not in values:
            values[name] = RECORDED_AROUND.strftime(info["format"].replace("%:z", "+00:00"))
    return values


def denormalize(value: Value, values: dict[str, str]) -> bytes:
    text = PLACEHOLDER.sub(
        lambda m: values.get(m.group(0), m.group(0)),
        ref.value_to_bytes(value).decode("utf-8", "surrogateescape"),
    )
    return text.encode("utf-8", "surrogateescape")


def replay(client: redis.Redis, commands: list[Command], values: dict[str, str]) -> None:
    for command in commands:
        name = str(command[0]).upper()
        client.execute_command(name, *(denormalize(arg, values) for arg in command[1:]))


# --- what Python sends where Ruby removes by index ------------------------------------------


def is_ruby_removal(commands: list[Command], position: int) -> bool:
    """``lset <list> i ""`` followed by ``lrem <list> 1 ""`` on the same list."""
    if position + 1 >= len(commands):
        return False
    first, second = commands[position], commands[position + 1]
    return (
        first[0] == "lset"
        and first[3] == ""
        and second[:2] == ["lrem", first[1]]
        and second[2:] == ["1", ""]
    )


def apply(lists: dict[Value, list[Value]], command: Command) -> None:
    """Follow the list writes of Ruby's commands (enough for these recordings)."""
    name, key = command[0], command[1] if len(command) > 1 else ""
    if name == "rpush":
        lists.setdefault(key, []).extend(command[2:])
    elif name == "lset":
        lists[key][int(str(command[2]))] = command[3]
    elif name == "del":
        lists.pop(key, None)


def python_commands(
    ruby: list[Command], lists: dict[Value, list[Value]], reads_before_removal: bool
) -> list[Command]:
    """Ruby's commands with each index removal replaced by Python's removal of the bytes
    that were at that index (known from ``lists``, the lists' recorded contents)."""
    expected: list[Command] = []
    position = 0
    while position < len(ruby):
        command = ruby[position]
        if not is_ruby_removal(ruby, position):
            apply(lists, command)
            expected.append(command)
            position += 1
            continue
        key, index = command[1], int(str(command[2]))
        if reads_before_removal:
            expected.append(["lindex", key, str(index)])
        expected.append(["lrem", key, "1", lists[key].pop(index)])
        position += 2
    return expected


def is_failure_api(call: ref.RubyCall) -> bool:
    """A ``Resque::Failure`` call that Python must make (not setup, not choosing a backend)."""
    text = call.text
    return not call.is_setup and "Resque::Failure." in text and "backend =" not in text


# --- the replay ------------------------------------------------------------------------------


@dataclass
class Replay:
    recording: Recording
    backend: FailureBackend
    capture: CommandCapture
    driver: SyncDriver
    normalizer: Normalizer
    values: dict[str, str]

    def recorded_lists(self) -> dict[Value, list[Value]]:
        keyspace = self.capture.dump_keyspace(normalizer=self.normalizer)
        return {
            key: list(cast("list[Value]", entry["value"]))
            for key, entry in keyspace.items()
            if entry["type"] == "list"
        }

    def run_all(self, steps: dict[int, Step]) -> None:
        for index, call in enumerate(self.recording.calls):
            step = steps.get(index)
            if step is None:
                assert not is_failure_api(call), f"no Python step for {call.text!r}"
                replay(self.capture.control, self.recording.commands_for_call(index), self.values)
            else:
                self.run_step(index, step)
        self.assert_keyspace(None)

    def run_step(self, index: int, step: Step) -> None:
        call = self.recording.calls[index]
        assert call.text.split("  #")[0] == step.ruby
        expected = python_commands(
            self.recording.commands_for_call(index),
            self.recorded_lists(),
            step.reads_before_removal,
        )
        start = self.capture.sync()
        result = self.call(step)
        self.capture.sync()
        actual = self.normalizer.commands(self.capture.commands[start:])
        start_at, end_at = self.recording.call_bounds(index)
        ranges = self.recording.slice(start_at, end_at).unordered_ranges
        ref.assert_commands_equal(actual, expected, unordered_ranges=ranges, what=step.ruby)
        assert step.check(result), f"{step.ruby} returned {result!r}"
        if step.snapshot is not None:
            self.assert_keyspace(step.snapshot)

    def call(self, step: Step) -> Any:
        if step.raises is None:
            return self.driver.run(step.run(self.backend))
        with pytest.raises(step.raises):
            self.driver.run(step.run(self.backend))
        return None

    def assert_keyspace(self, label: str | None) -> None:
        actual = self.capture.dump_keyspace(normalizer=self.normalizer)
        ref.assert_keyspace_equal(actual, self.recording.snapshot(label), what=label or "keys")


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = RedisSettings.from_url(redis_url).client()
    connection.ping()  # redis-py's first health-check PING, sent before anything is captured
    yield connection
    connection.close()


def replay_scenario(
    scenario: str,
    backend: FailureBackend,
    steps: dict[int, Step],
    redis_url: str,
    client: redis.Redis,
) -> None:
    recording = ref.load(scenario)
    values = concrete_values(recording)
    normalizer = recording.normalizer(
        host=values["<HOST>"], pids=[int(values["<PID>"])], now=RECORDED_AROUND
    )
    with CommandCapture(redis_url) as capture:
        Replay(recording, backend, capture, SyncDriver(client), normalizer, values).run_all(steps)


def test_failure_management(redis_url: str, client: redis.Redis) -> None:
    backend = RedisBackend(Keys(), clock=lambda: RETRIED_AT)
    replay_scenario("failure_management", backend, MANAGEMENT_STEPS, redis_url, client)


def test_failure_multi_queue(redis_url: str, client: redis.Redis) -> None:
    backend = RedisMultiQueueBackend(Keys(), clock=lambda: RETRIED_AT)
    replay_scenario("failure_multi_queue", backend, MULTI_QUEUE_STEPS, redis_url, client)


def test_requeue_in_a_non_utc_zone(redis_url: str, client: redis.Redis) -> None:
    """time_formats_non_utc: ``retried_at`` carries the zone abbreviation (EST) as well."""
    backend = RedisBackend(Keys(), clock=lambda: datetime(2026, 11, 28, 2, 18, 40, tzinfo=EST))
    replay_scenario("time_formats_non_utc", backend, NON_UTC_STEPS, redis_url, client)


def test_the_expectation_rewrites_only_removals() -> None:
    ruby: list[Command] = [
        ["lindex", "resque:failed", "0"],
        ["lset", "resque:failed", "0", ""],
        ["lrem", "resque:failed", "1", ""],
        ["rpush", "resque:failed", "X"],
        ["lset", "resque:failed", "1", ""],
        ["lrem", "resque:failed", "1", ""],
    ]
    lists: dict[Value, list[Value]] = {"resque:failed": ["A", "B"]}
    assert python_commands(ruby, lists, reads_before_removal=True) == [
        ["lindex", "resque:failed", "0"],
        ["lindex", "resque:failed", "0"],
        ["lrem", "resque:failed", "1", "A"],
        ["rpush", "resque:failed", "X"],
        ["lindex", "resque:failed", "1"],
        ["lrem", "resque:failed", "1", "X"],
    ]
    assert lists == {"resque:failed": ["B"]}
