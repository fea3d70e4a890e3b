"""The JSON setups of Ruby processes (:class:`JsonStyle`) and what tells them apart: how each
writes floats, whether it escapes HTML characters, what it does with bytes that are not UTF-8.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass

from .refused import Refused

_OJ_INTEGRAL_LIMIT = 2.0**63
HTML_ESCAPES = (
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


def ruby_float(value: float) -> str:
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


def _refuse_non_finite(value: float) -> None:
    if math.isnan(value):
        raise Refused("NaN is not allowed in JSON (Ruby raises JSON::GeneratorError)")
    if math.isinf(value):
        sign = "-" if value < 0 else ""
        raise Refused(f"{sign}Infinity is not allowed in JSON (Ruby raises JSON::GeneratorError)")


def _json_gem_float(value: float) -> str:
    _refuse_non_finite(value)
    return ruby_float(value)


def _activesupport_float(value: float) -> str:
    return ruby_float(value) if math.isfinite(value) else "null"


def _oj_float(value: float) -> str:
    if value == 0.0:
        return "0.0"
    _refuse_non_finite(value)
    if value.is_integer() and -_OJ_INTEGRAL_LIMIT <= value < _OJ_INTEGRAL_LIMIT:
        return float.__format__(value, ".1f")
    return ruby_float(value)


def _repr_is_ruby(value: float) -> bool:
    """Whether Python's repr of ``value`` already is Ruby's text (the C encoder can write it)."""
    return 1e-4 <= abs(value) < 1e15 or value == 0.0


def _repr_is_oj(value: float) -> bool:
    return 1e-4 <= abs(value) < 1e15 or (value == 0.0 and math.copysign(1.0, value) > 0)


@dataclass(frozen=True)
class Rules:
    """What distinguishes one :class:`JsonStyle` from another."""

    repr_is_exact: Callable[[float], bool]
    format_float: Callable[[float], str]
    escape_html: bool
    string_errors: str


_JSON_GEM_RULES = Rules(_repr_is_ruby, _json_gem_float, escape_html=False, string_errors="strict")
_OJ_RULES = Rules(_repr_is_oj, _oj_float, escape_html=False, string_errors="surrogateescape")
_RULES = {
    JsonStyle.JSON_GEM: _JSON_GEM_RULES,
    JsonStyle.ACTIVESUPPORT: Rules(
        _repr_is_ruby, _activesupport_float, escape_html=True, string_errors="strict"
    ),
    JsonStyle.OJ: _OJ_RULES,
    JsonStyle.ACTIVESUPPORT_OJ: _OJ_RULES,
}


_DEFAULT_STYLE = JsonStyle.JSON_GEM


def rules_for(style: JsonStyle) -> Rules:
    if style is _DEFAULT_STYLE:
        return _JSON_GEM_RULES
    return _RULES.get(style) or _RULES[JsonStyle(style)]
