"""The codec against the payload bytes real Ruby Resque wrote (compat_tests/reference).

The recordings are the ground truth: every ``rpush`` payload of the four ``enqueue_basic*``
scenarios must come out of :func:`encode` byte for byte, both from hand-written Python
arguments and from decoding Ruby's own bytes and writing them again.
"""

from __future__ import annotations

import enum
import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resque_compat.codec import JsonStyle, decode, encode, encode_payload
from resque_compat.errors import DecodeError, EncodeError

REFERENCE = Path(__file__).resolve().parent.parent / "compat_tests" / "reference"
RECORDINGS = {
    JsonStyle.JSON_GEM: "enqueue_basic.json",
    JsonStyle.ACTIVESUPPORT: "enqueue_basic_activesupport.json",
    JsonStyle.OJ: "enqueue_basic_oj.json",
    JsonStyle.ACTIVESUPPORT_OJ: "enqueue_basic_activesupport_oj.json",
}
ALL_STYLES = list(JsonStyle)
NAN = math.nan
INF = math.inf


def _recording(style: JsonStyle) -> dict[str, Any]:
    with (REFERENCE / RECORDINGS[style]).open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


def _redis_value(value: str | dict[str, str]) -> bytes:
    """A value as the recordings store it: text, or hex when it was not valid UTF-8."""
    if isinstance(value, dict):
        return bytes.fromhex(value["invalid_utf8_hex"])
    return value.encode("utf-8")


def _rpush_payloads(style: JsonStyle) -> list[bytes]:
    commands = _recording(style)["commands"]
    return [_redis_value(command[2]) for command in commands if command[0] == "rpush"]


def _queue_order_payloads(style: JsonStyle) -> list[bytes]:
    examples = _recording(style)["raw_examples"]["payloads_in_queue_order"]
    return [_redis_value(example["payload"]) for example in examples]


def _ruby_call(style: JsonStyle, text: str) -> dict[str, Any]:
    calls: list[dict[str, Any]] = _recording(style)["ruby_calls"]
    return next(call for call in calls if call.get("call", "").startswith(text))


# --- the Ruby calls, written in Python ------------------------------------------------------

# Arguments of the Resque.enqueue(FileServe, ...) calls every recording starts with, in order.
# Ruby symbols become their names and {1=>"one"} its written form {"1"=>"one"}: a Python
# int key is refused on purpose (it would not read back as the same key).
SHARED_CALLS: list[Sequence[object]] = [
    [],
    [0, 1, -1, 42, -42],
    [
        2147483648,
        9007199254740992,
        9007199254740993,
        4611686018427387904,
        9223372036854775807,
        9223372036854775808,
        18446744073709551616,
        1180591620717411303424,
        -1180591620717411303424,
    ],
    [
        *(1.0, 0.5, -0.5, 1.5, 0.1, 0.30000000000000004, 3.14159, -0.0, 0.0, 100.0),
        *(123456789.123, 0.3333333333333333),
    ],
    [
        *(1.0e20, 100000000000000.0, 1.0e15, 1.0e16, 1.5e16, 123456789012345.0),
        *(1.234567890123456e15, 0.001, 0.0001, 0.00012, 1.0e-05, 1.5e-07, 2.5e-320),
        *(1.7976931348623157e308, 5.0e-324, -1.0e20),
    ],
    [float(f"1e{exponent}") for exponent in range(-6, 23)],
    [
        *("hello", "", " ", "a b", 'with "quotes"', "single 'quotes'", "back\\slash"),
        *("for/ward/slashes", "tab\there", "new\nline", "cr\rlf", "</script>", "<b>&amp;</b>"),
        "\b\f",
    ],
    [
        *("café", "üñîçødé", "日本語", "emoji \U0001f600\U0001f44d\U0001f3fd", "\u2028\u2029"),
        *("\u0000nul", "\u0001\u001f\u007f", "\u0080\u009f", "\u00a0nbsp", "\ufeffbom", "\ufffd"),
    ],
    [None, True, False],
    [[1, [2, [3, ["four", None, True]]]], []],
    [{"a": 1, "b": {"c": [1, 2, {"d": None}]}, "z": "last", "m": "insertion order kept"}, {}],
    [{"sym": "value", "other": "symbol_value"}],
    [{"1": "one"}],
    ["a_symbol"],
    [1, "two", 3.0, None, True, False, [4, "5"], {"six": 6}],
]

# Ruby-only values as each setup wrote them: Thing.new (to_s, or {} under ActiveSupport) and
# Time.utc(2001, 2, 3, 4, 5, 6) / Time.new(2001, 2, 3, 4, 5, 6, "+09:00").
THING_TO_S = ["Thing#to_s"]
TIMES_TO_S = ["2001-02-03 04:05:06 UTC", "2001-02-03 04:05:06 +0900"]
TIMES_ISO = ["2001-02-03T04:05:06.000Z", "2001-02-03T04:05:06.000+09:00"]
VALID_UTF8_BINARY = [b"caf\xc3\xa9"]
INVALID_BINARY = [b"\xff\xfe binary"]
INVALID_UTF8_STRING = ["\udcff bad utf8"]  # "\xff bad utf8".force_encoding("UTF-8")

STYLE_CALLS: dict[JsonStyle, list[Sequence[object]]] = {
    JsonStyle.JSON_GEM: [VALID_UTF8_BINARY, THING_TO_S, TIMES_TO_S],
    JsonStyle.ACTIVESUPPORT: [[NAN], [INF], VALID_UTF8_BINARY, [{}], TIMES_ISO],
    JsonStyle.OJ: [INVALID_BINARY, VALID_UTF8_BINARY, INVALID_UTF8_STRING, THING_TO_S, TIMES_TO_S],
    JsonStyle.ACTIVESUPPORT_OJ: [
        INVALID_BINARY,
        VALID_UTF8_BINARY,
        INVALID_UTF8_STRING,
        [{}],
        TIMES_ISO,
    ],
}

# Resque.push('file_serve', 'class' => 'Raw::Push', 'args' => [1], 'extra' => 'kept')
RAW_PUSH: dict[str, object] = {"class": "Raw::Push", "args": [1], "extra": "kept"}


def _python_writes(style: JsonStyle) -> list[bytes]:
    payloads = [encode_payload("FileServe", args, style) for args in SHARED_CALLS]
    payloads += [encode_payload("FileServe", args, style) for args in STYLE_CALLS[style]]
    payloads.append(encode_payload("FileServe", (1,), style))  # enqueue_to with a String class
    payloads.append(encode(RAW_PUSH, style))
    return payloads


@pytest.mark.parametrize("style", ALL_STYLES)
def test_hand_written_calls_match_every_recorded_rpush(style: JsonStyle) -> None:
    recorded = _rpush_payloads(style)
    written = _python_writes(style)
    assert len(written) == len(recorded)
    for index, (ours, ruby) in enumerate(zip(written, recorded, strict=True)):
        assert ours == ruby, f"rpush #{index}"


@pytest.mark.parametrize("style", ALL_STYLES)
def test_recorded_payloads_round_trip_byte_exact(style: JsonStyle) -> None:
    """Decoding Ruby's bytes and encoding them again in the same style gives Ruby's bytes.

    Holds for all four recordings because the Oj differences are implemented: Oj writes
    ``-0.0`` as ``0.0`` and integral floats below 2**63 in fixed notation (``1e18`` ->
    ``1000000000000000000.0``), and writes invalid UTF-8 as raw bytes, which :func:`decode`
    keeps as surrogateescape code points. How these Oj payloads differ from JSON_GEM's is
    pinned down by the next test.
    """
    payloads = _rpush_payloads(style) + _queue_order_payloads(style)
    assert payloads
    for raw in payloads:
        assert encode(decode(raw), style) == raw


def test_oj_recording_differs_from_json_gem_only_in_floats() -> None:
    """Of the calls both setups accepted, Oj wrote different bytes only for the three float
    calls; converting json-gem bytes to Oj style gives Oj's bytes, and back again gives the
    json-gem bytes except for ``-0.0``, which Oj loses."""
    gem = _queue_order_payloads(JsonStyle.JSON_GEM)
    oj = _queue_order_payloads(JsonStyle.OJ)
    assert len(gem) == len(oj) == len(SHARED_CALLS)
    differing = [
        index for index, (ours, theirs) in enumerate(zip(gem, oj, strict=True)) if ours != theirs
    ]
    assert differing == [3, 4, 5]
    for gem_raw, oj_raw in zip(gem, oj, strict=True):
        assert encode(decode(gem_raw), JsonStyle.OJ) == oj_raw
    assert encode(decode(oj[4])) == gem[4]
    assert encode(decode(oj[5])) == gem[5]
    assert encode(decode(oj[3])) == gem[3].replace(b"3.14159,-0.0,", b"3.14159,0.0,")


@pytest.mark.parametrize(
    ("style", "call", "raises"),
    [
        (JsonStyle.JSON_GEM, "Resque.enqueue(FileServe, Float::NAN)", True),
        (JsonStyle.JSON_GEM, "Resque.enqueue(FileServe, Float::INFINITY)", True),
        (JsonStyle.OJ, "Resque.enqueue(FileServe, Float::NAN)", True),
        (JsonStyle.ACTIVESUPPORT_OJ, "Resque.enqueue(FileServe, Float::INFINITY)", True),
        (JsonStyle.ACTIVESUPPORT, "Resque.enqueue(FileServe, Float::NAN)", False),
    ],
)
def test_non_finite_floats_follow_the_recording(style: JsonStyle, call: str, raises: bool) -> None:
    recorded = _ruby_call(style, call)
    value = NAN if "NAN" in call else INF
    assert ("raised" in recorded) is raises
    if raises:
        with pytest.raises(EncodeError, match="not allowed in JSON"):
            encode_payload("FileServe", [value], style)
    else:
        assert encode_payload("FileServe", [value], style) == b'{"class":"FileServe","args":[null]}'


@pytest.mark.parametrize("style", [JsonStyle.JSON_GEM, JsonStyle.ACTIVESUPPORT])
@pytest.mark.parametrize(
    ("call", "args"),
    [
        ('Resque.enqueue(FileServe, "\\xff\\xfe binary".b)', INVALID_BINARY),
        ('Resque.enqueue(FileServe, "\\xff bad utf8"', INVALID_UTF8_STRING),
    ],
)
def test_invalid_utf8_raises_as_the_json_gem_does(
    style: JsonStyle, call: str, args: Sequence[object]
) -> None:
    assert "illegal/malformed utf-8" in _ruby_call(style, call)["raised"]
    with pytest.raises(EncodeError, match=r"args\[0\].*UTF-8"):
        encode_payload("FileServe", args, style)


# --- hand-written tables --------------------------------------------------------------------

RUBY_FLOATS = [
    (0.0, "0.0"),
    (-0.0, "-0.0"),
    (1.0, "1.0"),
    (-2.5, "-2.5"),
    (0.1, "0.1"),
    (1 / 3, "0.3333333333333333"),
    (0.0001, "0.0001"),
    (-0.0001, "-0.0001"),
    (0.00012, "0.00012"),
    (9.999999999999999e-05, "9.999999999999999e-05"),
    (1e-05, "1.0e-05"),
    (1.5e-07, "1.5e-07"),
    (2.5e-320, "2.5e-320"),
    (5e-324, "5.0e-324"),
    (-5e-324, "-5.0e-324"),
    (1e-100, "1.0e-100"),
    (100000000000000.0, "100000000000000.0"),
    (999999999999999.9, "999999999999999.9"),
    (123456789012345.0, "123456789012345.0"),
    (1e15, "1.0e+15"),
    (-1e15, "-1.0e+15"),
    (1234567890123456.0, "1.234567890123456e+15"),
    (1000000000000000.2, "1.0000000000000002e+15"),
    (9999999999999998.0, "9.999999999999998e+15"),
    (1e16, "1.0e+16"),
    (1.5e16, "1.5e+16"),
    (12345678901234567890.0, "1.2345678901234567e+19"),
    (1e20, "1.0e+20"),
    (-1e20, "-1.0e+20"),
    (1e100, "1.0e+100"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
]

OJ_FLOATS = [
    (0.0, "0.0"),
    (-0.0, "0.0"),
    (0.5, "0.5"),
    (100.0, "100.0"),
    (1e-05, "1.0e-05"),
    (5e-324, "5.0e-324"),
    (1e15, "1000000000000000.0"),
    (-1e15, "-1000000000000000.0"),
    (1234567890123456.0, "1234567890123456.0"),
    (1000000000000000.2, "1.0000000000000002e+15"),
    (1e18, "1000000000000000000.0"),
    (2.0**62, "4611686018427387904.0"),
    (-(2.0**63), "-9223372036854775808.0"),
    (2.0**63, "9.223372036854776e+18"),
    (1e19, "1.0e+19"),
    (-1e20, "-1.0e+20"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
]


@pytest.mark.parametrize("style", [JsonStyle.JSON_GEM, JsonStyle.ACTIVESUPPORT])
@pytest.mark.parametrize(("value", "text"), RUBY_FLOATS)
def test_floats_in_ruby_layout(style: JsonStyle, value: float, text: str) -> None:
    assert encode(value, style) == text.encode()
    assert encode([value, {"f": value}], style) == f'[{text},{{"f":{text}}}]'.encode()
    assert math.copysign(1.0, decode(text)) == math.copysign(1.0, value)
    assert decode(text) == value


@pytest.mark.parametrize("style", [JsonStyle.OJ, JsonStyle.ACTIVESUPPORT_OJ])
@pytest.mark.parametrize(("value", "text"), OJ_FLOATS)
def test_floats_in_oj_layout(style: JsonStyle, value: float, text: str) -> None:
    assert encode(value, style) == text.encode()
    assert encode_payload("K", [value], style) == f'{{"class":"K","args":[{text}]}}'.encode()


def test_non_finite_floats_are_null_under_activesupport() -> None:
    value = {"n": NAN, "i": [INF, -INF], "ok": 1e20}
    assert encode(value, JsonStyle.ACTIVESUPPORT) == b'{"n":null,"i":[null,null],"ok":1.0e+20}'


STRINGS = [
    ("hello", '"hello"', '"hello"'),
    ("", '""', '""'),
    ('say "hi"', '"say \\"hi\\""', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"', '"back\\\\slash"'),
    ("a/b</c>", '"a/b</c>"', '"a/b\\u003c/c\\u003e"'),
    ("&amp;", '"&amp;"', '"\\u0026amp;"'),
    ("\b\f\n\r\t", '"\\b\\f\\n\\r\\t"', '"\\b\\f\\n\\r\\t"'),
    ("\x00\x01\x1b\x1f", '"\\u0000\\u0001\\u001b\\u001f"', '"\\u0000\\u0001\\u001b\\u001f"'),
    ("\x7f\x80\x9f\xa0", '"\x7f\x80\x9f\xa0"', '"\x7f\x80\x9f\xa0"'),
    ("\u2028|\u2029", '"\u2028|\u2029"', '"\\u2028|\\u2029"'),
    ("\ufeff\ufffd\uffff", '"\ufeff\ufffd\uffff"', '"\ufeff\ufffd\uffff"'),
    ("日本語 \U0001f600", '"日本語 \U0001f600"', '"日本語 \U0001f600"'),
]


@pytest.mark.parametrize(("value", "json_gem", "activesupport"), STRINGS)
def test_string_escaping(value: str, json_gem: str, activesupport: str) -> None:
    assert encode(value) == json_gem.encode()
    assert encode(value, JsonStyle.OJ) == json_gem.encode()
    assert encode(value, JsonStyle.ACTIVESUPPORT) == activesupport.encode()
    assert decode(encode(value)) == value
    assert decode(encode(value, JsonStyle.ACTIVESUPPORT)) == value


def test_activesupport_escapes_keys_too() -> None:
    """ActiveSupport wraps keys in the same escaping string class as values (its to_s returns
    itself so that the json gem calls its to_json); no recording has such a key."""
    value = {"<k&>": ["<v>"]}
    expected = b'{"\\u003ck\\u0026\\u003e":["\\u003cv\\u003e"]}'
    assert encode(value, JsonStyle.ACTIVESUPPORT) == expected
    assert encode(value) == b'{"<k&>":["<v>"]}'


def test_values_python_adds_for_convenience() -> None:
    class Colour(str):
        pass

    class Priority(enum.IntEnum):
        HIGH = 1

    class Queue(str, enum.Enum):
        CRITICAL = "critical"

    assert encode((1, (2,))) == b"[1,[2]]"
    assert encode(b"caf\xc3\xa9") == '"café"'.encode()
    assert encode({"k": b"x", "f": 1e20}) == b'{"k":"x","f":1.0e+20}'
    assert encode([True, False, None, 10**30, -(10**30)]) == (
        b"[true,false,null,1000000000000000000000000000000,-1000000000000000000000000000000]"
    )
    assert encode([Colour("red")]) == b'["red"]'
    assert encode({"p": Priority.HIGH, "q": Queue.CRITICAL, "f": 1e20}) == (
        b'{"p":1,"q":"critical","f":1.0e+20}'
    )
    assert encode([Priority.HIGH, Queue.CRITICAL]) == b'[1,"critical"]'
    assert encode_payload("Job", ("a", 1)) == b'{"class":"Job","args":["a",1]}'
    assert encode_payload("Job", []) == b'{"class":"Job","args":[]}'


def test_oj_writes_surrogate_escaped_and_invalid_bytes_raw() -> None:
    assert encode(["\udcff\udcfe x"], JsonStyle.OJ) == b'["\xff\xfe x"]'
    assert encode([b"\xff x"], JsonStyle.OJ) == b'["\xff x"]'
    with pytest.raises(EncodeError, match="UTF-8"):
        encode(["\ud800"], JsonStyle.OJ)


# --- refusals -----------------------------------------------------------------------------


def _nested_lists(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


def _circular_list() -> list[object]:
    value: list[object] = [1]
    value.append(value)
    return value


def _circular_dict() -> dict[str, object]:
    value: dict[str, object] = {}
    value["self"] = {"again": value}
    return value


REFUSED: list[tuple[str, Callable[[], object], str]] = [
    ("nan", lambda: NAN, "NaN is not allowed"),
    ("inf", lambda: INF, "Infinity is not allowed"),
    ("-inf", lambda: -INF, "-Infinity is not allowed"),
    ("lone surrogate", lambda: "a\ud800b", "lone surrogate"),
    ("object", object, "object cannot be written"),
    ("set", lambda: {1, 2}, "set cannot be written"),
    ("frozenset", lambda: frozenset(), "frozenset cannot be written"),
    ("decimal", lambda: Decimal("1.5"), "Decimal cannot be written"),
    ("datetime", lambda: datetime(2001, 2, 3), "datetime cannot be written"),
    ("int key", lambda: {1: "one"}, "dict key 1 is a int, not a str"),
    ("none key", lambda: {None: 1}, "dict key None is a NoneType"),
    ("invalid utf-8 bytes", lambda: b"\xff\xfe", "not valid UTF-8"),
    ("bytearray", lambda: bytearray(b"x"), "bytearray cannot be written"),
    ("101 levels", lambda: _nested_lists(101), "nested deeper than 100"),
    ("100000 levels", lambda: _nested_lists(100_000), "nested deeper than 100"),
    ("circular list", _circular_list, "circular reference"),
    ("circular dict", _circular_dict, "circular reference"),
]


# What some styles write instead of refusing, as the recordings show.
ACCEPTED_BY_STYLE: dict[tuple[JsonStyle, str], bytes] = {
    (JsonStyle.ACTIVESUPPORT, "nan"): b"null",
    (JsonStyle.ACTIVESUPPORT, "inf"): b"null",
    (JsonStyle.ACTIVESUPPORT, "-inf"): b"null",
    (JsonStyle.OJ, "invalid utf-8 bytes"): b'"\xff\xfe"',
}


@pytest.mark.parametrize("style", [JsonStyle.JSON_GEM, JsonStyle.ACTIVESUPPORT, JsonStyle.OJ])
@pytest.mark.parametrize(("case", "make", "message"), REFUSED, ids=[case for case, *_ in REFUSED])
def test_refused_values(
    style: JsonStyle, case: str, make: Callable[[], object], message: str
) -> None:
    accepted = ACCEPTED_BY_STYLE.get((style, case))
    if accepted is not None:
        assert encode(make(), style) == accepted
        return
    with pytest.raises(EncodeError, match=re.escape(message)):
        encode(make(), style)
    with pytest.raises(EncodeError, match=re.escape(message)):
        encode_payload("FileServe", [1, {"deep": [make()]}], style)


def test_error_messages_name_the_path() -> None:
    cases: list[tuple[list[object], str]] = [
        ([1, 2, {"when": object()}], 'args[2]["when"]: object cannot'),
        (["ok", {"k": ["x", "\ud800"]}], 'args[1]["k"][1]: string'),
        ([[{"a": {2: 3}}]], 'args[0][0]["a"]: dict key 2'),
        ([{"f": [NAN]}], 'args[0]["f"][0]: NaN'),
        ([b"\xff"], "args[0]: bytes are not valid UTF-8"),
        ([_circular_list()], "circular reference: args[0][1] is the same list as args[0]"),
    ]
    for args, expected in cases:
        with pytest.raises(EncodeError) as caught:
            encode_payload("FileServe", args)
        assert expected in str(caught.value)
    with pytest.raises(EncodeError, match=re.escape('value["x"][0]: object')):
        encode({"x": [object()]})
    with pytest.raises(EncodeError, match="class: string"):
        encode_payload("Bad\ud800", [])


def test_nesting_limit_is_rubys_max_nesting() -> None:
    """Ruby's generator and parser both stop at 100 levels; the payload hash and the args
    array count, so an argument can nest 98 more levels."""
    assert encode(_nested_lists(100)) == b"[" * 100 + b"]" * 100
    assert encode_payload("K", [_nested_lists(98)]).endswith(b"]" * 99 + b"}")
    with pytest.raises(EncodeError, match="nested deeper than 100"):
        encode_payload("K", [_nested_lists(99)])
    with pytest.raises(EncodeError, match=re.escape("args[0][0][0][0][0][0][0][0]...")):
        encode_payload("K", [_nested_lists(99)])


def test_shared_but_not_circular_values_are_fine() -> None:
    shared = [1.5e20]
    assert encode([shared, {"again": shared}]) == b'[[1.5e+20],{"again":[1.5e+20]}]'


def test_bad_arguments_to_encode_payload() -> None:
    with pytest.raises(EncodeError, match="class name must be a str"):
        encode_payload(None, [])  # type: ignore[arg-type]
    with pytest.raises(EncodeError, match="args must be a list or tuple"):
        encode_payload("K", "abc")
    with pytest.raises(EncodeError, match="args must be a list or tuple"):
        encode_payload("K", {"a": 1})  # type: ignore[arg-type]


def test_integer_beyond_python_str_limit_is_an_encode_error() -> None:
    limit = sys.get_int_max_str_digits()
    if limit == 0:
        pytest.skip("int/str conversion limit disabled in this interpreter")
    with pytest.raises(EncodeError, match=r"args\[0\]\[0\]: integer cannot be written"):
        encode_payload("K", [[10 ** (limit + 10)]])


def test_styles_can_be_named_by_value() -> None:
    assert encode(["<"], JsonStyle("activesupport")) == b'["\\u003c"]'
    with pytest.raises(ValueError, match="JsonStyle"):
        encode([], "xml")  # type: ignore[arg-type]


# --- decode -------------------------------------------------------------------------------


def test_decode_reads_what_ruby_writes() -> None:
    raw = (
        b'{"class":"K","args":["\\u003cb\\u003e\\u0026\\u2028",1.0e+20,1.0e-05,-0.0,'
        b'1000000000000000000.0,1180591620717411303424,"caf\xc3\xa9",null,true]}'
    )
    value = decode(raw)
    assert value == {
        "class": "K",
        "args": ["<b>&\u2028", 1e20, 1e-05, 0.0, 1e18, 2**70, "café", None, True],
    }
    assert math.copysign(1.0, value["args"][3]) == -1.0
    assert decode(raw.decode()) == value
    assert decode(b" [1] ") == [1]


def test_decode_keeps_invalid_utf8_bytes_for_a_byte_exact_round_trip() -> None:
    raw = bytes.fromhex(
        "7b22636c617373223a2246696c655365727665222c2261726773223a5b22fffe2062696e617279225d7d"
    )
    assert raw in _rpush_payloads(JsonStyle.OJ)
    value = decode(raw)
    assert value == {"class": "FileServe", "args": ["\udcff\udcfe binary"]}
    assert encode(value, JsonStyle.OJ) == raw
    with pytest.raises(EncodeError, match='value\\["args"\\]\\[0\\]: string'):
        encode(value)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b"{",
        b"not json",
        b'{"a":1}x',
        b"{'a':1}",
        b'{"a":1,}',
        b"[NaN]",
        b"[Infinity]",
        b"[-Infinity]",
        b"\xff\xfe",
        b'["raw\ncontrol"]',
        b"[" * 100_000 + b"]" * 100_000,
        b"[" * 1_000_000,
    ],
    ids=lambda raw: repr(raw[:12]),
)
def test_decode_refuses_what_is_not_json(raw: bytes) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(raw)
    assert caught.value.raw == raw
    assert str(caught.value).startswith("not ")


def test_decode_error_keeps_str_input_as_bytes() -> None:
    with pytest.raises(DecodeError) as caught:
        decode("{café")
    assert caught.value.raw == "{café".encode()
    with pytest.raises(DecodeError) as caught:
        decode("\ud800{")
    assert caught.value.raw == "\ud800{".encode("utf-8", "surrogatepass")


def test_decode_handles_nesting_the_encoder_refuses() -> None:
    raw = b"[" * 500 + b"]" * 500
    assert decode(raw) == _nested_lists(500)


def test_decode_needs_bytes_or_str() -> None:
    with pytest.raises(TypeError, match="bytes or str"):
        decode(None)  # type: ignore[arg-type]


# --- properties -----------------------------------------------------------------------------

finite_floats = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | st.integers() | finite_floats | st.text()
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)
json_values_without_floats = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)
STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
FLOAT_TOKEN = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]\d+)?")


def _outside_strings(text: str) -> str:
    return STRING_LITERAL.sub('""', text)


@settings(database=None)
@given(json_values, st.sampled_from(ALL_STYLES))
def test_property_round_trip(value: object, style: JsonStyle) -> None:
    raw = encode(value, style)
    assert decode(raw) == value
    assert not re.search(r"\s", _outside_strings(raw.decode()))


@settings(database=None)
@given(json_values_without_floats)
def test_property_matches_json_dumps_without_floats(value: object) -> None:
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    assert encode(value) == expected
    assert encode(value, JsonStyle.OJ) == expected


@settings(database=None)
@given(json_values)
def test_property_activesupport_is_json_gem_plus_escapes(value: object) -> None:
    plain = encode(value).decode()
    escaped = encode(value, JsonStyle.ACTIVESUPPORT).decode()
    for char, sequence in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        plain = plain.replace(char, sequence)
    plain = plain.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    assert escaped == plain
    assert not set(escaped) & {"<", ">", "&", "\u2028", "\u2029"}


@settings(database=None)
@given(finite_floats)
def test_property_float_layout(value: float) -> None:
    text = encode(value).decode()
    assert FLOAT_TOKEN.fullmatch(text)
    parsed = float(text)
    assert parsed == value
    assert math.copysign(1.0, parsed) == math.copysign(1.0, value)
    fixed = value == 0.0 or 1e-4 <= abs(value) < 1e15
    assert ("e" not in text) is fixed
    mantissa = text.partition("e")[0]
    assert "." in mantissa
    if not fixed:
        assert re.fullmatch(r"-?\d\.\d+e[+-]\d{2,3}", text)
    assert _significant_digits(text) == _significant_digits(repr(value))


def _significant_digits(text: str) -> str:
    mantissa = text.lstrip("-").partition("e")[0]
    return mantissa.replace(".", "").strip("0")
