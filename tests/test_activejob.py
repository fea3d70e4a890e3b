"""ActiveJob both ways, against the recording of Rails 6.1 and a real Python worker.

The recording ``compat_tests/reference/activejob.json`` holds the exact bytes Rails'
``perform_later`` wrote through Resque's adapter for 22 jobs (every serializer of 6.1).
Here: Python writes the same bytes, a Python worker runs all 22 with the right Python
values, and bad job data becomes failure records with the payload intact.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis

from compat_tests import reference
from compat_tests.activejob_handlers import FLAKY_SWITCH, Person, received
from compat_tests.runtimes import read_performed
from resque_compat import JobRegistry, JsonStyle, NoQueueError, Resque
from resque_compat.activejob import (
    JOB_WRAPPER_CLASS,
    ActiveJobBridge,
    ActiveJobSerializationError,
    ActiveJobSettings,
    CalendarDuration,
    GlobalID,
    IndifferentDict,
    RubyDateTime,
    RubyDuration,
    RubyModule,
    RubyRange,
    RubyTime,
    Symbol,
    SymbolKeysDict,
    TimeWithZone,
    activejob,
    activejob_bridge,
    activejob_payload,
    configure_activejob,
    current_job,
    parse_enqueued_at,
    rails_json_style,
)
from resque_compat.aio import AsyncResque
from resque_compat.codec import encode
from resque_compat.connection import RedisSettings
from resque_compat.failure import RedisBackend
from resque_compat.store import SyncDriver
from tests.workerproc import PythonWorker

RECORDING = reference.load("activejob")
HANDLERS = ("--app", "compat_tests.activejob_handlers")
ALL_QUEUES = "default,mailers,other,critical"
UTC = timezone.utc
PLUS9 = timezone(timedelta(hours=9))
PLUS3 = timezone(timedelta(hours=3))
TOKYO = ActiveJobSettings(timezone="Tokyo")
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
ENQUEUED_AT_61 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


@dataclass(frozen=True)
class Case:
    """One recorded ``perform_later``: the Python call writing the same bytes, and what a
    Python handler receives from Ruby's bytes (``received``; the same values when None)."""

    job_class: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str = "default"
    priority: int | None = None
    settings: ActiveJobSettings = field(default_factory=ActiveJobSettings)
    received: tuple[Any, ...] | None = None
    fails: tuple[str, str] | None = None

    @property
    def expected(self) -> tuple[Any, ...]:
        return self.args if self.received is None else self.received


# In the recording's order of RPUSHes (ruby_calls 0-17, 20, 23-25).
CASES: list[Case] = [
    Case("ArgsJob", (1, -2, 2.5, "str", None, True, False)),
    Case("ArgsJob", (2**70, 1.0e20)),
    Case("ArgsJob", ("</script> & <b>", "café 😀")),
    Case("ArgsJob", ([1, "a", [None, True]],)),
    Case("ArgsJob", ({"a": 1, "b": {"c": "d"}},)),
    Case(
        "ArgsJob",
        ({Symbol("a"): 1, Symbol("b"): {Symbol("c"): "d"}},),
        received=(
            SymbolKeysDict(
                {"a": 1, "b": SymbolKeysDict({"c": "d"}, symbol_keys=["c"])}, symbol_keys=["a", "b"]
            ),
        ),
    ),
    Case("ArgsJob", (IndifferentDict({"a": 1, "b": 2}),)),
    Case("ArgsJob", (Symbol("a_symbol"),)),
    Case("ArgsJob", (RubyTime(2001, 2, 3, 4, 5, 6, 123456, UTC, nanosecond=789),)),
    Case(
        "ArgsJob",
        (datetime(2001, 2, 3, 4, 5, 6, tzinfo=PLUS9),),
        received=(RubyTime(2001, 2, 3, 4, 5, 6, tzinfo=PLUS9),),
    ),
    Case("ArgsJob", (RubyDateTime(2001, 2, 3, 4, 5, 6, tzinfo=PLUS3),)),
    Case("ArgsJob", (date(2001, 2, 3),)),
    Case("ArgsJob", (TimeWithZone(2001, 2, 3, 13, 5, 6, 123456, PLUS9, nanosecond=789),)),
    Case(
        "ArgsJob",
        (RubyDuration(93600, [("days", 1), ("hours", 2)]), timedelta(seconds=90)),
        received=(RubyDuration(93600, [("days", 1), ("hours", 2)]), RubyDuration(90)),
    ),
    Case(
        "ArgsJob",
        (Decimal("1.5"), Decimal("123456789.000000001")),
        received=("1.5", "123456789.000000001"),
    ),
    Case("ArgsJob", (RubyModule("String"), RubyModule("Comparable"))),
    Case("ArgsJob", (1,), {"key": "value", "other": 2}),
    Case("ArgsJob", (Person(42),)),
    Case("ArgsJob", ("with queue and priority",), queue="other", priority=7),
    Case("MailerishJob", (Person(7), {"locale": "en"}), queue="mailers"),
    Case("FailingJob", ("x",), queue="critical", settings=TOKYO, fails=("ValueError", "boom x")),
    Case("RetryingJob", (), fails=("ZeroDivisionError", "divided by 0")),
]


@dataclass(frozen=True)
class Recorded:
    """One RPUSH of the recording: its queue, Ruby's exact bytes and its job data."""

    queue: str
    raw: bytes

    @property
    def job_data(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.raw)["args"][0]
        return data


def recorded_pushes() -> list[Recorded]:
    """The RPUSHes in order, with the un-normalised bytes of ``raw_examples``.

    Each raw payload is checked against its normalised command, so the pairing of the two
    lists cannot drift.
    """
    pending = {q: list(raws) for q, raws in RECORDING.raw_examples["queue_payloads"].items()}
    pushes: list[Recorded] = []
    for command in RECORDING.commands:
        if command[0] != "rpush" or not str(command[1]).startswith("resque:queue:"):
            continue
        queue = str(command[1]).removeprefix("resque:queue:")
        raw = pending[queue].pop(0)
        document = json.loads(raw)["args"][0]
        normalised = raw.replace(document["job_id"], "<UUID>").replace(
            document["enqueued_at"], "<TIME_ISO8601_UTC>"
        )
        assert normalised == command[2]
        pushes.append(Recorded(queue, raw.encode()))
    return pushes


PUSHES = recorded_pushes()


def test_the_cases_cover_every_recorded_payload() -> None:
    assert len(PUSHES) == len(CASES) == 22
    for case, push in zip(CASES, PUSHES, strict=True):
        assert (push.job_data["job_class"], push.queue) == (case.job_class, case.queue)


def assert_same(actual: Any, expected: Any, where: str = "value") -> None:
    """Equal values of the very same types all the way down (a SymbolKeysDict is no dict,
    a RubyTime keeps its nanoseconds, 1 is not 1.0)."""
    assert type(actual) is type(expected), f"{where}: {actual!r} is not {expected!r}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), f"{where}: keys {list(actual)} != {list(expected)}"
        assert getattr(actual, "symbol_keys", None) == getattr(expected, "symbol_keys", None)
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{where}: {actual!r} != {expected!r}"
        for index, (item, want) in enumerate(zip(actual, expected, strict=True)):
            assert_same(item, want, f"{where}[{index}]")
    elif isinstance(expected, (datetime, timedelta)):
        assert repr(actual) == repr(expected), where
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


# --------------------------------------------------------------------------- producing


@pytest.mark.parametrize(
    ("case", "push"),
    [pytest.param(c, p, id=f"push{i}") for i, (c, p) in enumerate(zip(CASES, PUSHES, strict=True))],
)
def test_python_writes_rubys_bytes(case: Case, push: Recorded) -> None:
    """Byte for byte, given the recorded job_id and enqueued_at."""
    bridge = ActiveJobBridge(case.settings)
    recorded = push.job_data
    job_data = bridge.job_data(
        case.job_class,
        case.args,
        case.kwargs,
        queue=case.queue,
        priority=case.priority,
        job_id=recorded["job_id"],
        enqueued_at=parse_enqueued_at(recorded["enqueued_at"]),
    )
    assert activejob_payload(bridge, job_data) == push.raw


def test_enqueue_activejob_sends_rubys_commands(redis_url: str) -> None:
    """The client's SADD + RPUSH for all 22 jobs equal the recording after normalisation."""
    registry = JobRegistry()
    client = Resque.from_url(redis_url, registry=registry)
    with reference.CommandCapture(redis_url) as capture:
        for case in CASES:
            configure_activejob(case.settings, registry=registry)
            client.enqueue_activejob(
                case.job_class, *case.args, queue=case.queue, priority=case.priority, **case.kwargs
            )
    client.close()
    normalised = RECORDING.normalizer(now=datetime.now(UTC)).commands(capture.commands)
    assert normalised == RECORDING.commands[:44]


def test_enqueued_job_data_is_fresh(redis_url: str, raw_redis: redis.Redis) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    with Resque.from_url(redis_url, registry=JobRegistry()) as client:
        first = client.enqueue_activejob("ArgsJob", 1, queue="default")
        second = client.enqueue_activejob("ArgsJob", 1, queue="default")
    after = datetime.now(UTC)
    assert first is not None and second is not None
    assert UUID4.fullmatch(first) and UUID4.fullmatch(second) and first != second
    stored = [json.loads(raw) for raw in raw_redis.lrange("resque:queue:default", 0, -1)]
    for document, job_id in zip(stored, (first, second), strict=True):
        assert list(document) == ["class", "args"] and document["class"] == JOB_WRAPPER_CLASS
        job_data = document["args"][0]
        assert list(job_data) == list(PUSHES[0].job_data)
        assert job_data["job_id"] == job_id
        assert ENQUEUED_AT_61.fullmatch(job_data["enqueued_at"])
        assert before <= parse_enqueued_at(job_data["enqueued_at"]) <= after
        assert (job_data["executions"], job_data["exception_executions"]) == (0, {})
        assert (job_data["locale"], job_data["timezone"]) == ("en", "UTC")
    assert raw_redis.smembers("resque:queues") == {b"default"}


def test_settings_choose_locale_timezone_and_a_newer_form(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    registry = JobRegistry()
    settings = ActiveJobSettings(locale="de", timezone="Tokyo", rails_version="7.1")
    configure_activejob(settings, registry=registry)
    with Resque.from_url(redis_url, registry=registry) as client:
        client.enqueue_activejob("ArgsJob", Decimal("1.50"), queue="default")
    job_data = json.loads(raw_redis.lindex("resque:queue:default", 0) or b"")["args"][0]
    assert (job_data["locale"], job_data["timezone"]) == ("de", "Tokyo")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", job_data["enqueued_at"])
    assert list(job_data)[-2:] == ["enqueued_at", "scheduled_at"]
    assert job_data["scheduled_at"] is None
    assert job_data["arguments"] == [
        {"_aj_serialized": "ActiveJob::Serializers::BigDecimalSerializer", "value": "1.5"}
    ]


def test_queue_comes_from_the_registration(redis_url: str, raw_redis: redis.Redis) -> None:
    registry = JobRegistry()
    activejob("ArchiveJob", queue="archives", registry=registry)(lambda *args: None)
    activejob_bridge(registry).declare("ReportJob", "reports")
    with Resque.from_url(redis_url, registry=registry) as client:
        client.enqueue_activejob("ArchiveJob", 1)
        client.enqueue_activejob("ReportJob", 2)
        client.enqueue_activejob("ReportJob", 3, queue="urgent")
        with pytest.raises(NoQueueError, match="UnknownJob"):
            client.enqueue_activejob("UnknownJob", 4)
    assert raw_redis.smembers("resque:queues") == {b"archives", b"reports", b"urgent"}
    job_data = json.loads(raw_redis.lindex("resque:queue:urgent", 0) or b"")["args"][0]
    assert (job_data["job_class"], job_data["queue_name"]) == ("ReportJob", "urgent")


def test_enqueue_hooks_and_queue_checks_apply(redis_url: str, raw_redis: redis.Redis) -> None:
    """An ActiveJob enqueue goes through the client's path of every job: the bridge's
    before_enqueue hook can refuse it, after_enqueue sees the job data, and the queue name
    is checked as ``enqueue_to`` checks it (NoQueueError, not an ActiveJob error)."""
    registry = JobRegistry()
    bridge = activejob_bridge(registry)
    seen: list[tuple[str, str]] = []

    @bridge.hook("before_enqueue")
    def only_reports(job_data: dict[str, Any]) -> bool:
        seen.append(("before", job_data["job_class"]))
        return bool(job_data["job_class"] == "ReportJob")

    @bridge.hook("after_enqueue")
    def after(job_data: dict[str, Any]) -> None:
        seen.append(("after", job_data["job_id"]))

    with Resque.from_url(redis_url, registry=registry) as client:
        assert client.enqueue_activejob("ArchiveJob", 1, queue="default") is None
        job_id = client.enqueue_activejob("ReportJob", 2, queue="default")
        with pytest.raises(NoQueueError):
            client.enqueue_activejob("ReportJob", 3, queue="")
    assert seen == [("before", "ArchiveJob"), ("before", "ReportJob"), ("after", job_id)]
    [queued] = raw_redis.lrange("resque:queue:default", 0, -1)
    assert json.loads(queued)["args"][0]["job_class"] == "ReportJob"


class NoGlobalID:
    """An application object that is no model."""


REFUSED = [
    pytest.param((datetime(2001, 2, 3),), {}, "naive datetime", id="naive-datetime"),
    pytest.param(({1, 2},), {}, "Set", id="set"),
    pytest.param((float("nan"),), {}, "null", id="nan"),
    pytest.param((NoGlobalID(),), {}, "Unsupported argument type: NoGlobalID", id="object"),
    pytest.param(({1: "integer key"},), {}, "Only string and symbol hash keys", id="int-key"),
    pytest.param(({"_aj_globalid": 1},), {}, "reserved key", id="reserved-key"),
    pytest.param((RubyRange(1, 5),), {}, "rails_version >= 7.0", id="range-for-6.1"),
    pytest.param((), {"when": datetime(2001, 2, 3)}, "naive datetime", id="bad-kwarg"),
    pytest.param(("\udc80",), {}, "not valid UTF-8", id="lone-surrogate"),
]


@pytest.mark.parametrize(("args", "kwargs", "message"), REFUSED)
def test_refused_values_send_nothing(
    redis_url: str,
    raw_redis: redis.Redis,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    message: str,
) -> None:
    with (
        Resque.from_url(redis_url, registry=JobRegistry()) as client,
        pytest.raises(ValueError, match=message),
    ):
        client.enqueue_activejob("ArgsJob", "ok", *args, queue="default", **kwargs)
    assert raw_redis.keys("*") == []


def test_models_become_globalids_through_the_settings(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    registry = JobRegistry()

    def globalid_for(value: Any) -> GlobalID | None:
        return GlobalID.create("shop", "Order", value.number) if isinstance(value, Order) else None

    configure_activejob(ActiveJobSettings(globalid_for=globalid_for), registry=registry)
    with Resque.from_url(redis_url, registry=registry) as client:
        client.enqueue_activejob("ArgsJob", Order("A/1"), Person(3), queue="default")
        with pytest.raises(ActiveJobSerializationError):
            client.enqueue_activejob("ArgsJob", NoGlobalID(), queue="default")
    job_data = json.loads(raw_redis.lindex("resque:queue:default", 0) or b"")["args"][0]
    assert job_data["arguments"] == [
        {"_aj_globalid": "gid://shop/Order/A%2F1"},
        {"_aj_globalid": "gid://refapp/Person/3"},
    ]


@dataclass(frozen=True)
class Order:
    number: str


def test_rails_keyword_names_that_look_like_ours(redis_url: str, raw_redis: redis.Redis) -> None:
    """``job_class`` is positional-only, so a Rails keyword of that name still gets through."""
    with Resque.from_url(redis_url, registry=JobRegistry()) as client:
        client.enqueue_activejob("ArgsJob", queue="default", job_class="x")
    job_data = json.loads(raw_redis.lindex("resque:queue:default", 0) or b"")["args"][0]
    assert job_data["arguments"] == [{"job_class": "x", "_aj_ruby2_keywords": ["job_class"]}]


def test_json_follows_the_rails_process() -> None:
    assert rails_json_style(JsonStyle.JSON_GEM) is JsonStyle.ACTIVESUPPORT
    assert rails_json_style(JsonStyle.OJ) is JsonStyle.ACTIVESUPPORT_OJ
    assert rails_json_style(JsonStyle.ACTIVESUPPORT) is JsonStyle.ACTIVESUPPORT
    bridge = ActiveJobBridge()
    job_data = bridge.job_data("ArgsJob", ["<b>", -0.0], {}, queue="q", job_id="j")
    assert b'"\\u003cb\\u003e",-0.0' in activejob_payload(bridge, job_data)
    assert b'"<b>",0.0' in activejob_payload(bridge, job_data, JsonStyle.OJ)  # Oj's rules
    plain = ActiveJobBridge(ActiveJobSettings(json_style=JsonStyle.JSON_GEM))
    assert b'"<b>"' in activejob_payload(plain, job_data)


def test_asyncio_client_writes_the_same(redis_url: str, raw_redis: redis.Redis) -> None:
    case = CASES[17]  # a GlobalID

    async def enqueue() -> str:
        async with AsyncResque.from_url(redis_url, registry=JobRegistry()) as client:
            job_id = await client.enqueue_activejob("ArgsJob", *case.args, queue="default")
        assert job_id is not None
        return job_id

    job_id = asyncio.run(enqueue())
    raw = raw_redis.lindex("resque:queue:default", 0) or b""
    job_data = json.loads(raw)["args"][0]
    assert job_data["job_id"] == job_id
    recorded = PUSHES[17].raw.replace(PUSHES[17].job_data["job_id"].encode(), job_id.encode())
    assert raw == recorded.replace(
        PUSHES[17].job_data["enqueued_at"].encode(), job_data["enqueued_at"].encode()
    )


def test_inline_mode_performs_now(redis_url: str, raw_redis: redis.Redis) -> None:
    registry = JobRegistry()
    seen: list[tuple[tuple[Any, ...], dict[str, Any], str | None, int]] = []

    @activejob("ArgsJob", registry=registry)
    def handler(*args: Any, **kwargs: Any) -> None:
        seen.append((args, kwargs, current_job().job_id, current_job().executions))

    with Resque.from_url(redis_url, registry=registry, inline=True) as client:
        job_id = client.enqueue_activejob("ArgsJob", Symbol("a"), date(2001, 2, 3), queue="q", n=1)
    assert seen == [((Symbol("a"), date(2001, 2, 3)), {"n": 1}, job_id, 1)]
    assert raw_redis.keys("*") == []
    with pytest.raises(LookupError, match="only available while an ActiveJob handler runs"):
        current_job()


def test_a_registry_has_one_bridge() -> None:
    registry = JobRegistry()
    bridge = activejob_bridge(registry)
    assert activejob_bridge(registry) is bridge and registry.lookup(JOB_WRAPPER_CLASS) is bridge

    def handler() -> None: ...

    assert activejob("A", registry=registry)(handler) is handler
    activejob("A", registry=registry)(handler)
    with pytest.raises(ValueError, match="different handler"):
        activejob("A", registry=registry)(lambda: None)
    taken = JobRegistry()
    taken.register_function(JOB_WRAPPER_CLASS, lambda job_data: None)
    with pytest.raises(ValueError, match="plain job"):
        activejob_bridge(taken)
    with pytest.raises(ValueError, match=r"Rails 5\.2 is not supported"):
        ActiveJobSettings(rails_version="5.2")


# --------------------------------------------------------------------------- consuming


def push_raw(raw_redis: redis.Redis, queue: str, *payloads: bytes) -> None:
    raw_redis.sadd("resque:queues", queue)
    raw_redis.rpush(f"resque:queue:{queue}", *payloads)


def failures(raw_redis: redis.Redis) -> list[dict[str, Any]]:
    return [json.loads(item) for item in raw_redis.lrange("resque:failed", 0, -1)]


def run_worker(redis_url: str, queues: str, *args: str) -> str:
    with PythonWorker(redis_url, queues, "--interval", "0", *HANDLERS, *args) as worker:
        assert worker.wait() == 0, worker.output()
        return worker.output()


def newer_rails_payload() -> tuple[bytes, tuple[Any, ...], dict[str, Any]]:
    """A Rails 7.2/8.x job (constructed: the recording is 6.1): newer serializers and fields."""
    args: tuple[Any, ...] = (
        RubyRange(1, None, exclude_end=False),
        RubyRange(date(2001, 2, 3), date(2001, 3, 3), exclude_end=True),
        Decimal("0.1"),
        TimeWithZone(2001, 2, 3, 13, 5, 6, tzinfo=ZoneInfo("Asia/Tokyo"), zone="Asia/Tokyo"),
        CalendarDuration(2629746, (("months", 1),)),
    )
    bridge = ActiveJobBridge(ActiveJobSettings(rails_version="7.2"))
    job_data = bridge.job_data("ArgsJob", args, {"opt": Symbol("x")}, queue="default")
    job_data["scheduled_at"] = "2001-02-03T04:05:06.000000000Z"
    return activejob_payload(bridge, job_data), args, {"opt": Symbol("x")}


def test_a_python_worker_runs_every_recorded_job(redis_url: str, raw_redis: redis.Redis) -> None:
    for push in PUSHES:
        push_raw(raw_redis, push.queue, push.raw)
    newer, newer_args, newer_kwargs = newer_rails_payload()
    push_raw(raw_redis, "default", newer)
    run_worker(redis_url, ALL_QUEUES)

    by_id = {}
    for entry in read_performed(redis_url):
        job_class, args, kwargs, context = received(entry)
        by_id[context["job_id"]] = (job_class, args, kwargs, context)
    succeeding = [(c, p) for c, p in zip(CASES, PUSHES, strict=True) if c.fails is None]
    assert len(by_id) == len(succeeding) + 1
    for index, (case, push) in enumerate(succeeding):
        recorded = push.job_data
        job_class, args, kwargs, context = by_id[recorded["job_id"]]
        assert job_class == case.job_class
        assert_same(args, list(case.expected), f"case {index} args")
        assert_same(kwargs, case.kwargs, f"case {index} kwargs")
        assert context == {
            "job_id": recorded["job_id"],
            "queue_name": case.queue,
            "priority": case.priority,
            "executions": 1,
            "exception_executions": {},
            "locale": "en",
            "timezone": "UTC",
            "enqueued_at": parse_enqueued_at(recorded["enqueued_at"]).isoformat(),
        }
    newer_id = json.loads(newer)["args"][0]["job_id"]
    _, args, kwargs, _ = by_id[newer_id]
    assert_same(args, list(newer_args), "newer args")
    assert_same(kwargs, newer_kwargs, "newer kwargs")

    failed = {(f["payload"]["args"][0]["job_class"], f["queue"]): f for f in failures(raw_redis)}
    for case, push in zip(CASES, PUSHES, strict=True):
        if case.fails is not None:
            record = failed.pop((case.job_class, case.queue))
            assert (record["exception"], record["error"]) == case.fails
            assert record["payload"] == json.loads(push.raw)
            assert record["backtrace"] and "activejob_handlers.py" in record["backtrace"][0]
    assert not failed
    assert raw_redis.get("resque:stat:processed") == str(len(PUSHES) + 1).encode()
    assert raw_redis.get("resque:stat:failed") == b"2"


def wrapper(job_data: Any) -> bytes:
    return encode({"class": JOB_WRAPPER_CLASS, "args": [job_data]})


def job_data(**changes: Any) -> dict[str, Any]:
    base = dict(PUSHES[0].job_data)
    base.update(changes)
    return base


def gid(uri: str) -> dict[str, str]:
    return {"_aj_globalid": uri}


BAD = [
    (wrapper(job_data(job_class="NoSuchJob")), "UnknownActiveJobError", "'NoSuchJob'"),
    (
        wrapper(job_data(arguments=[{"_aj_serialized": "ActiveJob::Serializers::NopeSerializer"}])),
        "ActiveJob::DeserializationError",
        "Serializer ActiveJob::Serializers::NopeSerializer is not known",
    ),
    (
        wrapper(job_data(arguments=[gid("gid://refapp/Person/404")])),
        "ActiveJob::DeserializationError",
        "Couldn't find Person with id '404'",
    ),
    (
        wrapper(job_data(arguments=[gid("gid://refapp/Invoice/1")])),
        "ActiveJob::DeserializationError",
        "no GlobalID locator for Invoice",
    ),
    (wrapper(job_data(arguments="1")), "ActiveJob::DeserializationError", "must be an Array"),
    (wrapper(job_data(job_class=None)), "InvalidJobDataError", "no 'job_class'"),
    (wrapper(job_data(executions="0")), "InvalidJobDataError", "'executions' must be int"),
    (wrapper(job_data(enqueued_at="yesterday")), "InvalidJobDataError", "not an ISO 8601 time"),
    (wrapper("not a hash"), "InvalidJobDataError", "takes one argument, the job data hash"),
    (
        encode({"class": JOB_WRAPPER_CLASS, "args": [job_data(), 2]}),
        "InvalidJobDataError",
        "takes one argument",
    ),
    (
        wrapper(job_data(arguments=["one", "two"], job_class="FailingJob")),
        "TypeError",
        "positional",
    ),
]


@pytest.mark.parametrize(
    "mode", [pytest.param([], id="fork"), pytest.param(["--no-fork"], id="nofork")]
)
def test_bad_job_data_is_a_failure_with_the_payload_intact(
    redis_url: str, raw_redis: redis.Redis, mode: list[str]
) -> None:
    good = PUSHES[0].raw
    push_raw(raw_redis, "default", *(raw for raw, _, _ in BAD), good)
    run_worker(redis_url, "default", *mode)
    records = failures(raw_redis)
    assert len(records) == len(BAD)
    for record, (raw, exception, message) in zip(records, BAD, strict=True):
        assert encode(record["payload"]) == raw
        assert record["exception"] == exception, record
        assert message in record["error"], record
        assert record["queue"] == "default"
    [entry] = read_performed(redis_url)
    assert received(entry)[1] == [1, -2, 2.5, "str", None, True, False]


def test_requeued_failure_runs_again(redis_url: str, raw_redis: redis.Redis) -> None:
    """A failing job is recorded as Ruby records it; ``requeue`` runs it again, unchanged."""
    registry = JobRegistry()
    activejob("FlakyJob", queue="default", registry=registry)(lambda *args: None)
    with Resque.from_url(redis_url, registry=registry) as client:
        job_id = client.enqueue_activejob("FlakyJob", "report.pdf", size=3)
    queued = raw_redis.lindex("resque:queue:default", 0) or b""
    run_worker(redis_url, "default")
    [record] = failures(raw_redis)
    assert (record["exception"], record["error"]) == ("RuntimeError", "not yet (1)")
    assert encode(record["payload"], JsonStyle.ACTIVESUPPORT) == queued
    raw_redis.set(FLAKY_SWITCH, "1")
    settings = RedisSettings.from_url(redis_url)
    with settings.client() as connection:
        SyncDriver(connection).run(RedisBackend(settings.keys).requeue(0))
    assert raw_redis.lindex("resque:queue:default", 0) == encode(json.loads(queued))
    run_worker(redis_url, "default")
    [entry] = read_performed(redis_url)
    job_class, args, kwargs, context = received(entry)
    assert (job_class, args, kwargs) == ("FlakyJob", ["report.pdf"], {"size": 3})
    assert (context["job_id"], context["executions"]) == (job_id, 1)
    [record] = failures(raw_redis)
    assert "retried_at" in record


def test_handler_values_for_each_rails_form() -> None:
    """In process, through the JobWrapper JobSpec: what each Rails version's form gives."""
    registry = JobRegistry()
    seen: list[tuple[Any, ...]] = []
    activejob("ArgsJob", registry=registry)(lambda *args: seen.append(args))
    value = TimeWithZone(2001, 2, 3, 13, 5, 6, tzinfo=ZoneInfo("Asia/Tokyo"), zone="Asia/Tokyo")
    for version in ("6.1", "7.0", "7.1", "7.2", "8.0", "8.1"):
        bridge = ActiveJobBridge(ActiveJobSettings(rails_version=version))
        data = bridge.job_data("ArgsJob", [value, Decimal("2.5")], {}, queue="q")
        registry.lookup(JOB_WRAPPER_CLASS).run([data])
    forms = [(twz.zone, dec) for twz, dec in seen]
    assert (
        forms
        == [(None, "2.5"), (None, "2.5"), (None, Decimal("2.5"))]
        + [("Asia/Tokyo", Decimal("2.5"))] * 3
    )
    assert all(type(args[0]) is TimeWithZone and args[0] == value for args in seen)
