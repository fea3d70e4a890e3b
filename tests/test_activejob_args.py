"""ActiveJob argument serialisation against Rails' own output.

The first half replays every JobWrapper payload of ``compat_tests/reference/activejob.json``
(ActiveJob 6.1.7 through Resque): decoding gives the Python values of a hand-written
table keyed by the Ruby call text, encoding those values gives Ruby's ``arguments``
exactly, and ``build_job_data`` rebuilds each recorded job-data hash, key order included.
The second half covers the forms newer Rails versions write (written from the Rails
sources at the tags named in each test) and the errors.
"""

from __future__ import annotations

import copy
import json
import pickle
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from resque_compat.activejob import (
    JOB_WRAPPER_CLASS,
    ActiveJobArgumentError,
    ActiveJobDeserializationError,
    ActiveJobSerializationError,
    CalendarDuration,
    GlobalID,
    IndifferentDict,
    JobDataOptions,
    RubyDateTime,
    RubyDuration,
    RubyModule,
    RubyRange,
    RubyTime,
    Symbol,
    SymbolKeysDict,
    TimeWithZone,
    build_job_data,
    deserialize_arguments,
    format_enqueued_at,
    serialize_arguments,
    wrap_job_data,
)
from resque_compat.errors import ResqueCompatError

REFERENCE = Path(__file__).resolve().parent.parent / "compat_tests" / "reference" / "activejob.json"
RECORDING: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
TIME_UTC_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
JOB_DATA_KEYS_61 = [
    "job_class",
    "job_id",
    "provider_job_id",
    "queue_name",
    "priority",
    "arguments",
    "executions",
    "exception_executions",
    "locale",
    "timezone",
    "enqueued_at",
]

UTC = timezone.utc
SER = "ActiveJob::Serializers::"


def tz(hours: int) -> tzinfo:
    return timezone(timedelta(hours=hours))


def sym(name: str) -> dict[str, str]:
    """SymbolSerializer's form, as it appears inside Duration parts."""
    return {"_aj_serialized": SER + "SymbolSerializer", "value": name}


@dataclass(frozen=True)
class Person:
    """Stands for the recording's Active Record model (``gid://refapp/Person/<id>``)."""

    id: int


def person_gid(value: Any) -> GlobalID | None:
    return GlobalID.create("refapp", "Person", value.id) if isinstance(value, Person) else None


@dataclass(frozen=True)
class Case:
    """What a recorded call decodes to, and the inputs that encode back to Ruby's bytes."""

    args: list[Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: further ways of writing the same arguments: (args, kwargs, serialize options)
    alternatives: tuple[tuple[list[Any], dict[str, Any], dict[str, Any]], ...] = ()


SYMBOL_KEYED: dict[Any, Any] = {Symbol("a"): 1, Symbol("b"): {Symbol("c"): "d"}}

SYMBOL_KEYED_INDIFFERENT: dict[Any, Any] = IndifferentDict()
SYMBOL_KEYED_INDIFFERENT[Symbol("a")] = 1  # HashWithIndifferentAccess stores keys as strings
SYMBOL_KEYED_INDIFFERENT["b"] = 2

CASES: dict[str, Case] = {
    'ArgsJob.perform_later(1, -2, 2.5, "str", nil, true, false)  # scalars': Case(
        [1, -2, 2.5, "str", None, True, False]
    ),
    "ArgsJob.perform_later(1180591620717411303424, 1.0e+20)"
    "  # big integer and float exponent": Case([2**70, 1.0e20]),
    'ArgsJob.perform_later("</script> & <b>", "café 😀")'
    "  # html-ish string (ActiveSupport JSON escaping)": Case(["</script> & <b>", "café 😀"]),
    'ArgsJob.perform_later([1, "a", [nil, true]])  # array': Case(
        [[1, "a", [None, True]]], alternatives=(([(1, "a", (None, True))], {}, {}),)
    ),
    'ArgsJob.perform_later({"a"=>1, "b"=>{"c"=>"d"}})  # hash with string keys': Case(
        [{"a": 1, "b": {"c": "d"}}]
    ),
    'ArgsJob.perform_later({:a=>1, :b=>{:c=>"d"}})  # hash with symbol keys': Case(
        [
            SymbolKeysDict(
                {"a": 1, "b": SymbolKeysDict({"c": "d"}, symbol_keys=["c"])}, symbol_keys=["a", "b"]
            )
        ],
        alternatives=(
            ([{"a": 1, "b": {"c": "d"}}], {}, {"symbol_keys": True}),
            ([SYMBOL_KEYED], {}, {}),
        ),
    ),
    'ArgsJob.perform_later({"a"=>1, "b"=>2})  # HashWithIndifferentAccess': Case(
        [IndifferentDict({"a": 1, "b": 2})],
        alternatives=(([SYMBOL_KEYED_INDIFFERENT], {}, {}),),
    ),
    "ArgsJob.perform_later(:a_symbol)  # Symbol": Case([Symbol("a_symbol")]),
    "ArgsJob.perform_later(2001-02-03 04:05:06.123456789 UTC)  # Time": Case(
        [RubyTime(2001, 2, 3, 4, 5, 6, 123456, UTC, nanosecond=789)]
    ),
    "ArgsJob.perform_later(2001-02-03 04:05:06 +0900)  # Time with offset": Case(
        [RubyTime(2001, 2, 3, 4, 5, 6, 0, tz(9))],
        alternatives=(([datetime(2001, 2, 3, 4, 5, 6, tzinfo=tz(9))], {}, {}),),
    ),
    "ArgsJob.perform_later(Sat, 03 Feb 2001 04:05:06 +0300)  # DateTime": Case(
        [RubyDateTime(2001, 2, 3, 4, 5, 6, 0, tz(3))]
    ),
    "ArgsJob.perform_later(Sat, 03 Feb 2001)  # Date": Case([date(2001, 2, 3)]),
    "ArgsJob.perform_later(Sat, 03 Feb 2001 13:05:06.123456789 JST +09:00)"
    "  # ActiveSupport::TimeWithZone": Case(
        [TimeWithZone(2001, 2, 3, 13, 5, 6, 123456, tz(9), nanosecond=789)],
        # what a Python producer holding a Tokyo time writes for Rails < 7.2 readers
        alternatives=(
            (
                [
                    TimeWithZone.with_zone(
                        datetime(2001, 2, 3, 13, 5, 6, 123456, ZoneInfo("Asia/Tokyo")),
                        "Asia/Tokyo",
                        nanosecond=789,
                    )
                ],
                {},
                {"rails_version": "7.1"},
            ),
        ),
    ),
    "ArgsJob.perform_later(1 day and 2 hours, 90 seconds)  # ActiveSupport::Duration": Case(
        [RubyDuration(93600, [("days", 1), ("hours", 2)]), RubyDuration(90, [("seconds", 90)])],
        # a plain timedelta is N.seconds, exactly like Ruby's 90.seconds
        alternatives=(
            (
                [RubyDuration(93600, [("days", 1), ("hours", 2)]), timedelta(seconds=90)],
                {},
                {},
            ),
        ),
    ),
    # Rails 6.1 writes a BigDecimal as ActiveSupport's JSON string: Ruby itself reads a String.
    "ArgsJob.perform_later(0.15e1, 0.123456789000000001e9)  # BigDecimal": Case(
        ["1.5", "123456789.000000001"],
        alternatives=(([Decimal("1.50"), Decimal("123456789.000000001")], {}, {}),),
    ),
    "ArgsJob.perform_later(String, Comparable)  # Module/Class": Case(
        [RubyModule("String"), RubyModule("Comparable")]
    ),
    "ArgsJob.perform_later(1, key: 'value', other: 2)  # keyword arguments": Case(
        [1], {"key": "value", "other": 2}
    ),
    "ArgsJob.perform_later(#<Person id=42>)  # GlobalID model": Case(
        [GlobalID("gid://refapp/Person/42")],
        alternatives=(([Person(42)], {}, {"globalid_for": person_gid}),),
    ),
    "ArgsJob.set(queue: 'other', priority: 7).perform_later('with queue and priority')": Case(
        ["with queue and priority"]
    ),
    "MailerishJob.perform_later(Person.new(7), { 'locale' => 'en' })": Case(
        [GlobalID("gid://refapp/Person/7"), {"locale": "en"}],
        alternatives=(([Person(7), {"locale": "en"}], {}, {"globalid_for": person_gid}),),
    ),
    "I18n.with_locale(:en) { Time.use_zone('Tokyo') { FailingJob.perform_later('x') } }": Case(
        ["x"]
    ),
    "RetryingJob.perform_later": Case([]),
}


# --------------------------------------------------------------------------- recording


@dataclass(frozen=True)
class Enqueue:
    call: str
    queue: str
    payload: dict[str, Any]  # normalized: job_id <UUID>, enqueued_at <TIME_ISO8601_UTC>
    raw: dict[str, Any]  # the same payload from raw_examples: real job_id and enqueued_at


def _normalize(text: str) -> str:
    text = UUID_RE.sub("<UUID>", text)
    return TIME_UTC_RE.sub("<TIME_ISO8601_UTC>", text)


def _recorded_enqueues() -> list[Enqueue]:
    calls = RECORDING["ruby_calls"]
    commands = RECORDING["commands"]
    raw_by_normalized: dict[str, list[str]] = {}
    for raws in RECORDING["raw_examples"]["queue_payloads"].values():
        for raw in raws:
            raw_by_normalized.setdefault(_normalize(raw), []).append(raw)
    found = []
    for index, call in enumerate(calls):
        if "call" not in call:
            continue
        end = next((c["first_command_index"] for c in calls[index + 1 :]), len(commands))
        for command in commands[call["first_command_index"] : end]:
            if command[0] == "rpush":
                raw = raw_by_normalized[command[2]].pop(0)
                found.append(
                    Enqueue(
                        call["call"],
                        command[1].removeprefix("resque:queue:"),
                        json.loads(command[2]),
                        json.loads(raw),
                    )
                )
    return found


ENQUEUES = _recorded_enqueues()
ENQUEUE_BY_CALL = {enqueue.call: enqueue for enqueue in ENQUEUES}


def _walk_payloads(node: Any) -> Iterator[dict[str, Any]]:
    """Every JobWrapper payload anywhere in the recording: in commands, keys, observations."""
    if isinstance(node, str) and node.startswith("{"):
        try:
            node = json.loads(node)
        except ValueError:
            return
    if isinstance(node, dict):
        if node.get("class") == JOB_WRAPPER_CLASS:
            yield node
        for value in node.values():
            yield from _walk_payloads(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_payloads(value)


def _enqueued_at(job_data: Mapping[str, Any]) -> datetime:
    return datetime.strptime(job_data["enqueued_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _rebuild(job_data: Mapping[str, Any], case: Case) -> dict[str, Any]:
    """build_job_data from a case's values and the recorded job's own fields."""
    placeholder = job_data["enqueued_at"] == "<TIME_ISO8601_UTC>"
    built = build_job_data(
        job_data["job_class"],
        case.args,
        case.kwargs,
        JobDataOptions(
            queue=job_data["queue_name"],
            priority=job_data["priority"],
            job_id=job_data["job_id"],
            locale=job_data["locale"],
            timezone=job_data["timezone"],
            enqueued_at=datetime(2026, 11, 28, 7, 18, 14, tzinfo=UTC)
            if placeholder
            else _enqueued_at(job_data),
            executions=job_data["executions"],
            exception_executions=job_data["exception_executions"],
        ),
    )
    if placeholder:
        assert TIME_UTC_RE.fullmatch(built["enqueued_at"])
        built["enqueued_at"] = "<TIME_ISO8601_UTC>"
    return built


def _case_for_arguments(job_class: str, arguments: list[Any]) -> Case:
    for enqueue in ENQUEUES:
        job_data = enqueue.payload["args"][0]
        if job_data["job_class"] == job_class and job_data["arguments"] == arguments:
            return CASES[enqueue.call]
    raise AssertionError(f"no recorded call enqueued {job_class} {arguments!r}")


def _assert_same(actual: Any, expected: Any) -> None:
    """Equal, of the same type, with the same Ruby extras (nanoseconds, zone, symbol keys...)."""
    assert type(actual) is type(expected), (actual, expected)
    assert actual == expected
    if isinstance(expected, datetime):
        assert actual.tzinfo == expected.tzinfo
        assert actual.utcoffset() == expected.utcoffset()
        assert getattr(actual, "nanosecond", 0) == getattr(expected, "nanosecond", 0)
        assert getattr(actual, "zone", None) == getattr(expected, "zone", None)
    if isinstance(expected, RubyDuration):
        assert (actual.value, actual.parts) == (expected.value, expected.parts)
        assert type(actual.value) is type(expected.value)
    if isinstance(expected, SymbolKeysDict):
        assert actual.symbol_keys == expected.symbol_keys
    if isinstance(expected, dict):
        assert list(actual) == list(expected)
        for key in expected:
            _assert_same(actual[key], expected[key])
    if isinstance(expected, list):
        for got, want in zip(actual, expected, strict=True):
            _assert_same(got, want)


def test_the_table_covers_every_recorded_enqueue() -> None:
    assert len(ENQUEUES) == 22
    assert [e.call for e in ENQUEUES] == list(CASES)


@pytest.mark.parametrize("enqueue", ENQUEUES, ids=[e.call[:60] for e in ENQUEUES])
def test_recorded_payload_shape(enqueue: Enqueue) -> None:
    """Resque's adapter writes class then args, no ``wrapped``; Rails 6.1's eleven keys."""
    for payload in (enqueue.payload, enqueue.raw):
        assert list(payload) == ["class", "args"]
        assert payload["class"] == JOB_WRAPPER_CLASS
        assert len(payload["args"]) == 1
        assert list(payload["args"][0]) == JOB_DATA_KEYS_61
        assert payload["args"][0]["queue_name"] == enqueue.queue


@pytest.mark.parametrize("enqueue", ENQUEUES, ids=[e.call[:60] for e in ENQUEUES])
def test_recorded_arguments_deserialize(enqueue: Enqueue) -> None:
    case = CASES[enqueue.call]
    args, kwargs = deserialize_arguments(enqueue.payload["args"][0]["arguments"])
    _assert_same(args, case.args)
    _assert_same(kwargs, case.kwargs)


@pytest.mark.parametrize("enqueue", ENQUEUES, ids=[e.call[:60] for e in ENQUEUES])
def test_recorded_arguments_serialize_back(enqueue: Enqueue) -> None:
    case = CASES[enqueue.call]
    recorded = enqueue.payload["args"][0]["arguments"]
    serialized = serialize_arguments(case.args, case.kwargs)
    assert serialized == recorded
    assert json.dumps(serialized) == json.dumps(recorded)  # key order too
    for args, kwargs, options in case.alternatives:
        assert json.dumps(serialize_arguments(args, kwargs, **options)) == json.dumps(recorded)


@pytest.mark.parametrize("enqueue", ENQUEUES, ids=[e.call[:60] for e in ENQUEUES])
def test_recorded_job_data_rebuilds_exactly(enqueue: Enqueue) -> None:
    case = CASES[enqueue.call]
    for payload in (enqueue.raw, enqueue.payload):
        recorded = payload["args"][0]
        built = _rebuild(recorded, case)
        assert list(built.items()) == list(recorded.items())
        assert json.dumps(wrap_job_data(built)) == json.dumps(payload)


def test_every_job_wrapper_payload_in_the_recording_is_covered() -> None:
    """Worker records, failure records, raw examples: each decodes and rebuilds exactly.

    The failed RetryingJob shows ``exception_executions: {"[ZeroDivisionError]": 1}`` with
    ``executions: 0``: retry_on mutated the payload hash in place before enqueue_at raised.
    """
    payloads = list(_walk_payloads(RECORDING))
    assert len(payloads) > len(ENQUEUES)
    for payload in payloads:
        assert list(payload) == ["class", "args"]
        job_data = payload["args"][0]
        case = _case_for_arguments(job_data["job_class"], job_data["arguments"])
        args, kwargs = deserialize_arguments(job_data["arguments"])
        _assert_same(args, case.args)
        _assert_same(kwargs, case.kwargs)
        assert list(_rebuild(job_data, case).items()) == list(job_data.items())
    retried = [p for p in payloads if p["args"][0]["exception_executions"]]
    assert retried and all(p["args"][0]["job_class"] == "RetryingJob" for p in retried)


def test_recorded_globalids_go_through_the_resolver() -> None:
    arguments = ENQUEUE_BY_CALL[
        "MailerishJob.perform_later(Person.new(7), { 'locale' => 'en' })"
    ].payload["args"][0]["arguments"]
    seen: list[GlobalID] = []

    def resolve(gid: GlobalID) -> Person:
        seen.append(gid)
        assert (gid.app, gid.model_name) == ("refapp", "Person")
        return Person(int(gid.model_id))

    args, kwargs = deserialize_arguments(arguments, resolve_globalid=resolve)
    assert args == [Person(7), {"locale": "en"}]
    assert kwargs == {}
    assert seen == [GlobalID("gid://refapp/Person/7")]


def test_recorded_refusals() -> None:
    """The two calls Rails refused with ActiveJob::SerializationError are refused here too."""
    raised = {c["call"]: c["raised"] for c in RECORDING["ruby_calls"] if "raised" in c}
    assert raised["ArgsJob.perform_later(Object.new)  # unsupported type"] == (
        "ActiveJob::SerializationError: Unsupported argument type: Object"
    )
    with pytest.raises(ActiveJobSerializationError, match=r"^Unsupported argument type: object$"):
        serialize_arguments([object()], {})
    assert raised["ArgsJob.perform_later({ 1 => 'integer key' })  # unsupported hash key"] == (
        "ActiveJob::SerializationError: Only string and symbol hash keys may be serialized as "
        "job arguments, but 1 is a Integer"
    )
    with pytest.raises(
        ActiveJobSerializationError,
        match=r"^Only string and symbol hash keys may be serialized as job arguments, "
        r"but 1 is a int$",
    ):
        serialize_arguments([{1: "integer key"}], {})
    assert ActiveJobSerializationError.ruby_class == "ActiveJob::SerializationError"


def test_scheduling_is_not_job_data_before_rails_7_1() -> None:
    """``set(wait:)`` raised NotImplementedError in the recording: Resque needs resque-scheduler."""
    with pytest.raises(ActiveJobArgumentError, match="resque-scheduler"):
        build_job_data(
            "ArgsJob",
            ["later"],
            {},
            JobDataOptions(queue="default", scheduled_at=datetime(2030, 1, 1, tzinfo=UTC)),
        )


# --------------------------------------------------------------------------- newer Rails


def roundtrip(arguments: list[Any], **options: Any) -> tuple[list[Any], dict[str, Any]]:
    """Decode ``arguments``, check they encode back identically, return the decoded values."""
    args, kwargs = deserialize_arguments(arguments)
    assert json.dumps(serialize_arguments(args, kwargs, **options)) == json.dumps(arguments)
    return args, kwargs


def test_range_serializer_rails_7_0() -> None:
    """RangeSerializer, new in Rails 7.0 (v7.0.0 serializers/range_serializer.rb)."""
    time_begin = {
        "_aj_serialized": SER + "TimeSerializer",
        "value": "2001-02-03T04:05:06.000000000Z",
    }
    arguments = [
        {"_aj_serialized": SER + "RangeSerializer", "begin": 1, "end": 10, "exclude_end": False},
        {"_aj_serialized": SER + "RangeSerializer", "begin": 1, "end": None, "exclude_end": True},
        {
            "_aj_serialized": SER + "RangeSerializer",
            "begin": time_begin,
            "end": None,
            "exclude_end": False,
        },
    ]
    args, _ = roundtrip(arguments, rails_version="7.0")
    assert args[:2] == [RubyRange(1, 10, False), RubyRange(1, None, True)]
    _assert_same(args[2].begin, RubyTime(2001, 2, 3, 4, 5, 6, 0, UTC))
    with pytest.raises(ActiveJobSerializationError, match=re.escape("rails_version >= 7.0")):
        serialize_arguments([RubyRange(1, 2)], {})


def test_time_with_zone_name_rails_7_2() -> None:
    """Rails 7.2+ adds ``time_zone`` (tzinfo name); 6.1-7.1 readers get the value alone."""
    value = "2001-02-03T13:05:06.123456789+09:00"
    arguments = [
        {
            "_aj_serialized": SER + "TimeWithZoneSerializer",
            "value": value,
            "time_zone": "Asia/Tokyo",
        }
    ]
    args, _ = roundtrip(arguments, rails_version="7.2")
    expected = TimeWithZone.with_zone(
        datetime(2001, 2, 3, 13, 5, 6, 123456, ZoneInfo("Asia/Tokyo")), "Asia/Tokyo", nanosecond=789
    )
    _assert_same(args[0], expected)
    assert serialize_arguments(args, {}, rails_version="8.1") == arguments
    assert serialize_arguments(args, {}) == [
        {"_aj_serialized": SER + "TimeWithZoneSerializer", "value": value}
    ]
    # a ZoneInfo time names its zone itself; Rails reads it back in that zone
    tokyo = TimeWithZone(2001, 2, 3, 13, 5, 6, 123456, ZoneInfo("Asia/Tokyo"), nanosecond=789)
    assert serialize_arguments([tokyo], {}, rails_version="7.2") == arguments


def test_time_with_zone_converts_into_the_named_zone() -> None:
    """``in_time_zone(time_zone)``: the instant is kept, shown in the zone; UTC zones write Z."""
    arguments = [
        {
            "_aj_serialized": SER + "TimeWithZoneSerializer",
            "value": "2001-02-03T04:05:06.000000000Z",
            "time_zone": "Asia/Tokyo",
        },
        {
            "_aj_serialized": SER + "TimeWithZoneSerializer",
            "value": "2001-02-03T04:05:06.000000000Z",
            "time_zone": "Etc/UTC",
        },
        {
            "_aj_serialized": SER + "TimeWithZoneSerializer",
            "value": "2001-02-03T04:05:06.000000000+00:00",
            "time_zone": "Europe/London",
        },
        {
            "_aj_serialized": SER + "TimeWithZoneSerializer",
            "value": "2001-02-03T04:05:06.000000000+00:00",
            "time_zone": "No/Such_Zone",
        },
    ]
    args, _ = deserialize_arguments(arguments)
    assert [a.hour for a in args] == [13, 4, 4, 4]
    assert args[0] == datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert [a.zone for a in args] == ["Asia/Tokyo", "Etc/UTC", "Europe/London", "No/Such_Zone"]
    encoded = serialize_arguments(args, {}, rails_version="7.2")
    assert [e["value"][-6:] for e in encoded] == ["+09:00", "00000Z", "+00:00", "+00:00"]
    assert [e["time_zone"] for e in encoded] == [a.zone for a in args]


def test_big_decimal_serializer_rails_7_1() -> None:
    """BigDecimalSerializer: opt-in in 7.1 (use_big_decimal_serializer), always from 7.2."""
    arguments = [
        {"_aj_serialized": SER + "BigDecimalSerializer", "value": "1.5"},
        {"_aj_serialized": SER + "BigDecimalSerializer", "value": "123456789.000000001"},
        {"_aj_serialized": SER + "BigDecimalSerializer", "value": "100.0"},
        {"_aj_serialized": SER + "BigDecimalSerializer", "value": "-0.0"},
        {"_aj_serialized": SER + "BigDecimalSerializer", "value": "0.0000000001"},
        {"_aj_serialized": SER + "BigDecimalSerializer", "value": "Infinity"},
    ]
    args, _ = roundtrip(arguments, rails_version="7.1")
    assert args == [
        Decimal("1.5"),
        Decimal("123456789.000000001"),
        Decimal("100"),
        Decimal("-0"),
        Decimal("1E-10"),
        Decimal("Infinity"),
    ]
    # plain BigDecimal#to_s (no ActiveSupport) is read too
    odd = [{"_aj_serialized": SER + "BigDecimalSerializer", "value": "0.15e1"}]
    assert deserialize_arguments(odd) == ([Decimal("1.5")], {})
    # what Rails < 7.1 writes for the same values
    assert serialize_arguments(args[:5], {}) == [
        "1.5",
        "123456789.000000001",
        "100.0",
        "-0.0",
        "0.0000000001",
    ]
    with pytest.raises(ActiveJobSerializationError, match=re.escape("rails_version >= 7.1")):
        serialize_arguments([Decimal("NaN")], {})


def test_durations_of_every_unit() -> None:
    """DurationSerializer (same wire form 6.1 to 8.1): fixed units are timedeltas, months not."""
    arguments = [
        {
            "_aj_serialized": SER + "DurationSerializer",
            "value": 2629746,
            "parts": [[sym("months"), 1]],
        },
        {
            "_aj_serialized": SER + "DurationSerializer",
            "value": 31816152,
            "parts": [[sym("years"), 1], [sym("days"), 3]],
        },
        {
            "_aj_serialized": SER + "DurationSerializer",
            "value": 5400.0,
            "parts": [[sym("hours"), 1.5]],
        },
        {
            "_aj_serialized": SER + "DurationSerializer",
            "value": 1209600,
            "parts": [[sym("weeks"), 2]],
        },
        {
            "_aj_serialized": SER + "DurationSerializer",
            "value": -300,
            "parts": [[sym("minutes"), -5]],
        },
        {"_aj_serialized": SER + "DurationSerializer", "value": 0, "parts": [[sym("seconds"), 0]]},
    ]
    args, _ = roundtrip(arguments)
    assert args[0] == CalendarDuration(2629746, (("months", 1),))
    assert args[1] == CalendarDuration(31816152, (("years", 1), ("days", 3)))
    assert not isinstance(args[0], timedelta)
    assert args[2:] == [
        timedelta(hours=1.5),
        timedelta(weeks=2),
        timedelta(minutes=-5),
        timedelta(0),
    ]
    assert all(type(a) is RubyDuration for a in args[2:])
    assert args[2].value == 5400.0 and type(args[2].value) is float
    assert serialize_arguments([timedelta(milliseconds=1500)], {}) == [
        {
            "_aj_serialized": SER + "DurationSerializer",
            "value": 1.5,
            "parts": [[sym("seconds"), 1.5]],
        }
    ]


def test_module_and_symbol_and_globalid_rails_8() -> None:
    """Unchanged in Rails 8.0/8.1 (8.1 writes Symbol#name, the same text)."""
    arguments = [
        {"_aj_serialized": SER + "ModuleSerializer", "value": "Admin::Report"},
        {"_aj_serialized": SER + "SymbolSerializer", "value": "with space"},
        {"_aj_globalid": "gid://app/Admin::User/a%2Fb?tenant=1"},
    ]
    args, _ = roundtrip(arguments, rails_version="8.1")
    assert args[:2] == [RubyModule("Admin::Report"), Symbol("with space")]
    gid = args[2]
    assert (gid.app, gid.model_name, gid.model_id) == ("app", "Admin::User", "a/b")


def test_job_data_rails_7_1_and_later() -> None:
    """core.rb from 7.1: enqueued_at with 9 digits, then scheduled_at (nil unless scheduled)."""
    enqueued = RubyTime(2026, 11, 28, 7, 18, 14, 123456, UTC, nanosecond=789)
    for version in ("7.1", "7.2", "8.0", "8.1"):
        data = build_job_data(
            "ArgsJob",
            [1],
            {},
            JobDataOptions(
                queue="default",
                priority=None,
                job_id="id",
                enqueued_at=enqueued,
                rails_version=version,
            ),
        )
        assert list(data) == [*JOB_DATA_KEYS_61, "scheduled_at"]
        assert data["enqueued_at"] == "2026-11-28T07:18:14.123456789Z"
        assert data["scheduled_at"] is None
    scheduled = build_job_data(
        "ArgsJob",
        [],
        None,
        JobDataOptions(
            queue="default", rails_version="7.1", scheduled_at=datetime(2030, 1, 1, 9, tzinfo=tz(9))
        ),
    )
    assert scheduled["scheduled_at"] == "2030-01-01T00:00:00.000000000Z"
    seven_oh = build_job_data(
        "ArgsJob", [], {}, JobDataOptions(queue="q", rails_version="7.0", enqueued_at=enqueued)
    )
    assert list(seven_oh) == JOB_DATA_KEYS_61
    assert seven_oh["enqueued_at"] == "2026-11-28T07:18:14Z"


def test_job_data_defaults() -> None:
    data = build_job_data("ArgsJob", [], {}, JobDataOptions(queue="default"))
    assert UUID_RE.fullmatch(data["job_id"])
    assert TIME_UTC_RE.fullmatch(data["enqueued_at"])
    assert (data["priority"], data["locale"], data["timezone"]) == (None, "en", "UTC")
    assert data["exception_executions"] == {} and data["executions"] == 0


def test_format_enqueued_at() -> None:
    moment = datetime(2001, 2, 3, 13, 5, 6, 999999, tzinfo=tz(9))
    assert format_enqueued_at(moment) == "2001-02-03T04:05:06Z"  # truncated, as Ruby does
    assert format_enqueued_at(moment, "7.1") == "2001-02-03T04:05:06.999999000Z"
    with pytest.raises(ActiveJobArgumentError, match="aware"):
        format_enqueued_at(datetime(2001, 2, 3))


# --------------------------------------------------------------------------- time details


def test_time_zero_offset_keeps_z_or_offset() -> None:
    """Ruby writes ``Z`` for UTC times and ``+00:00`` for local ones; DateTime never ``Z``."""
    arguments = [
        {"_aj_serialized": SER + "TimeSerializer", "value": "2001-02-03T04:05:06.000000000Z"},
        {"_aj_serialized": SER + "TimeSerializer", "value": "2001-02-03T04:05:06.000000000+00:00"},
        {
            "_aj_serialized": SER + "DateTimeSerializer",
            "value": "2001-02-03T04:05:06.500000000+00:00",
        },
        {"_aj_serialized": SER + "TimeSerializer", "value": "0001-02-03T00:00:00.000000000-05:30"},
    ]
    args, _ = roundtrip(arguments)
    assert args[0] == args[1]
    assert serialize_arguments([RubyDateTime(2001, 2, 3, tzinfo=UTC)], {})[0]["value"].endswith(
        "+00:00"
    )
    assert serialize_arguments([datetime(2001, 2, 3, tzinfo=ZoneInfo("UTC"))], {})[0][
        "value"
    ].endswith("Z")


def test_time_digits_past_nanoseconds_are_dropped() -> None:
    value = {"_aj_serialized": SER + "TimeSerializer", "value": "2001-02-03T04:05:06.1234567891Z"}
    (decoded,), _ = deserialize_arguments([value])
    assert (decoded.microsecond, decoded.nanosecond) == (123456, 789)


def test_time_values_survive_copy_and_pickle() -> None:
    values: list[Any] = [
        RubyTime(2001, 2, 3, 4, 5, 6, 7, UTC, nanosecond=8),
        RubyDateTime(2001, 2, 3, tzinfo=tz(3), nanosecond=1),
        TimeWithZone(2001, 2, 3, tzinfo=ZoneInfo("Asia/Tokyo"), nanosecond=2, zone="Asia/Tokyo"),
        RubyDuration(93600, [("days", 1), ("hours", 2)]),
        SymbolKeysDict({"a": 1}, symbol_keys=["a"]),
    ]
    for value in values:
        for clone in (copy.copy(value), copy.deepcopy(value), pickle.loads(pickle.dumps(value))):
            _assert_same(clone, value)
            assert serialize_arguments([clone], {}) == serialize_arguments([value], {})
    assert "nanosecond=8" in repr(values[0])
    # arithmetic gives a new value: the Ruby extras do not follow it
    later = values[0] + timedelta(seconds=1)
    assert later.second == 7 and getattr(later, "nanosecond", 0) == 0
    assert type(values[3] * 2) is timedelta


# --------------------------------------------------------------------------- hashes


def test_keywords_only_from_a_trailing_ruby2_keywords_hash() -> None:
    kw = {"a": 1, "_aj_ruby2_keywords": ["a"]}
    assert deserialize_arguments([kw]) == ([], {"a": 1})
    args, kwargs = deserialize_arguments([kw, 2])
    assert kwargs == {} and args == [{"a": 1}, 2]
    _assert_same(args[0], SymbolKeysDict({"a": 1}, symbol_keys=["a"]))
    assert serialize_arguments([], {}) == []
    with pytest.raises(ActiveJobSerializationError, match="reserved key"):
        serialize_arguments([], {"_aj_globalid": 1})


def test_mixed_symbol_and_string_keys_survive_a_round_trip() -> None:
    arguments = [{"a": 1, "b": 2, "c": IndifferentDict(), "_aj_symbol_keys": ["b"]}]
    arguments[0]["c"] = {
        "x": {"y": 1, "_aj_hash_with_indifferent_access": True},
        "_aj_hash_with_indifferent_access": True,
    }
    (decoded,), _ = roundtrip(arguments)
    assert decoded.symbol_keys == frozenset({"b"})
    assert type(decoded["c"]) is IndifferentDict and type(decoded["c"]["x"]) is IndifferentDict
    # a hash written by other code without a marker is read as a plain hash, like Rails does
    assert deserialize_arguments([{"a": 1}]) == ([{"a": 1}], {})


def test_symbol_keys_option_and_symbol_keys() -> None:
    assert serialize_arguments([{"a": {"b": 1}}], {}, symbol_keys=True) == [
        {"a": {"b": 1, "_aj_symbol_keys": ["b"]}, "_aj_symbol_keys": ["a"]}
    ]
    assert serialize_arguments([{Symbol("a"): 1, "b": 2}], {}) == [
        {"a": 1, "b": 2, "_aj_symbol_keys": ["a"]}
    ]


def test_scalars_are_written_as_their_builtin_types() -> None:
    import enum

    class Color(enum.IntEnum):
        RED = 1

    class Name(str, enum.Enum):
        ALICE = "alice"

    serialized = serialize_arguments([Color.RED, Name.ALICE, -0.0, (1, 2)], {})
    assert serialized == [1, "alice", -0.0, [1, 2]]
    assert [type(v) for v in serialized[:2]] == [int, str]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            [{"_aj_serialized": "MoneySerializer", "amount": 1}],
            "Serializer MoneySerializer is not known",
        ),
        ([{"_aj_serialized": SER + "ActionControllerParametersSerializer"}], "is not known"),
        ([{"_aj_serialized": 5}], "Serializer name is not present"),
        ([{"_aj_serialized": SER + "SymbolSerializer"}], "without 'value'"),
        ([{"_aj_serialized": SER + "SymbolSerializer", "value": 1}], "bad 'value'"),
        ([{"_aj_serialized": SER + "ModuleSerializer", "value": ""}], "module without a name"),
        ([{"_aj_serialized": SER + "TimeSerializer", "value": "2001-02-03"}], "not an ISO 8601"),
        (
            [{"_aj_serialized": SER + "TimeSerializer", "value": "2001-02-30T00:00:00Z"}],
            "invalid time",
        ),
        (
            [
                {
                    "_aj_serialized": SER + "TimeWithZoneSerializer",
                    "value": "2001-02-03T00:00:00Z",
                    "time_zone": 9,
                }
            ],
            "time_zone must be",
        ),
        ([{"_aj_serialized": SER + "DateSerializer", "value": "2001-02-30"}], "invalid date"),
        (
            [
                {
                    "_aj_serialized": SER + "DurationSerializer",
                    "value": 1,
                    "parts": [[sym("fortnights"), 1]],
                }
            ],
            "invalid duration",
        ),
        (
            [{"_aj_serialized": SER + "DurationSerializer", "value": 1, "parts": [["seconds", 1]]}],
            r"\[Symbol, number\]",
        ),
        (
            [{"_aj_serialized": SER + "DurationSerializer", "value": True, "parts": []}],
            "bad 'value'",
        ),
        (
            [{"_aj_serialized": SER + "RangeSerializer", "begin": 1, "end": 2}],
            "without 'exclude_end'",
        ),
        (
            [
                {
                    "_aj_serialized": SER + "RangeSerializer",
                    "begin": 1,
                    "end": 2,
                    "exclude_end": "no",
                }
            ],
            "bad 'exclude_end'",
        ),
        ([{"_aj_serialized": SER + "BigDecimalSerializer", "value": "one"}], "invalid BigDecimal"),
        ([{"a": 1, "_aj_symbol_keys": "a"}], "_aj_symbol_keys must be a list"),
        ([{"a": 1, "_aj_hash_with_indifferent_access": False}], "must be true"),
        ([{"a": 1, "_aj_symbol_keys": [], "_aj_ruby2_keywords": []}], "reserved keys"),
        ([{"a": 1, "_aj_globalid": "gid://app/Person/1"}], "reserved keys"),
        ([{"_aj_globalid": "https://example.com/1"}], "not a GlobalID URI"),
        ([("tuple",)], "Can only deserialize primitive arguments"),
    ],
)
def test_malformed_payloads_are_refused(arguments: list[Any], message: str) -> None:
    with pytest.raises(ActiveJobDeserializationError, match=message) as info:
        deserialize_arguments(arguments)
    assert str(info.value).startswith("Error while trying to deserialize arguments: ")
    assert isinstance(info.value, (ResqueCompatError, ValueError))


def test_arguments_must_be_a_list() -> None:
    with pytest.raises(ActiveJobDeserializationError, match="must be an Array"):
        deserialize_arguments({"a": 1})  # type: ignore[arg-type]


def test_resolver_errors_become_deserialization_errors() -> None:
    class RecordNotFound(Exception):
        pass

    def resolve(gid: GlobalID) -> Any:
        raise RecordNotFound(f"Couldn't find {gid.model_name} with 'id'={gid.model_id}")

    with pytest.raises(ActiveJobDeserializationError) as info:
        deserialize_arguments(
            [{"_aj_globalid": "gid://refapp/Person/42"}], resolve_globalid=resolve
        )
    assert str(info.value) == (
        "Error while trying to deserialize arguments: Couldn't find Person with 'id'=42"
    )
    assert isinstance(info.value.__cause__, RecordNotFound)
    assert info.value.ruby_class == "ActiveJob::DeserializationError"


BAD_RANGE = RubyRange(1, 2, "yes")  # type: ignore[arg-type]


def _raise_lookup(value: Any) -> GlobalID | None:
    raise LookupError("no id")


class KeptPairs(Mapping[Any, Any]):
    """A mapping keeping equal keys apart (a dict merges ``"a"`` and ``Symbol("a")``, equal
    since a Symbol is a str): how a str and a Symbol of one name reach the encoder together."""

    def __init__(self, *pairs: tuple[Any, Any]) -> None:
        self.pairs = pairs

    def __getitem__(self, key: Any) -> Any:
        return next(value for name, value in self.pairs if name is key)

    def __iter__(self) -> Iterator[Any]:
        return (name for name, _ in self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)


@pytest.mark.parametrize(
    ("args", "kwargs", "options", "message"),
    [
        ([object()], {}, {}, "Unsupported argument type: object"),
        ([{1, 2}], {}, {}, "Unsupported argument type: set"),
        ([float("nan")], {}, {}, "writes it as null"),
        ([float("inf")], {}, {}, "writes it as null"),
        ([Decimal("Infinity")], {}, {}, "rails_version >= 7.1"),
        ([datetime(2001, 2, 3)], {}, {}, "naive datetime"),
        ([datetime(1800, 1, 1, tzinfo=ZoneInfo("Asia/Tokyo"))], {}, {}, "has seconds"),
        ([{"_aj_symbol_keys": 1}], {}, {}, "reserved key '_aj_symbol_keys'"),
        ([{Symbol("_aj_serialized"): 1}], {}, {}, "reserved key Symbol"),
        ([KeptPairs(("a", 1), (Symbol("a"), 2))], {}, {}, "given twice"),
        ([{b"a": 1}], {}, {}, "but b'a' is a bytes"),
        ([BAD_RANGE], {}, {"rails_version": "7.0"}, "exclude_end must be a bool"),
        ([], {1: "x"}, {}, "keyword argument names must be str"),
        ("abc", {}, {}, "args must be a sequence"),
        (
            [Person(1)],
            {},
            {"globalid_for": lambda value: None},
            "Unsupported argument type: Person",
        ),
        ([Person(1)], {}, {"globalid_for": _raise_lookup}, "Unable to serialize Person: no id"),
        ([Person(1)], {}, {"globalid_for": lambda value: "gid://x/Y/1"}, "not a GlobalID"),
        ([1], {}, {"rails_version": "6.0"}, "not supported"),
        ([1], {}, {"rails_version": "latest"}, "must look like"),
    ],
)
def test_unserialisable_values_are_refused(
    args: Any, kwargs: Any, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ActiveJobArgumentError, match=re.escape(message)):
        serialize_arguments(args, kwargs, **options)


def test_value_types_validate_themselves() -> None:
    with pytest.raises(ActiveJobArgumentError):
        GlobalID("Person/1")
    with pytest.raises(ActiveJobArgumentError):
        RubyModule("")
    with pytest.raises(ActiveJobArgumentError):
        Symbol(1)  # type: ignore[arg-type]
    with pytest.raises(ActiveJobArgumentError, match="months"):
        RubyDuration(2629746, [("months", 1)])
    with pytest.raises(ActiveJobArgumentError):
        CalendarDuration(1, (("fortnights", 1),))
    with pytest.raises(ValueError, match="nanosecond"):
        RubyTime(2001, 2, 3, nanosecond=1000)
    assert GlobalID.create("app", "Person", "a/b").uri == "gid://app/Person/a%2Fb"


def test_build_job_data_checks_its_fields() -> None:
    bad: list[tuple[dict[str, Any], str]] = [
        ({"job_class": ""}, "job_class"),
        ({"queue": ""}, "queue"),
        ({"priority": "7"}, "priority"),
        ({"priority": True}, "priority"),
        ({"executions": -1}, "executions"),
    ]
    for override, message in bad:
        fields: dict[str, Any] = {"job_class": "ArgsJob", "queue": "default", **override}
        job_class = fields.pop("job_class")
        with pytest.raises(ActiveJobArgumentError, match=message):
            build_job_data(job_class, [], {}, JobDataOptions(**fields))
    builder: Callable[..., dict[str, Any]] = build_job_data
    with pytest.raises(ActiveJobSerializationError):
        builder("ArgsJob", [object()], {}, JobDataOptions(queue="default"))


def test_ruby_values_are_usable_as_the_python_types_they_stand_for() -> None:
    """Each decoded Ruby value works where job code expects the natural Python type, and
    still re-encodes as the Ruby type it came from."""
    serializer = "ActiveJob::Serializers::"
    arguments: list[Any] = [
        {"_aj_serialized": serializer + "SymbolSerializer", "value": "archive"},
        {"_aj_serialized": serializer + "ModuleSerializer", "value": "Admin::Report"},
        {"_aj_serialized": serializer + "BigDecimalSerializer", "value": "1.5"},
        {
            "_aj_serialized": serializer + "DurationSerializer",
            "value": 90,
            "parts": [
                [{"_aj_serialized": serializer + "SymbolSerializer", "value": "minutes"}, 1.5]
            ],
        },
        {
            "_aj_serialized": serializer + "TimeSerializer",
            "value": "2001-02-03T04:05:06.000000007Z",
        },
        {
            "_aj_serialized": serializer + "DateTimeSerializer",
            "value": "2001-02-03T13:05:06.000000000+09:00",
        },
        {
            "_aj_serialized": serializer + "TimeWithZoneSerializer",
            "value": "2001-02-03T13:05:06.000000000+09:00",
            "time_zone": "Asia/Tokyo",
        },
        {"_aj_serialized": serializer + "DateSerializer", "value": "2001-02-03"},
        {"a": 1, "_aj_hash_with_indifferent_access": True},
        {"b": 2, "_aj_symbol_keys": ["b"]},
        {
            "_aj_serialized": serializer + "RangeSerializer",
            "begin": 1,
            "end": 10,
            "exclude_end": True,
        },
    ]
    args, _ = deserialize_arguments(arguments)
    mode, klass, amount, wait, at, dt, local, day, indifferent, options, rng = args
    assert isinstance(mode, str) and mode == "archive" and {"archive": 1}[mode] == 1
    assert f"{mode}" == "archive" and mode.upper() == "ARCHIVE" and json.dumps(mode) == '"archive"'
    assert isinstance(klass, str) and klass == "Admin::Report" and klass.split("::")[-1] == "Report"
    assert isinstance(amount, Decimal) and amount * 2 == Decimal("3.0")
    assert isinstance(wait, timedelta) and wait.total_seconds() == 90
    assert datetime(2001, 1, 1, tzinfo=UTC) + wait == datetime(2001, 1, 1, 0, 1, 30, tzinfo=UTC)
    for moment in (at, dt, local):
        assert isinstance(moment, datetime) and moment.utcoffset() is not None
    assert at - datetime(2001, 2, 3, 4, 5, tzinfo=UTC) == timedelta(seconds=6)
    assert dt == local == at == datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)  # ns are ignored
    assert isinstance(day, date) and day.isoformat() == "2001-02-03"
    for hash_ in (indifferent, options):
        assert isinstance(hash_, dict) and json.loads(json.dumps(hash_)) == dict(hash_)
    assert indifferent == {"a": 1} and options["b"] == options[Symbol("b")] == 2
    assert 1 in rng and 9 in rng and 10 not in rng and "x" not in rng
    assert 5 in RubyRange(None, 5) and 10**9 in RubyRange(1, None)
    assert serialize_arguments(args, None, rails_version="7.2") == arguments
