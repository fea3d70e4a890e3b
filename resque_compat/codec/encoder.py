"""Writing JSON as Ruby writes it: :func:`encode` and :func:`encode_payload`.

A value is validated completely first (``scan``), then written by the C encoder when every
float prints the same in Python and Ruby, else by a Python writer with Ruby's float layout.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from json import encoder as _json_encoder
from typing import Any

from ..errors import EncodeError
from .refused import Refused
from .scan import decode_bytes, scan, scan_array, short_repr
from .styles import HTML_ESCAPES, JsonStyle, Rules, rules_for


def _refuse_unknown(value: object) -> object:
    raise TypeError(f"{type(value).__qualname__} slipped past validation")


_c_make_encoder: Any = getattr(_json_encoder, "c_make_encoder", None)
_quote = _json_encoder.encode_basestring


def _make_fast_writer() -> Callable[[object], str]:
    """The C encoder with Ruby's separators, configured once.

    It is only handed values that :func:`scan` found to print exactly as Ruby prints them
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


def _slow_write(value: object, rules: Rules, out: list[str]) -> None:
    """Write a value that :func:`scan` accepted; used when some float or bytes needs Ruby's
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
        out.append(_quote(decode_bytes(value, rules)))


def _slow_write_array(
    items: list[object] | tuple[object, ...], rules: Rules, out: list[str]
) -> None:
    out.append("[")
    for index, item in enumerate(items):
        if index:
            out.append(",")
        _slow_write(item, rules, out)
    out.append("]")


def _slow_write_object(mapping: dict[str, object], rules: Rules, out: list[str]) -> None:
    out.append("{")
    for index, (key, item) in enumerate(mapping.items()):
        out.append(f",{_quote(key)}:" if index else f"{_quote(key)}:")
        _slow_write(item, rules, out)
    out.append("}")


def _escape_html(text: str) -> str:
    # These characters never occur in JSON syntax outside string literals, so replacing them
    # in the whole document escapes exactly the strings and keys, as ActiveSupport does.
    for char, escaped in HTML_ESCAPES:
        if char in text:
            text = text.replace(char, escaped)
    return text


def _render(document: object, slow: bool, rules: Rules) -> bytes:
    if slow:
        out: list[str] = []
        _slow_write(document, rules, out)
        text = "".join(out)
    else:
        text = _fast_write(document)
    if rules.escape_html:
        text = _escape_html(text)
    return text.encode("utf-8", rules.string_errors)


def _locate(value: object, rules: Rules) -> None:
    """Raise :class:`Refused` at the first string or integer that cannot be written.

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


def _locate_in(step: str | int, value: object, container: object, rules: Rules) -> None:
    try:
        _locate(value, rules)
    except Refused as refused:
        refused.enter(step, container)
        raise


def _check_text(text: str, rules: Rules) -> None:
    try:
        text.encode("utf-8", rules.string_errors)
    except UnicodeEncodeError as exc:
        raise Refused(
            f"string {short_repr(text)} has {text[exc.start]!r} at index {exc.start}, which is "
            "not valid UTF-8 (a lone surrogate); Ruby raises 'source sequence is "
            "illegal/malformed utf-8'"
        ) from None


def _check_integer(number: int) -> None:
    try:
        int.__repr__(number)
    except ValueError as exc:
        raise Refused(f"integer cannot be written: {exc}") from None


def _unwritable(exc: Exception, rules: Rules, *roots: tuple[str, object]) -> EncodeError:
    for root, value in roots:
        try:
            _locate(value, rules)
        except Refused as refused:
            return EncodeError(refused.describe(root))
    return EncodeError(f"value cannot be written as JSON: {exc}")


def encode(value: object, style: JsonStyle = JsonStyle.JSON_GEM) -> bytes:
    """The JSON document Ruby (set up as ``style``) writes for ``value``, as UTF-8 bytes.

    The value is validated completely first, so a refused value never produces partial
    output. Values whose every float prints the same in Python and Ruby go through the C
    encoder; the rest through a Python writer with Ruby's float layout.
    """
    rules = rules_for(style)
    try:
        slow = scan(value, 0, rules)
    except Refused as refused:
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
    rules = rules_for(style)
    try:
        slow = scan_array(arguments, 2, rules)
    except Refused as refused:
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
