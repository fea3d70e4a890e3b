"""Writing Python values as ActiveJob's ``arguments``, in the form a given Rails reads."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from .values import (
    CalendarDuration,
    GlobalID,
    IndifferentDict,
    RubyDateTime,
    RubyDuration,
    RubyModule,
    RubyRange,
    Symbol,
    TimeWithZone,
)
from .wire import (
    BIG_DECIMAL_SERIALIZER,
    BIG_DECIMAL_SINCE,
    DATE_SERIALIZER,
    DATE_TIME_SERIALIZER,
    DURATION_SERIALIZER,
    GLOBALID_KEY,
    MODULE_SERIALIZER,
    OBJECT_SERIALIZER_KEY,
    RANGE_SERIALIZER,
    RANGE_SINCE,
    RESERVED_KEYS,
    RUBY2_KEYWORDS_KEY,
    SYMBOL_KEYS_KEY,
    SYMBOL_SERIALIZER,
    TIME_SERIALIZER,
    TIME_WITH_ZONE_SERIALIZER,
    WITH_INDIFFERENT_ACCESS_KEY,
    ZONE_NAME_SINCE,
    ActiveJobSerializationError,
    Number,
    format_time,
    parse_version,
)


@dataclass(frozen=True)
class _EncodeContext:
    version: tuple[int, int]
    symbol_keys: bool
    globalid_for: Callable[[Any], GlobalID | None] | None


def serialize_arguments(
    args: Sequence[Any],
    kwargs: Mapping[str, Any] | None,
    *,
    rails_version: str = "6.1",
    symbol_keys: bool = False,
    globalid_for: Callable[[Any], GlobalID | None] | None = None,
) -> list[Any]:
    """Write ``args`` and ``kwargs`` as ActiveJob's ``arguments`` array.

    ``rails_version`` is the oldest Rails that will read the job; the default writes
    what every Rails >= 6.1 reads. ``symbol_keys=True`` writes the str keys of plain
    dicts as Ruby Symbols (for Ruby jobs that read ``opts[:key]``); ``Symbol`` keys and
    ``SymbolKeysDict`` do so per key. ``globalid_for`` maps an application object to its
    GlobalID (``None``: not a model). Raises ``ActiveJobSerializationError`` for anything
    ActiveJob cannot carry, so nothing half-written is ever enqueued.
    """
    if isinstance(args, (str, bytes, Mapping)) or not isinstance(args, Sequence):
        raise ActiveJobSerializationError(f"args must be a sequence of arguments, got {args!r}")
    context = _EncodeContext(parse_version(rails_version), symbol_keys, globalid_for)
    result = [_encode(item, context) for item in args]
    if kwargs:
        result.append(_encode_keywords(kwargs, context))
    return result


def _encode(value: Any, context: _EncodeContext) -> Any:
    for kind, encoder in _ENCODERS:
        if isinstance(value, kind):
            return encoder(value, context)
    return _encode_other(value, context)


def _encode_other(value: Any, context: _EncodeContext) -> Any:
    """Last resort, as in Rails: a model with a GlobalID, else an unsupported type."""
    if context.globalid_for is not None:
        try:
            gid = context.globalid_for(value)
        except Exception as exc:
            raise ActiveJobSerializationError(
                f"Unable to serialize {type(value).__name__}: {exc}"
            ) from exc
        if isinstance(gid, GlobalID):
            return {GLOBALID_KEY: gid.uri}
        if gid is not None:
            raise ActiveJobSerializationError(f"globalid_for returned {gid!r}, not a GlobalID")
    raise ActiveJobSerializationError(f"Unsupported argument type: {type(value).__name__}")


def _serialized(name: str, **fields: Any) -> dict[str, Any]:
    """ObjectSerializer's form: the serializer's name first, then its fields in order."""
    return {OBJECT_SERIALIZER_KEY: name, **fields}


def _encode_none(value: None, context: _EncodeContext) -> None:
    return None


def _encode_bool(value: bool, context: _EncodeContext) -> bool:
    return value is True


def _encode_int(value: int, context: _EncodeContext) -> int:
    return operator.index(value)  # an IntEnum is written as its number


def _encode_float(value: float, context: _EncodeContext) -> float:
    if not math.isfinite(value):
        raise ActiveJobSerializationError(
            f"Float {value!r} cannot be a job argument: Rails' JSON writes it as null"
        )
    return float(value)


def _encode_str(value: str, context: _EncodeContext) -> str:
    return str.__str__(value)  # a str subclass (StrEnum...) is written as its text


def _encode_symbol(value: Symbol, context: _EncodeContext) -> dict[str, Any]:
    return _serialized(SYMBOL_SERIALIZER, value=value.name)


def _encode_globalid(value: GlobalID, context: _EncodeContext) -> dict[str, Any]:
    return {GLOBALID_KEY: value.uri}


def _encode_module(value: RubyModule, context: _EncodeContext) -> dict[str, Any]:
    return _serialized(MODULE_SERIALIZER, value=value.name)


def _encode_range(value: RubyRange, context: _EncodeContext) -> dict[str, Any]:
    if context.version < RANGE_SINCE:
        raise ActiveJobSerializationError(
            "a Range needs rails_version >= 7.0 (RangeSerializer is new in Rails 7.0)"
        )
    if not isinstance(value.exclude_end, bool):
        raise ActiveJobSerializationError(f"Range exclude_end must be a bool: {value!r}")
    begin, end = _encode(value.begin, context), _encode(value.end, context)
    return _serialized(RANGE_SERIALIZER, begin=begin, end=end, exclude_end=value.exclude_end)


def _encode_time_with_zone(value: TimeWithZone, context: _EncodeContext) -> dict[str, Any]:
    result = _serialized(TIME_WITH_ZONE_SERIALIZER, value=format_time(value))
    zone = value.zone or getattr(value.tzinfo, "key", None)
    if context.version >= ZONE_NAME_SINCE and zone:
        result["time_zone"] = zone
    return result


def _encode_date_time(value: RubyDateTime, context: _EncodeContext) -> dict[str, Any]:
    return _serialized(DATE_TIME_SERIALIZER, value=format_time(value, allow_z=False))


def _encode_time(value: datetime, context: _EncodeContext) -> dict[str, Any]:
    return _serialized(TIME_SERIALIZER, value=format_time(value))


def _encode_date(value: date, context: _EncodeContext) -> dict[str, Any]:
    return _serialized(DATE_SERIALIZER, value=value.isoformat())


def _encode_duration_parts(
    value: Number, parts: Iterable[tuple[str, Number]], context: _EncodeContext
) -> dict[str, Any]:
    pairs = [[_encode_symbol(Symbol(unit), context), amount] for unit, amount in parts]
    return _serialized(DURATION_SERIALIZER, value=value, parts=pairs)


def _encode_ruby_duration(value: RubyDuration, context: _EncodeContext) -> dict[str, Any]:
    return _encode_duration_parts(value.value, value.parts, context)


def _encode_calendar_duration(value: CalendarDuration, context: _EncodeContext) -> dict[str, Any]:
    return _encode_duration_parts(value.value, value.parts, context)


def _encode_timedelta(value: timedelta, context: _EncodeContext) -> dict[str, Any]:
    """A plain timedelta is an exact number of seconds: Ruby's ``N.seconds``."""
    whole = value.days * 86400 + value.seconds
    seconds: Number = whole + value.microseconds / 1_000_000 if value.microseconds else whole
    return _encode_duration_parts(seconds, [("seconds", seconds)], context)


def _ruby_decimal_text(value: Decimal) -> str:
    """BigDecimal#to_s as ActiveSupport makes it ("F" format): ``1.5``, ``100.0``, ``-0.0``."""
    if not value.is_finite():
        return "NaN" if value.is_nan() else str(value)
    whole, _, fraction = format(value, "f").partition(".")
    return f"{whole}.{fraction.rstrip('0') or '0'}"


def _encode_decimal(value: Decimal, context: _EncodeContext) -> Any:
    if context.version >= BIG_DECIMAL_SINCE:
        return _serialized(BIG_DECIMAL_SERIALIZER, value=_ruby_decimal_text(value))
    if not value.is_finite():
        raise ActiveJobSerializationError(
            f"Decimal {value} needs rails_version >= 7.1: older Rails writes it as null"
        )
    return _ruby_decimal_text(value)  # what Rails < 7.1 writes: Ruby then reads a String


def _encode_array(value: Sequence[Any], context: _EncodeContext) -> list[Any]:
    return [_encode(item, context) for item in value]


def _hash_key(key: object) -> tuple[str, bool]:
    """A hash key's JSON name and whether Ruby had it as a Symbol; refuses what Rails refuses."""
    if isinstance(key, Symbol):
        name, is_symbol = key.name, True
    elif isinstance(key, str):
        name, is_symbol = str.__str__(key), False
    else:
        raise ActiveJobSerializationError(
            "Only string and symbol hash keys may be serialized as job arguments, "
            f"but {key!r} is a {type(key).__name__}"
        )
    if name in RESERVED_KEYS:
        raise ActiveJobSerializationError(f"Can't serialize a Hash with reserved key {key!r}")
    return name, is_symbol


def _encode_entries(
    value: Mapping[Any, Any], context: _EncodeContext
) -> tuple[dict[str, Any], list[str]]:
    """A hash's entries in order, and the names of those Ruby should see as Symbols."""
    remembered: frozenset[str] = getattr(value, "symbol_keys", frozenset())
    result: dict[str, Any] = {}
    symbols: list[str] = []
    for key, item in value.items():
        name, is_symbol = _hash_key(key)
        if name in result:
            raise ActiveJobSerializationError(f"hash key {name!r} given twice (str and Symbol)")
        result[name] = _encode(item, context)
        if is_symbol or context.symbol_keys or name in remembered:
            symbols.append(name)
    return result, symbols


def _encode_hash(value: Mapping[Any, Any], context: _EncodeContext) -> dict[str, Any]:
    result, symbols = _encode_entries(value, context)
    result[SYMBOL_KEYS_KEY] = symbols
    return result


def _encode_indifferent(value: IndifferentDict, context: _EncodeContext) -> dict[str, Any]:
    result, _ = _encode_entries(value, context)  # HashWithIndifferentAccess keys are strings
    result[WITH_INDIFFERENT_ACCESS_KEY] = True
    return result


def _encode_keywords(kwargs: Mapping[str, Any], context: _EncodeContext) -> dict[str, Any]:
    """Ruby's ``**kwargs``: every key is a Symbol and the hash is marked ruby2_keywords."""
    if not isinstance(kwargs, Mapping):
        raise ActiveJobSerializationError(f"kwargs must be a mapping, got {kwargs!r}")
    for key in kwargs:
        if not isinstance(key, str):
            raise ActiveJobSerializationError(f"keyword argument names must be str: {key!r}")
    result, _ = _encode_entries(kwargs, context)
    result[RUBY2_KEYWORDS_KEY] = list(result)
    return result


def _refuse_set(value: object, context: _EncodeContext) -> Any:
    raise ActiveJobSerializationError(
        f"Unsupported argument type: {type(value).__name__} (pass a list: Ruby's Set is no "
        "ActiveJob argument)"
    )


_Encoder = Callable[[Any, _EncodeContext], Any]
#: Checked in order: subclasses before their bases (bool before int, Symbol before str,
#: datetime before date).
_ENCODERS: Final[tuple[tuple[type | tuple[type, ...], _Encoder], ...]] = (
    (type(None), _encode_none),
    (bool, _encode_bool),
    (int, _encode_int),
    (float, _encode_float),
    (Symbol, _encode_symbol),
    (RubyModule, _encode_module),
    (str, _encode_str),
    (GlobalID, _encode_globalid),
    (RubyRange, _encode_range),
    (TimeWithZone, _encode_time_with_zone),
    (RubyDateTime, _encode_date_time),
    (datetime, _encode_time),
    (date, _encode_date),
    (RubyDuration, _encode_ruby_duration),
    (CalendarDuration, _encode_calendar_duration),
    (timedelta, _encode_timedelta),
    (Decimal, _encode_decimal),
    ((list, tuple), _encode_array),
    (IndifferentDict, _encode_indifferent),
    (Mapping, _encode_hash),
    ((set, frozenset), _refuse_set),
)
