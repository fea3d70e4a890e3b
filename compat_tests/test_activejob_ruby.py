"""ActiveJob between real Rails (ActiveJob 6.1 on Ruby Resque) and Python, both ways.

* Ruby's ``perform_later`` (``ActiveJob::Base.queue_adapter = :resque``), one job per
  serializer, performed by a Python worker: the handler gets the right Python values.
* Python's ``enqueue_activejob`` performed by a real Ruby Resque worker running the Rails
  job class: the job gets the right Ruby values (class and ``inspect`` of each).
* A failure in either runtime, retried from the other, runs again where it is taken.

The Ruby side is ``ruby_fixtures/activejob_boot.rb`` (ActiveJob set up as in a Rails app)
and ``activejob_jobs.rb``; the Python side is ``compat_tests/activejob_handlers.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import redis

from compat_tests.activejob_handlers import FLAKY_SWITCH, Person, received
from compat_tests.runtimes import (
    RUBY_FIXTURES,
    read_performed,
    requires_ruby,
    ruby_eval,
    run_ruby,
)
from resque_compat import JobRegistry, Resque
from resque_compat.activejob import (
    ActiveJobSettings,
    CalendarDuration,
    IndifferentDict,
    RubyDateTime,
    RubyDuration,
    RubyModule,
    RubyTime,
    Symbol,
    SymbolKeysDict,
    TimeWithZone,
    configure_activejob,
)
from resque_compat.connection import RedisSettings
from resque_compat.devserver import RedisServerProcess
from resque_compat.failure import RedisBackend
from resque_compat.store import SyncDriver
from tests.test_activejob import assert_same
from tests.workerproc import PythonWorker

pytestmark = requires_ruby

BOOT = f"require {str(RUBY_FIXTURES / 'activejob_boot.rb')!r}\n"
HANDLERS = ("--app", "compat_tests.activejob_handlers")
QUEUES = "default,other"
UTC = timezone.utc
PLUS9 = timezone(timedelta(hours=9))
PLUS3 = timezone(timedelta(hours=3))


# --------------------------------------------------------------------------- Ruby -> Python


@dataclass(frozen=True)
class FromRuby:
    """A ``perform_later`` in Ruby and what the Python handler must receive."""

    ruby: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)


NANO_TIME = 'Time.utc(2001, 2, 3, 4, 5, Rational("6.123456789"))'
FROM_RUBY = {
    "scalars": FromRuby(
        'ArgsJob.perform_later(1, -2, 2.5, "str", nil, true, false)',
        (1, -2, 2.5, "str", None, True, False),
    ),
    "big-numbers": FromRuby("ArgsJob.perform_later(2**70, 1.0e20)", (2**70, 1.0e20)),
    "strings": FromRuby(
        'ArgsJob.perform_later("</script> & <b>", "caf\\u00e9 \\u{1F600}")',
        ("</script> & <b>", "café 😀"),
    ),
    "array": FromRuby('ArgsJob.perform_later([1, "a", [nil, true]])', ([1, "a", [None, True]],)),
    "hash": FromRuby(
        'ArgsJob.perform_later({ "a" => 1, "b" => { "c" => "d" } })',
        ({"a": 1, "b": {"c": "d"}},),
    ),
    "symbol-keys": FromRuby(
        'ArgsJob.perform_later({ a: 1, "b" => { c: "d" } })',
        (
            SymbolKeysDict(
                {"a": 1, "b": SymbolKeysDict({"c": "d"}, symbol_keys=["c"])}, symbol_keys=["a"]
            ),
        ),
    ),
    "indifferent-access": FromRuby(
        'ArgsJob.perform_later({ "a" => 1, b: [2] }.with_indifferent_access)',
        (IndifferentDict({"a": 1, "b": [2]}),),
    ),
    "symbol": FromRuby("ArgsJob.perform_later(:a_symbol)", (Symbol("a_symbol"),)),
    "time": FromRuby(
        f"ArgsJob.perform_later({NANO_TIME})",
        (RubyTime(2001, 2, 3, 4, 5, 6, 123456, UTC, nanosecond=789),),
    ),
    "time-offset": FromRuby(
        'ArgsJob.perform_later(Time.new(2001, 2, 3, 4, 5, 6, "+09:00"))',
        (RubyTime(2001, 2, 3, 4, 5, 6, tzinfo=PLUS9),),
    ),
    "datetime": FromRuby(
        'ArgsJob.perform_later(DateTime.new(2001, 2, 3, 4, 5, 6, "+03:00"))',
        (RubyDateTime(2001, 2, 3, 4, 5, 6, tzinfo=PLUS3),),
    ),
    "date": FromRuby("ArgsJob.perform_later(Date.new(2001, 2, 3))", (date(2001, 2, 3),)),
    "time-with-zone": FromRuby(
        f'ArgsJob.perform_later({NANO_TIME}.in_time_zone("Tokyo"))',
        (TimeWithZone(2001, 2, 3, 13, 5, 6, 123456, PLUS9, nanosecond=789),),
    ),
    "duration": FromRuby(
        "ArgsJob.perform_later(1.day + 2.hours, 90.seconds, 1.month)",
        (
            RubyDuration(93600, [("days", 1), ("hours", 2)]),
            RubyDuration(90),
            CalendarDuration(2629746, (("months", 1),)),
        ),
    ),
    "big-decimal": FromRuby('ArgsJob.perform_later(BigDecimal("1.5"))', ("1.5",)),
    "module": FromRuby(
        "ArgsJob.perform_later(String, Comparable)",
        (RubyModule("String"), RubyModule("Comparable")),
    ),
    "keywords": FromRuby(
        'ArgsJob.perform_later(1, key: "value", other: { "x" => :y })',
        (1,),
        {"key": "value", "other": {"x": Symbol("y")}},
    ),
    "globalid": FromRuby("ArgsJob.perform_later(Person.new(42))", (Person(42),)),
    "queue-and-priority": FromRuby(
        'ArgsJob.set(queue: "other", priority: 7).perform_later("x")',
        ("x",),
        context={"queue_name": "other", "priority": 7},
    ),
    "locale-and-zone": FromRuby(
        'I18n.with_locale(:de) { Time.use_zone("Tokyo") { ArgsJob.perform_later("z") } }',
        ("z",),
        context={"locale": "de", "timezone": "Tokyo"},
    ),
}


@pytest.fixture(scope="module")
def performed_from_ruby(redis_server: RedisServerProcess) -> dict[str, tuple[Any, ...]]:
    """Enqueue every case from Ruby, run one Python worker over them; results by case id."""
    client = redis.Redis(port=redis_server.port)
    client.flushall()
    client.close()
    calls = "".join(f"ids << {case.ruby}.job_id\n" for case in FROM_RUBY.values())
    job_ids = ruby_eval(f"{BOOT}ids = []\n{calls}ids", redis_server.url)
    with PythonWorker(redis_server.url, QUEUES, "--interval", "0", *HANDLERS) as worker:
        assert worker.wait() == 0, worker.output()
    by_job_id = {}
    for entry in read_performed(redis_server.url):
        job_class, args, kwargs, context = received(entry)
        by_job_id[context["job_id"]] = (job_class, args, kwargs, context)
    return {case_id: by_job_id[job_id] for case_id, job_id in zip(FROM_RUBY, job_ids, strict=True)}


@pytest.mark.parametrize("case_id", list(FROM_RUBY))
def test_rails_job_runs_in_a_python_worker(
    performed_from_ruby: dict[str, tuple[Any, ...]], case_id: str
) -> None:
    case = FROM_RUBY[case_id]
    job_class, args, kwargs, context = performed_from_ruby[case_id]
    assert job_class == "ArgsJob"
    assert_same(args, list(case.args), "args")
    assert_same(kwargs, case.kwargs, "kwargs")
    expected_context = {
        "queue_name": "default",
        "priority": None,
        "executions": 1,
        "locale": "en",
        "timezone": "UTC",
    }
    expected_context.update(case.context)
    assert {key: context[key] for key in expected_context} == expected_context


# --------------------------------------------------------------------------- Python -> Ruby


def ruby_hash(cls: str, *items: tuple[list[Any], list[Any]]) -> list[Any]:
    return [cls, [[key, item] for key, item in items]]


def s(text: str) -> list[str]:
    return ["String", text]


def sym(name: str) -> list[str]:
    return ["Symbol", name]


def integer(number: int) -> list[str]:
    return ["Integer", str(number)]


@dataclass(frozen=True)
class ToRuby:
    """An ``enqueue_activejob`` call and what the Rails job must receive."""

    args: tuple[Any, ...]
    ruby_args: list[list[Any]]
    kwargs: dict[str, Any] = field(default_factory=dict)
    ruby_kwargs: list[Any] = field(default_factory=lambda: ["Hash", []])
    queue: str = "default"
    priority: int | None = None


TO_RUBY = {
    "scalars": ToRuby(
        (1, -2, 2.5, "str", None, True, False),
        [
            integer(1),
            integer(-2),
            ["Float", "2.5"],
            s("str"),
            ["NilClass", "nil"],
            ["TrueClass", "true"],
            ["FalseClass", "false"],
        ],
    ),
    "big-numbers": ToRuby((2**70, 1.0e20), [integer(2**70), ["Float", "1.0e+20"]]),
    "strings": ToRuby(("</script> & <b>", "café 😀"), [s("</script> & <b>"), s("café 😀")]),
    "array": ToRuby(
        ([1, "a", [None, True]],),
        [["Array", [integer(1), s("a"), ["Array", [["NilClass", "nil"], ["TrueClass", "true"]]]]]],
    ),
    "hash": ToRuby(
        ({"a": 1, "b": {"c": "d"}},),
        [ruby_hash("Hash", (s("a"), integer(1)), (s("b"), ruby_hash("Hash", (s("c"), s("d")))))],
    ),
    "symbol-keys": ToRuby(
        ({Symbol("a"): 1, "b": SymbolKeysDict({"c": "d"}, symbol_keys=["c"])},),
        [
            ruby_hash(
                "Hash", (sym("a"), integer(1)), (s("b"), ruby_hash("Hash", (sym("c"), s("d"))))
            )
        ],
    ),
    "indifferent-access": ToRuby(
        (IndifferentDict({"a": 1}),),
        [ruby_hash("ActiveSupport::HashWithIndifferentAccess", (s("a"), integer(1)))],
    ),
    "symbol": ToRuby((Symbol("a_symbol"),), [sym("a_symbol")]),
    "time": ToRuby(
        (RubyTime(2001, 2, 3, 4, 5, 6, 123456, UTC, nanosecond=789),),
        [["Time", "2001-02-03 04:05:06.123456789 UTC"]],
    ),
    "datetime-aware": ToRuby(
        (datetime(2001, 2, 3, 4, 5, 6, 500000, tzinfo=PLUS9),),
        [["Time", "2001-02-03 04:05:06.5 +0900"]],
    ),
    "ruby-datetime": ToRuby(
        (RubyDateTime(2001, 2, 3, 4, 5, 6, tzinfo=PLUS3),),
        [["DateTime", "Sat, 03 Feb 2001 04:05:06 +0300"]],
    ),
    "date": ToRuby((date(2001, 2, 3),), [["Date", "Sat, 03 Feb 2001"]]),
    "time-with-zone": ToRuby(
        (TimeWithZone(2001, 2, 3, 13, 5, 6, tzinfo=PLUS9),),
        [["ActiveSupport::TimeWithZone", "Sat, 03 Feb 2001 04:05:06.000000000 UTC +00:00"]],
    ),
    "durations": ToRuby(
        (
            timedelta(minutes=90),
            RubyDuration(93600, [("days", 1), ("hours", 2)]),
            CalendarDuration(2629746, (("months", 1),)),
        ),
        [
            ["ActiveSupport::Duration", "5400 seconds"],
            ["ActiveSupport::Duration", "1 day and 2 hours"],
            ["ActiveSupport::Duration", "1 month"],
        ],
    ),
    "decimal": ToRuby((Decimal("1.50"),), [s("1.5")]),
    "module": ToRuby(
        (RubyModule("String"), RubyModule("Comparable")),
        [["Class", "String"], ["Module", "Comparable"]],
    ),
    "keywords": ToRuby(
        (1,),
        [integer(1)],
        {"key": "value", "other": {"x": Symbol("y")}},
        ruby_hash(
            "Hash",
            (sym("key"), s("value")),
            (sym("other"), ruby_hash("Hash", (s("x"), sym("y")))),
        ),
    ),
    "globalid": ToRuby((Person(42),), [["Person", "#<Person id=42>"]]),
    "queue-and-priority": ToRuby(("x",), [s("x")], queue="other", priority=7),
}


@pytest.fixture(scope="module")
def performed_in_ruby(redis_server: RedisServerProcess) -> dict[str, dict[str, Any]]:
    """Enqueue every case from Python, run one Ruby worker over them; results by case id."""
    client = redis.Redis(port=redis_server.port)
    client.flushall()
    client.close()
    with Resque.from_url(redis_server.url, registry=JobRegistry()) as producer:
        job_ids = [
            producer.enqueue_activejob(
                "ArgsJob", *case.args, queue=case.queue, priority=case.priority, **case.kwargs
            )
            for case in TO_RUBY.values()
        ]
    run_ruby(
        "activejob_worker.rb", redis_server.url, env={"QUEUE": QUEUES, "INTERVAL": "0"}, timeout=90
    )
    by_job_id = {}
    for entry in read_performed(redis_server.url):
        assert entry["runtime"] == "ruby"
        [description] = entry["args"]
        by_job_id[description["job_id"]] = description
    return {case_id: by_job_id[job_id] for case_id, job_id in zip(TO_RUBY, job_ids, strict=True)}


@pytest.mark.parametrize("case_id", list(TO_RUBY))
def test_python_enqueued_job_runs_in_a_ruby_worker(
    performed_in_ruby: dict[str, dict[str, Any]], case_id: str
) -> None:
    case = TO_RUBY[case_id]
    description = performed_in_ruby[case_id]
    assert description["job"] == "ArgsJob"
    assert description["args"] == case.ruby_args
    assert description["kwargs"] == case.ruby_kwargs
    assert (description["queue_name"], description["priority"]) == (case.queue, case.priority)
    assert (description["executions"], description["locale"], description["timezone"]) == (
        1,
        "en",
        "UTC",
    )


def test_locale_and_timezone_settings_reach_the_rails_job(redis_url: str) -> None:
    registry = JobRegistry()
    configure_activejob(ActiveJobSettings(locale="de", timezone="Tokyo"), registry=registry)
    with Resque.from_url(redis_url, registry=registry) as producer:
        producer.enqueue_activejob(
            "ArgsJob", TimeWithZone(2001, 2, 3, 4, 5, 6, tzinfo=UTC), queue="default"
        )
    run_ruby("activejob_worker.rb", redis_url, env={"QUEUE": "default", "INTERVAL": "0"})
    [entry] = read_performed(redis_url)
    [description] = entry["args"]
    assert (description["locale"], description["timezone"]) == ("de", "Tokyo")
    # Rails 6.1 reads arguments before it switches to the job's zone, and its TimeWithZone
    # form has no zone name: the time arrives in the worker's default zone (7.2 writes one).
    assert description["args"] == [
        ["ActiveSupport::TimeWithZone", "Sat, 03 Feb 2001 04:05:06.000000000 UTC +00:00"]
    ]


# --------------------------------------------------------------------------- retries


def failures(raw_redis: redis.Redis) -> list[dict[str, Any]]:
    return [json.loads(item) for item in raw_redis.lrange("resque:failed", 0, -1)]


@pytest.fixture
def producer(redis_url: str) -> Iterator[Resque]:
    with Resque.from_url(redis_url, registry=JobRegistry()) as client:
        yield client


def test_ruby_failure_retried_by_python_runs_in_python(
    redis_url: str, raw_redis: redis.Redis, producer: Resque
) -> None:
    job_id = producer.enqueue_activejob("FlakyJob", "report", queue="default", size=3)
    queued = json.loads(raw_redis.lindex("resque:queue:default", 0) or b"")
    run_ruby("activejob_worker.rb", redis_url, env={"QUEUE": "default", "INTERVAL": "0"})
    [record] = failures(raw_redis)
    assert (record["exception"], record["error"]) == ("RuntimeError", "not yet (1)")
    assert record["payload"] == queued
    raw_redis.set(FLAKY_SWITCH, "1")
    settings = RedisSettings.from_url(redis_url)
    with settings.client() as connection:
        SyncDriver(connection).run(RedisBackend(settings.keys).requeue(0))
    with PythonWorker(redis_url, "default", "--interval", "0", *HANDLERS) as worker:
        assert worker.wait() == 0, worker.output()
    [entry] = read_performed(redis_url)
    assert entry["runtime"] == "python"
    job_class, args, kwargs, context = received(entry)
    assert (job_class, args, kwargs) == ("FlakyJob", ["report"], {"size": 3})
    assert (context["job_id"], context["executions"]) == (job_id, 1)


def test_python_failure_retried_by_ruby_runs_in_ruby(
    redis_url: str, raw_redis: redis.Redis, producer: Resque
) -> None:
    job_id = producer.enqueue_activejob("FlakyJob", Symbol("go"), queue="default")
    with PythonWorker(redis_url, "default", "--interval", "0", *HANDLERS) as worker:
        assert worker.wait() == 0, worker.output()
    [record] = failures(raw_redis)
    assert (record["exception"], record["error"]) == ("RuntimeError", "not yet (1)")
    raw_redis.set(FLAKY_SWITCH, "1")
    ruby_eval(f"{BOOT}Resque::Failure.requeue(0)\nnil", redis_url)
    run_ruby("activejob_worker.rb", redis_url, env={"QUEUE": "default", "INTERVAL": "0"})
    [entry] = read_performed(redis_url)
    assert entry["runtime"] == "ruby"
    [description] = entry["args"]
    assert (description["job"], description["job_id"]) == ("FlakyJob", job_id)
    assert (description["args"], description["executions"]) == ([sym("go")], 1)
    assert "retried_at" in failures(raw_redis)[0]
