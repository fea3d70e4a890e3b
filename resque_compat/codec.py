"""JSON exactly as Ruby Resque writes it, and reading everything Ruby writes.

Byte identity is not cosmetic here. ``Resque.dequeue`` and ``Job.destroy`` remove jobs with
``LREM`` of a re-encoded payload, so a Python producer whose bytes differ from Ruby's makes
jobs that Ruby can never dequeue (and the reverse). The output therefore follows what the
Ruby process that shares the Redis would write, which depends on its JSON setup
(:class:`JsonStyle`); the rules below were read off the recordings of real Ruby in
``compat_tests/reference/enqueue_basic*.json``.

What every style shares: no whitespace, ``/`` never escaped, control characters as
``\\b \\f \\n \\r \\t`` or lowercase ``\\u00XX``, every other character as raw UTF-8,
integers of any size in full, and Ruby's ``Float#to_s`` layout for floats (shortest
round-trip digits, fixed notation only for 1e-4 <= |x| < 1e15, otherwise ``1.0e+20``,
``1.5e-07``, ``5.0e-324``).

Accepted values are ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes`` (as text),
``list``/``tuple`` and ``dict`` with ``str`` keys, subclasses included (an ``IntEnum`` is
written as its number, as Ruby writes a Symbol as its name). Anything else is refused with an
:class:`EncodeError` naming the path of the value, before anything reaches Redis.

Nesting deeper than 100 arrays/objects is refused in every style: that is Ruby's default
``max_nesting`` for both ``JSON.generate`` and ``JSON.parse``, and a payload a Ruby worker
cannot parse crashes it during reserve and is lost. The same limit turns circular
structures into an :class:`EncodeError` instead of a ``RecursionError``.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from json import encoder as _json_encoder
from typing import Any

from .errors import DecodeError, EncodeError

__all__ = ["JsonStyle", "decode", "encode", "encode_payload"]

_MAX_NESTING = 100
_PATH_SEGMENTS_SHOWN = 8
_OJ_INTEGRAL_LIMIT = 2.0**63
_HTML_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


class JsonStyle(enum.Enum):
    """The JSON setup of the Ruby process whose bytes must be matched.

    ``JSON_GEM``: Resque's own dependencies only (MultiJson's ``json_gem`` adapter, json 2.6).
    NaN and ±Infinity are refused, as Ruby raises ``JSON::GeneratorError``.

    ``ACTIVESUPPORT``: the same adapter in a process that loaded ActiveSupport (every Rails
    app). Strings and keys get ``<``, ``>``, ``&``, U+2028 and U+2029 escaped as
    ``\\u003c``-style sequences, and NaN/±Infinity are written as ``null`` because
    ActiveSupport's ``Float#as_json`` turns non-finite floats into ``nil`` (recorded).

    ``OJ``: MultiJson's Oj adapter (picked whenever the oj gem is loadable). Floats differ:
    ``-0.0`` is written ``0.0`` and integral values in [-2**63, 2**63) in full fixed notation
    (``1e18`` -> ``1000000000000000000.0``); strings that are not valid UTF-8 are written as
    their raw bytes, which here means strings carrying ``surrogateescape`` code points
    (U+DC80..U+DCFF, what :func:`decode` produces for such bytes) and ``bytes`` values.
    NaN/±Infinity are refused as Oj does. At exactly +2**63 Oj's C cast is
    platform-dependent; the x86-64 result (Ruby notation) is reproduced.

    ``ACTIVESUPPORT_OJ``: Oj with ActiveSupport loaded. For the values Python can pass it
    writes exactly what ``OJ`` writes (ActiveSupport only changes Time and arbitrary objects
    there, which have no Python equivalent here).
    """

    JSON_GEM = "json"
    ACTIVESUPPORT = "activesupport"
    OJ = "oj"
    ACTIVESUPPORT_OJ = "activesupport_oj"


class _Refused(Exception):
    """Raised deep inside a walk; each container frame adds its step on the way out.

    Building the path only while unwinding keeps the successful walk free of bookkeeping.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.trail: list[tuple[str | int, object]] = []

    def enter(self, step: str | int, container: object) -> None:
        self.trail.append((step, container))

    def describe(self, root: str) -> str:
        trail = self.trail[::-1]
        steps = [step for step, _ in trail]
        seen: dict[int, int] = {}
        for index, (_, container) in enumerate(trail):
            first = seen.setdefault(id(container), index)
            if first != index:
                return (
                    f"circular reference: {_path(root, steps[:index])} is the same "
                    f"{type(container).__name__} as {_path(root, steps[:first])}"
                )
        return f"{_path(root, steps)}: {self.reason}"


def _path(root: str, steps: Sequence[str | int]) -> str:
    parts = [f"[{step}]" if isinstance(step, int) else f"[{json.dumps(step)}]" for step in steps]
    if len(parts) > 2 * _PATH_SEGMENTS_SHOWN:
        parts = [*parts[:_PATH_SEGMENTS_SHOWN], "...", *parts[-_PATH_SEGMENTS_SHOWN:]]
    return root + "".join(parts)


def _ruby_float(value: float) -> str:
    """Ruby's ``Float#to_s`` for a finite float.

    Python's repr already yields the same shortest round-trip digits and the same switch to
    exponent notation below 1e-4; only the layout differs: Ruby leaves fixed notation one
    decade earlier (at 1e15, Python at 1e16) and always keeps a fractional part (``1.0e+20``
    where Python writes ``1e+20``).
    """
    text = float.__repr__(value)
    mantissa, marker, exponent = text.partition("e")
    if marker:
        return f"{mantissa}e{exponent}" if "." in mantissa else f"{mantissa}.0e{exponent}"
    if abs(value) < 1e15:
        return text
    sign = "-" if text.startswith("-") else ""
    digits = text.lstrip("-").replace(".", "").rstrip("0")
    return f"{sign}{digits[0]}.{digits[1:] or '0'}e+15"


def ruby_float(value: float) -> str:
    """Ruby's ``Float#to_s`` (see ``_ruby_float``), for modules that render Ruby text."""
    return _ruby_float(value)


def _refuse_non_finite(value: float) -> None:
    if math.isnan(value):
        raise _Refused("NaN is not allowed in JSON (Ruby raises JSON::GeneratorError)")
    if math.isinf(value):
        sign = "-" if value < 0 else ""
        raise _Refused(f"{sign}Infinity is not allowed in JSON (Ruby raises JSON::GeneratorError)")


def _json_gem_float(value: float) -> str:
    _refuse_non_finite(value)
    return _ruby_float(value)


def _activesupport_float(value: float) -> str:
    return _ruby_float(value) if math.isfinite(value) else "null"


def _oj_float(value: float) -> str:
    if value == 0.0:
        return "0.0"
    _refuse_non_finite(value)
    if value.is_integer() and -_OJ_INTEGRAL_LIMIT <= value < _OJ_INTEGRAL_LIMIT:
        return float.__format__(value, ".1f")
    return _ruby_float(value)


def _repr_is_ruby(value: float) -> bool:
    """Whether Python's repr of ``value`` already is Ruby's text (the C encoder can write it)."""
    return 1e-4 <= abs(value) < 1e15 or value == 0.0


def _repr_is_oj(value: float) -> bool:
    return 1e-4 <= abs(value) < 1e15 or (value == 0.0 and math.copysign(1.0, value) > 0)


@dataclass(frozen=True)
class _Rules:
    """What distinguishes one :class:`JsonStyle` from another."""

    repr_is_exact: Callable[[float], bool]
    format_float: Callable[[float], str]
    escape_html: bool
    string_errors: str


_JSON_GEM_RULES = _Rules(_repr_is_ruby, _json_gem_float, escape_html=False, string_errors="strict")
_OJ_RULES = _Rules(_repr_is_oj, _oj_float, escape_html=False, string_errors="surrogateescape")
_RULES = {
    JsonStyle.JSON_GEM: _JSON_GEM_RULES,
    JsonStyle.ACTIVESUPPORT: _Rules(
        _repr_is_ruby, _activesupport_float, escape_html=True, string_errors="strict"
    ),
    JsonStyle.OJ: _OJ_RULES,
    JsonStyle.ACTIVESUPPORT_OJ: _OJ_RULES,
}


_DEFAULT_STYLE = JsonStyle.JSON_GEM


def _rules_for(style: JsonStyle) -> _Rules:
    if style is _DEFAULT_STYLE:
        return _JSON_GEM_RULES
    return _RULES.get(style) or _RULES[JsonStyle(style)]


# --- validation ------------------------------------------------------------------------

_LEAF_TYPES = frozenset({str, int, bool, type(None)})


def _scan(value: Any, depth: int, rules: _Rules) -> bool:
    """Validate ``value`` (at ``depth`` enclosing containers); True if the C encoder cannot
    write it as Ruby would (a float whose repr differs, bytes, a non-finite float that
    becomes ``null``)."""
    kind = type(value)
    if kind in _LEAF_TYPES:
        return False
    if kind is float:
        return _scan_float(value, rules)
    if kind is list or kind is tuple:
        return _scan_array(value, depth + 1, rules)
    if kind is dict:
        return _scan_object(value, depth + 1, rules)
    return _scan_subclass(value, depth, rules)


def _scan_float(value: float, rules: _Rules) -> bool:
    if rules.repr_is_exact(value):
        return False
    rules.format_float(value)
    return True


def _scan_subclass(value: object, depth: int, rules: _Rules) -> bool:
    if isinstance(value, (str, int)):
        return False
    if isinstance(value, float):
        return _scan_float(value, rules)
    if isinstance(value, (list, tuple)):
        return _scan_array(value, depth + 1, rules)
    if isinstance(value, dict):
        return _scan_object(value, depth + 1, rules)
    if isinstance(value, bytes):
        _decode_bytes(value, rules)
        return True
    raise _Refused(
        f"{type(value).__qualname__} cannot be written as JSON (accepted: None, bool, int, "
        f"float, str, bytes, list, tuple, dict with str keys): {_short_repr(value)}"
    )


def _check_depth(depth: int) -> None:
    if depth > _MAX_NESTING:
        raise _Refused(
            f"nested deeper than {_MAX_NESTING} arrays/objects "
            "(Ruby's JSON generator and parser refuse this with JSON::NestingError)"
        )


def _scan_array(items: list[object] | tuple[object, ...], depth: int, rules: _Rules) -> bool:
    _check_depth(depth)
    slow = False
    for index, item in enumerate(items):
        if type(item) in _LEAF_TYPES:
            continue
        try:
            slow = _scan(item, depth, rules) or slow
        except _Refused as refused:
            refused.enter(index, items)
            raise
    return slow


def _scan_object(mapping: dict[object, object], depth: int, rules: _Rules) -> bool:
    _check_depth(depth)
    slow = False
    for key, item in mapping.items():
        if not isinstance(key, str):
            raise _Refused(
                f"dict key {_short_repr(key)} is a {type(key).__qualname__}, not a str "
                "(Ruby would write its to_s, which does not read back as the same key)"
            )
        if type(item) in _LEAF_TYPES:
            continue
        try:
            slow = _scan(item, depth, rules) or slow
        except _Refused as refused:
            refused.enter(key, mapping)
            raise
    return slow


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _decode_bytes(value: bytes, rules: _Rules) -> str:
    try:
        return value.decode("utf-8", rules.string_errors)
    except UnicodeDecodeError as exc:
        raise _Refused(
            f"bytes are not valid UTF-8 ({exc.reason} at byte {exc.start}); Ruby's json gem "
            "raises 'source sequence is illegal/malformed utf-8'"
        ) from None


# --- writing -----------------------------------------------------------------------------


def _refuse_unknown(value: object) -> object:
    raise TypeError(f"{type(value).__qualname__} slipped past validation")


_c_make_encoder: Any = getattr(_json_encoder, "c_make_encoder", None)
_quote = _json_encoder.encode_basestring


def _make_fast_writer() -> Callable[[object], str]:
    """The C encoder with Ruby's separators, configured once.

    It is only handed values that :func:`_scan` found to print exactly as Ruby prints them
    and that are known to be acyclic and shallow, so its own cycle check is switched off.
    """
    if _c_make_encoder is None:
        fallback = json.JSONEncoder(
            ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False
        )
        return fallback.encode
    chunks = _c_make_encoder(None, _refuse_unknown, _quote, None, ":", ",", False, False, False)

    def write(value: object) -> str:
        return "".join(chunks(value, 0))

    return write


_fast_write = _make_fast_writer()


def _slow_write(value: object, rules: _Rules, out: list[str]) -> None:
    """Write a value that :func:`_scan` accepted; used when some float or bytes needs Ruby's
    formatting rather than Python's."""
    if isinstance(value, str):
        out.append(_quote(value))
    elif value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(rules.format_float(value))
    elif isinstance(value, (list, tuple)):
        _slow_write_array(value, rules, out)
    elif isinstance(value, dict):
        _slow_write_object(value, rules, out)
    elif isinstance(value, bytes):
        out.append(_quote(_decode_bytes(value, rules)))


def _slow_write_array(
    items: list[object] | tuple[object, ...], rules: _Rules, out: list[str]
) -> None:
    out.append("[")
    for index, item in enumerate(items):
        if index:
            out.append(",")
        _slow_write(item, rules, out)
    out.append("]")


def _slow_write_object(mapping: dict[str, object], rules: _Rules, out: list[str]) -> None:
    out.append("{")
    for index, (key, item) in enumerate(mapping.items()):
        out.append(f",{_quote(key)}:" if index else f"{_quote(key)}:")
        _slow_write(item, rules, out)
    out.append("}")


def _escape_html(text: str) -> str:
    # These characters never occur in JSON syntax outside string literals, so replacing them
    # in the whole document escapes exactly the strings and keys, as ActiveSupport does.
    for char, escaped in _HTML_ESCAPES:
        if char in text:
            text = text.replace(char, escaped)
    return text


def _render(document: object, slow: bool, rules: _Rules) -> bytes:
    if slow:
        out: list[str] = []
        _slow_write(document, rules, out)
        text = "".join(out)
    else:
        text = _fast_write(document)
    if rules.escape_html:
        text = _escape_html(text)
    return text.encode("utf-8", rules.string_errors)


# --- locating what only fails while writing ------------------------------------------------


def _locate(value: object, rules: _Rules) -> None:
    """Raise :class:`_Refused` at the first string or integer that cannot be written.

    Lone surrogates and integers beyond Python's str-conversion limit are rare, so they are
    not checked up front; this walk runs only after writing failed, to name the culprit.
    """
    if isinstance(value, str):
        _check_text(value, rules)
    elif isinstance(value, int) and not isinstance(value, bool):
        _check_integer(value)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _locate_in(index, item, value, rules)
    elif isinstance(value, dict):
        for key, item in value.items():
            _locate_in(key, key, value, rules)
            _locate_in(key, item, value, rules)


def _locate_in(step: str | int, value: object, container: object, rules: _Rules) -> None:
    try:
        _locate(value, rules)
    except _Refused as refused:
        refused.enter(step, container)
        raise


def _check_text(text: str, rules: _Rules) -> None:
    try:
        text.encode("utf-8", rules.string_errors)
    except UnicodeEncodeError as exc:
        raise _Refused(
            f"string {_short_repr(text)} has {text[exc.start]!r} at index {exc.start}, which is "
            "not valid UTF-8 (a lone surrogate); Ruby raises 'source sequence is "
            "illegal/malformed utf-8'"
        ) from None


def _check_integer(number: int) -> None:
    try:
        int.__repr__(number)
    except ValueError as exc:
        raise _Refused(f"integer cannot be written: {exc}") from None


def _unwritable(exc: Exception, rules: _Rules, *roots: tuple[str, object]) -> EncodeError:
    for root, value in roots:
        try:
            _locate(value, rules)
        except _Refused as refused:
            return EncodeError(refused.describe(root))
    return EncodeError(f"value cannot be written as JSON: {exc}")


# --- public API ----------------------------------------------------------------------------


def encode(value: object, style: JsonStyle = JsonStyle.JSON_GEM) -> bytes:
    """The JSON document Ruby (set up as ``style``) writes for ``value``, as UTF-8 bytes.

    The value is validated completely first, so a refused value never produces partial
    output. Values whose every float prints the same in Python and Ruby go through the C
    encoder; the rest through a Python writer with Ruby's float layout.
    """
    rules = _rules_for(style)
    try:
        slow = _scan(value, 0, rules)
    except _Refused as refused:
        raise EncodeError(refused.describe("value")) from None
    try:
        return _render(value, slow, rules)
    except (UnicodeEncodeError, ValueError) as exc:
        raise _unwritable(exc, rules, ("value", value)) from None


def encode_payload(
    class_name: str, args: Sequence[object], style: JsonStyle = JsonStyle.JSON_GEM
) -> bytes:
    """A job payload, ``{"class":"<class_name>","args":[...]}``, exactly as ``Resque.enqueue``
    writes it; the key order matters because ``Resque.dequeue`` compares bytes.

    Error messages name the offending argument as ``args[2]["when"]``.
    """
    if not isinstance(class_name, str):
        raise EncodeError(f"class name must be a str, not {type(class_name).__qualname__}")
    arguments = args if type(args) is list else _argument_list(args)
    rules = _rules_for(style)
    try:
        slow = _scan_array(arguments, 2, rules)
    except _Refused as refused:
        raise EncodeError(refused.describe("args")) from None
    document = {"class": class_name, "args": arguments}
    try:
        return _render(document, slow, rules)
    except (UnicodeEncodeError, ValueError) as exc:
        raise _unwritable(exc, rules, ("class", class_name), ("args", arguments)) from None


def _argument_list(args: Sequence[object]) -> list[object]:
    if isinstance(args, (str, bytes, bytearray)) or not isinstance(args, Sequence):
        raise EncodeError(f"args must be a list or tuple, not {type(args).__qualname__}")
    return list(args)


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON (Ruby's JSON.parse refuses it too)")


_decoder = json.JSONDecoder(parse_constant=_refuse_constant)


def decode(data: bytes | str) -> Any:
    """Parse a JSON document written by Ruby (any :class:`JsonStyle`) or by :func:`encode`.

    Bytes that are not valid UTF-8 (Oj writes such strings raw) are decoded with
    ``surrogateescape``: each bad byte becomes a code point U+DC80..U+DCFF, so nothing is lost
    and ``encode(..., JsonStyle.OJ)`` writes the original bytes back; the other styles refuse
    such strings, as Ruby's json gem does. Any failure, including nesting too deep for the
    parser's recursion and NaN/Infinity literals, is a :class:`DecodeError` carrying the
    original bytes.
    """
    if isinstance(data, (bytes, bytearray)):
        text = bytes(data).decode("utf-8", "surrogateescape")
    elif isinstance(data, str):
        text = data
    else:
        raise TypeError(f"decode() needs bytes or str, not {type(data).__qualname__}")
    try:
        return _decoder.decode(text)
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise DecodeError(message, raw=_raw_bytes(data)) from None
    except RecursionError:
        message = "not decodable: JSON nested too deeply for the parser"
        raise DecodeError(message, raw=_raw_bytes(data)) from None
    except ValueError as exc:
        raise DecodeError(f"not decodable: {exc}", raw=_raw_bytes(data)) from None


def _raw_bytes(data: bytes | bytearray | str) -> bytes:
    if not isinstance(data, str):
        return bytes(data)
    try:
        return data.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return data.encode("utf-8", "surrogatepass")
