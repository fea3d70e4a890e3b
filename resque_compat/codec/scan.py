"""Validation before anything is written: what each value may be, how deep, and whether the
C encoder can write it as Ruby would.
"""

from __future__ import annotations

from typing import Any

from .refused import Refused
from .styles import Rules

_MAX_NESTING = 100

_LEAF_TYPES = frozenset({str, int, bool, type(None)})


def scan(value: Any, depth: int, rules: Rules) -> bool:
    """Validate ``value`` (at ``depth`` enclosing containers); True if the C encoder cannot
    write it as Ruby would (a float whose repr differs, bytes, a non-finite float that
    becomes ``null``)."""
    kind = type(value)
    if kind in _LEAF_TYPES:
        return False
    if kind is float:
        return _scan_float(value, rules)
    if kind is list or kind is tuple:
        return scan_array(value, depth + 1, rules)
    if kind is dict:
        return _scan_object(value, depth + 1, rules)
    return _scan_subclass(value, depth, rules)


def _scan_float(value: float, rules: Rules) -> bool:
    if rules.repr_is_exact(value):
        return False
    rules.format_float(value)
    return True


def _scan_subclass(value: object, depth: int, rules: Rules) -> bool:
    if isinstance(value, (str, int)):
        return False
    if isinstance(value, float):
        return _scan_float(value, rules)
    if isinstance(value, (list, tuple)):
        return scan_array(value, depth + 1, rules)
    if isinstance(value, dict):
        return _scan_object(value, depth + 1, rules)
    if isinstance(value, bytes):
        decode_bytes(value, rules)
        return True
    raise Refused(
        f"{type(value).__qualname__} cannot be written as JSON (accepted: None, bool, int, "
        f"float, str, bytes, list, tuple, dict with str keys): {short_repr(value)}"
    )


def _check_depth(depth: int) -> None:
    if depth > _MAX_NESTING:
        raise Refused(
            f"nested deeper than {_MAX_NESTING} arrays/objects "
            "(Ruby's JSON generator and parser refuse this with JSON::NestingError)"
        )


def scan_array(items: list[object] | tuple[object, ...], depth: int, rules: Rules) -> bool:
    _check_depth(depth)
    slow = False
    for index, item in enumerate(items):
        if type(item) in _LEAF_TYPES:
            continue
        try:
            slow = scan(item, depth, rules) or slow
        except Refused as refused:
            refused.enter(index, items)
            raise
    return slow


def _scan_object(mapping: dict[object, object], depth: int, rules: Rules) -> bool:
    _check_depth(depth)
    slow = False
    for key, item in mapping.items():
        if not isinstance(key, str):
            raise Refused(
                f"dict key {short_repr(key)} is a {type(key).__qualname__}, not a str "
                "(Ruby would write its to_s, which does not read back as the same key)"
            )
        if type(item) in _LEAF_TYPES:
            continue
        try:
            slow = scan(item, depth, rules) or slow
        except Refused as refused:
            refused.enter(key, mapping)
            raise
    return slow


def short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def decode_bytes(value: bytes, rules: Rules) -> str:
    try:
        return value.decode("utf-8", rules.string_errors)
    except UnicodeDecodeError as exc:
        raise Refused(
            f"bytes are not valid UTF-8 ({exc.reason} at byte {exc.start}); Ruby's json gem "
            "raises 'source sequence is illegal/malformed utf-8'"
        ) from None
