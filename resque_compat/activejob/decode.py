"""Reading ActiveJob's ``arguments`` (any Rails >= 6.1 form) into Python values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from zoneinfo import ZoneInfo

from .values import (
    GID_RE,
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
)
from .wire import (
    BIG_DECIMAL_SERIALIZER,
    CALENDAR_UNITS,
    DATE_RE,
    DATE_SERIALIZER,
    DATE_TIME_SERIALIZER,
    DURATION_SERIALIZER,
    GLOBALID_KEY,
    HASH_MARKERS,
    MODULE_SERIALIZER,
    OBJECT_SERIALIZER_KEY,
    RANGE_SERIALIZER,
    RESERVED_KEYS,
    RUBY2_KEYWORDS_KEY,
    SYMBOL_SERIALIZER,
    TIME_SERIALIZER,
    TIME_WITH_ZONE_SERIALIZER,
    WITH_INDIFFERENT_ACCESS_KEY,
    ActiveJobArgumentError,
    Number,
    deserialization_error,
    is_number,
    parse_time,
)


@dataclass(frozen=True)
class _DecodeContext:
    resolve_globalid: Callable[[GlobalID], Any] | None


def deserialize_arguments(
    arguments: list[Any], *, resolve_globalid: Callable[[GlobalID], Any] | None = None
) -> tuple[list[Any], dict[str, Any]]:
    """Read ``job_data["arguments"]`` into ``(args, kwargs)`` for a Python job.

    A trailing hash marked ``_aj_ruby2_keywords`` is Ruby's ``**kwargs`` and becomes
    ``kwargs`` (a ruby2_keywords hash anywhere else is an ordinary hash). Models arrive
    as ``GlobalID`` unless ``resolve_globalid`` loads them; whatever it raises becomes an
    ``ActiveJobDeserializationError`` (Rails' DeserializationError, which jobs may
    ``discard_on``), with the original as ``__cause__``.
    """
    if not isinstance(arguments, list):
        raise deserialization_error(f"arguments must be an Array, got {arguments!r}")
    context = _DecodeContext(resolve_globalid)
    positional = list(arguments)
    kwargs: dict[str, Any] = {}
    if positional and _is_keywords_hash(positional[-1]):
        kwargs = dict(_decode(positional.pop(), context))
    return [_decode(item, context) for item in positional], kwargs


def _is_keywords_hash(value: object) -> bool:
    return (
        isinstance(value, dict)
        and RUBY2_KEYWORDS_KEY in value
        and OBJECT_SERIALIZER_KEY not in value
        and GLOBALID_KEY not in value
    )


def _decode(value: Any, context: _DecodeContext) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_decode(item, context) for item in value]
    if isinstance(value, dict):
        return _decode_hash(value, context)
    raise deserialization_error(f"Can only deserialize primitive arguments: {value!r}")


def _decode_hash(value: dict[str, Any], context: _DecodeContext) -> Any:
    if len(value) == 1 and GLOBALID_KEY in value:
        return _decode_globalid(value[GLOBALID_KEY], context)
    if OBJECT_SERIALIZER_KEY in value:
        return _decode_serialized(value, context)
    return _decode_plain_hash(value, context)


def _decode_globalid(uri: object, context: _DecodeContext) -> Any:
    if not isinstance(uri, str) or GID_RE.fullmatch(uri) is None:
        raise deserialization_error(f"{GLOBALID_KEY} is not a GlobalID URI: {uri!r}")
    gid = GlobalID(uri)
    if context.resolve_globalid is None:
        return gid
    try:
        return context.resolve_globalid(gid)
    except Exception as exc:
        raise deserialization_error(str(exc) or type(exc).__name__) from exc


def _decode_serialized(value: dict[str, Any], context: _DecodeContext) -> Any:
    name = value[OBJECT_SERIALIZER_KEY]
    if not isinstance(name, str):
        raise deserialization_error(f"Serializer name is not present in the argument: {value!r}")
    decoder = _DECODERS.get(name)
    if decoder is None:
        raise deserialization_error(f"Serializer {name} is not known")
    return decoder(value, context)


def _decode_plain_hash(value: dict[str, Any], context: _DecodeContext) -> dict[str, Any]:
    markers = [key for key in HASH_MARKERS if key in value]
    stray = sorted(key for key in value if key in RESERVED_KEYS and key not in markers)
    if len(markers) > 1 or stray:
        raise deserialization_error(f"hash mixes ActiveJob's reserved keys: {value!r}")
    body = {key: _decode(item, context) for key, item in value.items() if key not in markers}
    if not markers:
        return body
    if markers[0] == WITH_INDIFFERENT_ACCESS_KEY:
        if value[WITH_INDIFFERENT_ACCESS_KEY] is not True:
            raise deserialization_error(f"{WITH_INDIFFERENT_ACCESS_KEY} must be true: {value!r}")
        return IndifferentDict(body)
    names = value[markers[0]]
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise deserialization_error(f"{markers[0]} must be a list of key names: {value!r}")
    symbols = [key for key in body if key in names]
    return SymbolKeysDict(body, symbol_keys=symbols) if symbols else body


def _required(value: dict[str, Any], key: str) -> Any:
    """A serializer hash's field, which must be present: a malformed one must not reach a job."""
    if key not in value:
        raise deserialization_error(f"{value[OBJECT_SERIALIZER_KEY]} without {key!r}: {value!r}")
    return value[key]


def _field(value: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """A required field of the given JSON type (``true`` is no number here, as in Ruby)."""
    item = _required(value, key)
    is_bool = isinstance(item, bool)
    if not isinstance(item, kind) or (is_bool and kind is not bool):
        raise deserialization_error(f"{value[OBJECT_SERIALIZER_KEY]} with bad {key!r}: {value!r}")
    return item


def _decode_symbol(value: dict[str, Any], context: _DecodeContext) -> Symbol:
    return Symbol(_field(value, "value", str))


def _decode_module(value: dict[str, Any], context: _DecodeContext) -> RubyModule:
    name = _field(value, "value", str)
    if not name:
        raise deserialization_error(f"module without a name: {value!r}")
    return RubyModule(name)


def _decode_time(value: dict[str, Any], context: _DecodeContext) -> RubyTime:
    parsed, nanos = parse_time(_field(value, "value", str))
    return RubyTime.from_datetime(parsed, nanosecond=nanos)


def _decode_date_time(value: dict[str, Any], context: _DecodeContext) -> RubyDateTime:
    parsed, nanos = parse_time(_field(value, "value", str))
    return RubyDateTime.from_datetime(parsed, nanosecond=nanos)


def _decode_time_with_zone(value: dict[str, Any], context: _DecodeContext) -> TimeWithZone:
    parsed, nanos = parse_time(_field(value, "value", str))
    zone = value.get("time_zone")
    if zone is not None and not isinstance(zone, str):
        raise deserialization_error(f"time_zone must be a zone name: {value!r}")
    return TimeWithZone.with_zone(_in_zone(parsed, zone), zone, nanosecond=nanos)


def _in_zone(parsed: datetime, zone: str | None) -> datetime:
    """Rails' ``in_time_zone(time_zone)``; an unknown name keeps the written offset."""
    if zone is None:
        return parsed
    try:
        # ZoneInfoNotFoundError is a KeyError; malformed keys raise ValueError, and a
        # directory name (``America``) may raise an OSError on some Pythons.
        return parsed.astimezone(ZoneInfo(zone))
    except (KeyError, ValueError, OSError):
        return parsed


def _decode_date(value: dict[str, Any], context: _DecodeContext) -> date:
    text = _field(value, "value", str)
    match = DATE_RE.fullmatch(text)
    try:
        if match is None:
            raise ValueError("expected YYYY-MM-DD")
        return date(*(int(part) for part in match.groups()))
    except ValueError as exc:
        raise deserialization_error(f"invalid date {text!r}: {exc}") from exc


def _decode_duration(value: dict[str, Any], context: _DecodeContext) -> Any:
    amount = _field(value, "value", (int, float))
    parts = [_duration_part(pair, context) for pair in _field(value, "parts", list)]
    try:
        if any(unit in CALENDAR_UNITS for unit, _ in parts):
            return CalendarDuration(amount, tuple(parts))
        return RubyDuration(amount, parts)
    except (ActiveJobArgumentError, OverflowError) as exc:
        raise deserialization_error(f"invalid duration {value!r}: {exc}") from exc


def _duration_part(pair: object, context: _DecodeContext) -> tuple[str, Number]:
    decoded = _decode(pair, context)
    if (
        not isinstance(decoded, list)
        or len(decoded) != 2
        or not isinstance(decoded[0], Symbol)
        or not is_number(decoded[1])
    ):
        raise deserialization_error(f"Duration part must be [Symbol, number]: {pair!r}")
    return decoded[0].name, decoded[1]


def _decode_range(value: dict[str, Any], context: _DecodeContext) -> RubyRange:
    begin = _decode(_required(value, "begin"), context)
    end = _decode(_required(value, "end"), context)
    return RubyRange(begin, end, _field(value, "exclude_end", bool))


def _decode_big_decimal(value: dict[str, Any], context: _DecodeContext) -> Decimal:
    text = _field(value, "value", str)
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise deserialization_error(f"invalid BigDecimal {text!r}") from exc


_Decoder = Callable[[dict[str, Any], _DecodeContext], Any]
_DECODERS: Final[dict[str, _Decoder]] = {
    SYMBOL_SERIALIZER: _decode_symbol,
    TIME_SERIALIZER: _decode_time,
    DATE_TIME_SERIALIZER: _decode_date_time,
    TIME_WITH_ZONE_SERIALIZER: _decode_time_with_zone,
    DATE_SERIALIZER: _decode_date,
    DURATION_SERIALIZER: _decode_duration,
    MODULE_SERIALIZER: _decode_module,
    RANGE_SERIALIZER: _decode_range,
    BIG_DECIMAL_SERIALIZER: _decode_big_decimal,
}
