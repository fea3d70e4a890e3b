"""ActiveJob's argument and job-data serialisation, as pure functions (no Redis).

Rails enqueues an ActiveJob job through Resque as
``{"class": "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper", "args": [job_data]}``
(no ``wrapped`` key: Resque's adapter, unlike Sidekiq's, never writes one, in any Rails
from 6.1 to 8.1). ``job_data["arguments"]`` is the job's arguments passed through
``ActiveJob::Arguments.serialize``: JSON scalars as they are, and everything else as a
hash carrying one of ActiveJob's markers. This module reads and writes that form so that
a Python worker can perform jobs Ruby enqueued, and a Python producer can enqueue jobs a
Ruby worker performs, with the same bytes Rails would write.

Written from a reading of ``activejob/lib/active_job/arguments.rb``, ``core.rb`` and
``serializers/*.rb`` of Rails 6.1.7, 7.0.0, 7.1.0, 7.2.0, 8.0.0 and 8.1.0, and checked
against the recording ``compat_tests/reference/activejob.json`` (Rails 6.1.7).

Mapping (decoding accepts every form below whatever version wrote it; encoding writes
the form of the ``rails_version`` given, which names the *oldest* Rails that will read
the job; the default ``"6.1"`` is understood by every Rails >= 6.1):

=====================================================  ==================================
Ruby value -> wire form (Rails versions writing it)    Python value
=====================================================  ==================================
nil / true / false / Integer / Float / String          None / bool / int / float / str
Array                                                  list (tuple also encodes as one)
Hash, string keys: ``_aj_symbol_keys: []``             dict
Hash with Symbol keys: ``_aj_symbol_keys: [names]``    SymbolKeysDict (a dict with str
                                                       keys that remembers which were
                                                       Symbols); Symbol(...) keys or
                                                       ``symbol_keys=True`` on encode
HashWithIndifferentAccess: ``..._access: true``        IndifferentDict
trailing ``**kwargs`` hash: ``_aj_ruby2_keywords``     the kwargs dict of
                                                       deserialize_arguments
Symbol (SymbolSerializer, all)                         Symbol
GlobalID model ``{"_aj_globalid": "gid://..."}``       resolver(GlobalID) or GlobalID
Time (TimeSerializer, iso8601(9), all)                 RubyTime (an aware datetime)
DateTime (DateTimeSerializer, all)                     RubyDateTime (an aware datetime)
TimeWithZone (6.1-7.1: value; 7.2+: + time_zone)       TimeWithZone (an aware datetime;
                                                       tzinfo = ZoneInfo(time_zone)
                                                       when known, else fixed offset)
Date (DateSerializer, all)                             datetime.date
Duration of weeks/days/hours/minutes/seconds           RubyDuration (a timedelta that
  (DurationSerializer: value + parts, all)             keeps value and parts)
Duration with months or years                          CalendarDuration (not a
                                                       timedelta: a month is no fixed
                                                       length once added to a date)
Module / Class (ModuleSerializer, 6.1+)                RubyModule
Range (RangeSerializer, 7.0+)                          RubyRange
BigDecimal 6.1 / 7.0 (and 7.1 without                  str "1.5" (Rails itself writes a
  use_big_decimal_serializer): a JSON string           plain string; Ruby reads a String)
BigDecimal (BigDecimalSerializer, 7.1 opt-in, 7.2+)    decimal.Decimal
=====================================================  ==================================

Encoding plain Python values: an aware ``datetime`` is a Ruby ``Time``; a ``timedelta``
is ``N.seconds``; a ``Decimal`` is the plain string Rails < 7.1 writes, or the
BigDecimalSerializer form for ``rails_version >= "7.1"``; a ``RubyRange`` needs
``rails_version >= "7.0"``. Refused before anything is written
(``ActiveJobSerializationError``): naive datetimes, NaN and infinite floats (Rails would
write ``null``), sets, objects without a GlobalID, hash keys that are neither str nor
Symbol, ActiveJob's reserved keys.

Precision: Rails writes times with 9 fraction digits; ``datetime`` holds 6. The time
classes keep the 3 digits below the microsecond in ``.nanosecond`` so that re-encoding
writes Ruby's exact string; arithmetic on them gives values without those digits
(``datetime`` semantics), and comparisons ignore them. Digits past the 9th are dropped.

Stricter than Rails on purpose (``ActiveJobDeserializationError``, so that the worker
records a failure with the payload intact instead of running a job on guessed values):
a hash mixing a marker with another reserved key (Rails keeps the stray key as data),
``_aj_globalid`` that is no ``gid://`` URI (Rails passes ``nil``), an unknown time zone
name is the one leniency (the written offset is kept, where Rails raises).
"""

from __future__ import annotations

import math
import operator
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from datetime import timezone as _timezone
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Final, SupportsIndex, TypeVar
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from .errors import ResqueCompatError

__all__ = [
    "JOB_WRAPPER_CLASS",
    "ActiveJobArgumentError",
    "ActiveJobDeserializationError",
    "ActiveJobSerializationError",
    "CalendarDuration",
    "GlobalID",
    "IndifferentDict",
    "RubyDateTime",
    "RubyDuration",
    "RubyModule",
    "RubyRange",
    "RubyTime",
    "Symbol",
    "SymbolKeysDict",
    "TimeWithZone",
    "build_job_data",
    "deserialize_arguments",
    "format_enqueued_at",
    "parse_enqueued_at",
    "serialize_arguments",
    "wrap_job_data",
]

JOB_WRAPPER_CLASS: Final = "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper"

GLOBALID_KEY: Final = "_aj_globalid"
SYMBOL_KEYS_KEY: Final = "_aj_symbol_keys"
RUBY2_KEYWORDS_KEY: Final = "_aj_ruby2_keywords"
WITH_INDIFFERENT_ACCESS_KEY: Final = "_aj_hash_with_indifferent_access"
OBJECT_SERIALIZER_KEY: Final = "_aj_serialized"
RESERVED_KEYS: Final = frozenset(
    {
        GLOBALID_KEY,
        SYMBOL_KEYS_KEY,
        RUBY2_KEYWORDS_KEY,
        WITH_INDIFFERENT_ACCESS_KEY,
        OBJECT_SERIALIZER_KEY,
    }
)
_HASH_MARKERS: Final = (WITH_INDIFFERENT_ACCESS_KEY, SYMBOL_KEYS_KEY, RUBY2_KEYWORDS_KEY)

_PREFIX: Final = "ActiveJob::Serializers::"
SYMBOL_SERIALIZER: Final = _PREFIX + "SymbolSerializer"
TIME_SERIALIZER: Final = _PREFIX + "TimeSerializer"
DATE_TIME_SERIALIZER: Final = _PREFIX + "DateTimeSerializer"
TIME_WITH_ZONE_SERIALIZER: Final = _PREFIX + "TimeWithZoneSerializer"
DATE_SERIALIZER: Final = _PREFIX + "DateSerializer"
DURATION_SERIALIZER: Final = _PREFIX + "DurationSerializer"
MODULE_SERIALIZER: Final = _PREFIX + "ModuleSerializer"
RANGE_SERIALIZER: Final = _PREFIX + "RangeSerializer"
BIG_DECIMAL_SERIALIZER: Final = _PREFIX + "BigDecimalSerializer"

#: ActiveSupport::Duration units; the first five have a fixed length in seconds.
_FIXED_UNITS: Final = frozenset({"weeks", "days", "hours", "minutes", "seconds"})
_CALENDAR_UNITS: Final = frozenset({"months", "years"})

_RANGE_SINCE: Final = (7, 0)
_BIG_DECIMAL_SINCE: Final = (7, 1)
_NANO_ENQUEUED_AT_SINCE: Final = (7, 1)
_ZONE_NAME_SINCE: Final = (7, 2)

_TimeT = TypeVar("_TimeT", bound="_NanoDatetime")
_DurationT = TypeVar("_DurationT", bound="RubyDuration")
_Number = int | float


# --------------------------------------------------------------------------- errors


class ActiveJobArgumentError(ResqueCompatError, ValueError):
    """Job arguments ActiveJob could not carry, or a payload that is not ActiveJob's form.

    ``ruby_class`` names the Ruby exception Rails raises in the same situation, for
    failure records that should read like Ruby's.
    """

    ruby_class: ClassVar[str] = "ArgumentError"

    @property
    def ruby_name(self) -> str:
        """The exception name a worker's failure record carries (see ``worker.runner``)."""
        return self.ruby_class


class ActiveJobSerializationError(ActiveJobArgumentError):
    """A value cannot be written as an ActiveJob argument; raised before anything is sent."""

    ruby_class: ClassVar[str] = "ActiveJob::SerializationError"


class ActiveJobDeserializationError(ActiveJobArgumentError):
    """Serialized arguments cannot be read back (unknown serializer, bad marker, resolver failed).

    The message starts like Rails' own ("Error while trying to deserialize arguments: ...");
    a resolver's exception is kept as ``__cause__``.
    """

    ruby_class: ClassVar[str] = "ActiveJob::DeserializationError"


def _deserialization_error(message: str) -> ActiveJobDeserializationError:
    return ActiveJobDeserializationError(f"Error while trying to deserialize arguments: {message}")


# --------------------------------------------------------------------------- value types


@dataclass(frozen=True)
class Symbol:
    """A Ruby Symbol (``:name``): Python has no twin, and Ruby code tells ``:a`` from ``"a"``."""

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ActiveJobArgumentError(f"Symbol name must be a str, got {self.name!r}")


_GID_RE: Final = re.compile(r"gid://(?P<app>[^/?#]+)/(?P<model>[^/?#]+)/(?P<id>[^?#]+)(?:\?[^#]*)?")


@dataclass(frozen=True)
class GlobalID:
    """A GlobalID URI (``gid://app/Model/id``): how ActiveJob passes Active Record models.

    Python cannot load the record; a ``resolve_globalid`` callback may, otherwise the job
    receives this object.
    """

    uri: str

    def __post_init__(self) -> None:
        if not isinstance(self.uri, str) or _GID_RE.fullmatch(self.uri) is None:
            raise ActiveJobArgumentError(f"not a GlobalID URI (gid://app/Model/id): {self.uri!r}")

    @classmethod
    def create(cls, app: str, model_name: str, model_id: object) -> GlobalID:
        """Build ``gid://app/Model/id``, escaping the id as the globalid gem does."""
        return cls(f"gid://{app}/{model_name}/{quote(str(model_id), safe='')}")

    def _part(self, name: str) -> str:
        match = _GID_RE.fullmatch(self.uri)
        assert match is not None  # checked in __post_init__
        return match.group(name)

    @property
    def app(self) -> str:
        """The application name (``GlobalID.app`` of the Ruby side)."""
        return self._part("app")

    @property
    def model_name(self) -> str:
        """The model class name, e.g. ``Person`` or ``Admin::User``."""
        return self._part("model")

    @property
    def model_id(self) -> str:
        """The record id, unescaped (a composite key stays ``"1/2"``)."""
        return unquote(self._part("id"))


@dataclass(frozen=True)
class RubyModule:
    """A Ruby Class or Module passed as an argument (``String``, ``Admin::Report``)."""

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ActiveJobArgumentError(f"RubyModule needs a constant name, got {self.name!r}")


@dataclass(frozen=True)
class RubyRange:
    """A Ruby Range (``1..10``, ``1...10``, ``(1..)``); ``None`` is an open end."""

    begin: Any
    end: Any
    exclude_end: bool = False


@dataclass(frozen=True)
class CalendarDuration:
    """An ActiveSupport::Duration with months or years.

    Not a ``timedelta``: Ruby adds ``1.month`` on the calendar (Jan 31 + 1 month = Feb 28),
    so no fixed number of seconds would behave the same. ``value`` is Ruby's seconds
    (a month counts 2629746 s, a year 31556952 s); ``parts`` keeps Ruby's units in order.
    """

    value: _Number
    parts: tuple[tuple[str, _Number], ...]

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "parts", _checked_parts(self.parts, _FIXED_UNITS | _CALENDAR_UNITS)
        )


def _checked_parts(
    parts: Iterable[tuple[str, _Number]], allowed: frozenset[str]
) -> tuple[tuple[str, _Number], ...]:
    """Validate Duration parts: known unit names and numbers, kept in the given order."""
    checked = tuple((unit, amount) for unit, amount in parts)
    for unit, amount in checked:
        if unit not in allowed:
            raise ActiveJobArgumentError(f"Duration part {unit!r} is not one of {sorted(allowed)}")
        if not _is_number(amount):
            raise ActiveJobArgumentError(f"Duration part {unit!r} needs a number, got {amount!r}")
    return checked


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class RubyDuration(timedelta):
    """An ActiveSupport::Duration of fixed length, usable as a ``timedelta``.

    It keeps Ruby's ``value`` and ``parts`` (``1.day + 2.hours`` is not ``93600.seconds``
    to Ruby) so that re-enqueueing writes the same bytes. Arithmetic gives plain
    ``timedelta`` values; equality is that of ``timedelta`` (parts are ignored).
    """

    _value: _Number
    _parts: tuple[tuple[str, _Number], ...]

    def __new__(
        cls: type[_DurationT], value: _Number, parts: Iterable[tuple[str, _Number]] | None = None
    ) -> _DurationT:
        if not _is_number(value):
            raise ActiveJobArgumentError(f"Duration value must be a number, got {value!r}")
        checked = _checked_parts(((("seconds", value),) if parts is None else parts), _FIXED_UNITS)
        self = super().__new__(cls, seconds=value)
        self._value = value
        self._parts = checked
        return self

    @property
    def value(self) -> _Number:
        """Ruby's ``Duration#value``: the length in seconds, int or float as Ruby had it."""
        return self._value

    @property
    def parts(self) -> tuple[tuple[str, _Number], ...]:
        """Ruby's ``Duration#parts`` as ``(unit, amount)`` pairs, in Ruby's order."""
        return self._parts

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        return (type(self), (self._value, self._parts))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._value!r}, {list(self._parts)!r})"


class _NanoDatetime(datetime):
    """An aware ``datetime`` that also keeps the 3 digits below the microsecond.

    Ruby times carry nanoseconds and ActiveJob writes 9 fraction digits; keeping the
    extra digits lets a decoded value be written back byte for byte.
    """

    _nanosecond: int

    def __new__(
        cls: type[_TimeT],
        year: int,
        month: int,
        day: int,
        hour: int = 0,
        minute: int = 0,
        second: int = 0,
        microsecond: int = 0,
        tzinfo: tzinfo | None = None,
        *,
        fold: int = 0,
        nanosecond: int = 0,
    ) -> _TimeT:
        if not 0 <= nanosecond <= 999:
            raise ValueError(f"nanosecond must be in 0..999 (below the microsecond): {nanosecond}")
        self = super().__new__(
            cls, year, month, day, hour, minute, second, microsecond, tzinfo, fold=fold
        )
        self._nanosecond = nanosecond
        return self

    @classmethod
    def from_datetime(cls: type[_TimeT], value: datetime, *, nanosecond: int = 0) -> _TimeT:
        """The same instant and tzinfo as ``value``, as this class."""
        return cls(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            value.tzinfo,
            fold=value.fold,
            nanosecond=nanosecond,
        )

    @property
    def nanosecond(self) -> int:
        """Nanoseconds below the microsecond (0-999), as Ruby sent them."""
        return self._nanosecond

    def _state(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        args = (self.year, self.month, self.day, self.hour, self.minute, self.second)
        return (*args, self.microsecond, self.tzinfo), {
            "fold": self.fold,
            "nanosecond": self._nanosecond,
        }

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        args, kwargs = self._state()
        return (_rebuild, (type(self), args, kwargs))

    def __repr__(self) -> str:
        _, kwargs = self._state()
        extras = "".join(f", {k}={v!r}" for k, v in kwargs.items() if k != "fold" and v)
        return super().__repr__()[:-1] + extras + ")"


def _rebuild(cls: type[Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Pickle/copy helper: the time classes need keyword arguments datetime's own reduce drops."""
    return cls(*args, **kwargs)


class RubyTime(_NanoDatetime):
    """A Ruby ``Time`` (TimeSerializer). A plain aware ``datetime`` encodes the same way."""


class RubyDateTime(_NanoDatetime):
    """A Ruby ``DateTime`` (DateTimeSerializer); Ruby writes its UTC offset, never ``Z``."""


class TimeWithZone(_NanoDatetime):
    """An ``ActiveSupport::TimeWithZone``: an aware datetime plus the Rails zone name.

    ``zone`` is the IANA name Rails >= 7.2 writes (``Asia/Tokyo``) and the tzinfo is then
    ``ZoneInfo(zone)``; the 6.1-7.1 form carries only an offset, so ``zone`` is ``None``
    and the tzinfo is that fixed offset (Rails 6.1 itself reads it in the worker's
    ``Time.zone``: the instant is the same). Encoding for ``rails_version >= "7.2"`` writes
    ``time_zone`` from ``zone``, else from a ``ZoneInfo`` tzinfo's key, else leaves it out
    (Rails then reads the time in its own ``Time.zone``).
    """

    _zone: str | None

    def __new__(
        cls,
        year: int,
        month: int,
        day: int,
        hour: int = 0,
        minute: int = 0,
        second: int = 0,
        microsecond: int = 0,
        tzinfo: tzinfo | None = None,
        *,
        fold: int = 0,
        nanosecond: int = 0,
        zone: str | None = None,
    ) -> TimeWithZone:
        self = super().__new__(
            cls,
            year,
            month,
            day,
            hour,
            minute,
            second,
            microsecond,
            tzinfo,
            fold=fold,
            nanosecond=nanosecond,
        )
        self._zone = zone
        return self

    @classmethod
    def with_zone(cls, value: datetime, zone: str | None, *, nanosecond: int = 0) -> TimeWithZone:
        """``value`` as a TimeWithZone named ``zone`` (its tzinfo is kept as given)."""
        result = cls.from_datetime(value, nanosecond=nanosecond)
        result._zone = zone
        return result

    @property
    def zone(self) -> str | None:
        """The zone name Rails wrote (``time_zone``), or ``None`` for the 6.1 form."""
        return self._zone

    def _state(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        args, kwargs = super()._state()
        return args, {**kwargs, "zone": self._zone}


class SymbolKeysDict(dict[str, Any]):
    """A Ruby Hash some of whose keys were Symbols: str keys here, the Symbol ones remembered.

    Job code reads it like any dict; re-encoding writes the same ``_aj_symbol_keys``, so a
    Ruby job reading ``opts[:key]`` still finds its keys after a Python round trip.
    """

    symbol_keys: frozenset[str]

    def __init__(self, *args: Any, symbol_keys: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.symbol_keys = frozenset(symbol_keys)

    def __repr__(self) -> str:
        return f"SymbolKeysDict({dict.__repr__(self)}, symbol_keys={sorted(self.symbol_keys)!r})"


class IndifferentDict(dict[str, Any]):
    """A HashWithIndifferentAccess: re-encoding writes ``_aj_hash_with_indifferent_access``."""


# --------------------------------------------------------------------------- versions


_VERSION_RE: Final = re.compile(r"(\d+)(?:\.(\d+))?(?:\.[0-9A-Za-z.]+)?")


def _parse_version(rails_version: str) -> tuple[int, int]:
    """``"7.1"`` or ``"6.1.7"`` -> ``(7, 1)``; Rails before 6.1 had other wire forms."""
    match = _VERSION_RE.fullmatch(rails_version) if isinstance(rails_version, str) else None
    if match is None:
        raise ActiveJobArgumentError(f"rails_version must look like '7.1', got {rails_version!r}")
    version = (int(match.group(1)), int(match.group(2) or 0))
    if version < (6, 1):
        raise ActiveJobArgumentError(f"Rails {rails_version} is not supported (6.1 or newer)")
    return version


# --------------------------------------------------------------------------- time text


_TIME_RE: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?(Z|[+-]\d{2}:?\d{2})"
)
_DATE_RE: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_UTC_NAMES: Final = frozenset({"UTC", "UCT"})


def _offset_tz(text: str) -> tzinfo:
    """``Z`` is UTC proper; ``+00:00`` stays a named zero offset so it is written back as is."""
    if text == "Z":
        return _timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:])) * sign
    return _timezone(offset, text) if not offset else _timezone(offset)


def _parse_time(value: object) -> tuple[datetime, int]:
    """Parse Ruby's ``iso8601(9)``: the datetime (microseconds) and the nanoseconds below."""
    match = _TIME_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _deserialization_error(f"not an ISO 8601 time: {value!r}")
    fraction = (match.group(7) or "").ljust(9, "0")
    year, month, day, hour, minute, second = (int(part) for part in match.group(1, 2, 3, 4, 5, 6))
    try:
        parsed = datetime(
            year, month, day, hour, minute, second, int(fraction[:6]), _offset_tz(match.group(8))
        )
    except ValueError as exc:
        raise _deserialization_error(f"invalid time {value!r}: {exc}") from exc
    return parsed, int(fraction[6:])


def _format_offset(value: datetime, allow_z: bool) -> str:
    offset = value.utcoffset()
    if offset is None:
        raise ActiveJobSerializationError(
            f"naive datetime {value!r}: Ruby times always have a UTC offset; attach a tzinfo"
        )
    if not offset and allow_z and value.tzname() in _UTC_NAMES:
        return "Z"
    if offset % timedelta(minutes=1):
        raise ActiveJobSerializationError(
            f"UTC offset {offset} has seconds; ISO 8601 cannot say it"
        )
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _format_time(value: datetime, *, allow_z: bool = True, digits: int = 9) -> str:
    """Ruby's ``Time#iso8601(digits)``: ``Z`` only for UTC, the zone's offset otherwise."""
    offset = _format_offset(value, allow_z)
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if digits:
        nanos = getattr(value, "nanosecond", 0)
        text += "." + f"{value.microsecond:06d}{nanos:03d}"[:digits]
    return text + offset


# --------------------------------------------------------------------------- decoding


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
        raise _deserialization_error(f"arguments must be an Array, got {arguments!r}")
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
    raise _deserialization_error(f"Can only deserialize primitive arguments: {value!r}")


def _decode_hash(value: dict[str, Any], context: _DecodeContext) -> Any:
    if len(value) == 1 and GLOBALID_KEY in value:
        return _decode_globalid(value[GLOBALID_KEY], context)
    if OBJECT_SERIALIZER_KEY in value:
        return _decode_serialized(value, context)
    return _decode_plain_hash(value, context)


def _decode_globalid(uri: object, context: _DecodeContext) -> Any:
    if not isinstance(uri, str) or _GID_RE.fullmatch(uri) is None:
        raise _deserialization_error(f"{GLOBALID_KEY} is not a GlobalID URI: {uri!r}")
    gid = GlobalID(uri)
    if context.resolve_globalid is None:
        return gid
    try:
        return context.resolve_globalid(gid)
    except Exception as exc:
        raise _deserialization_error(str(exc) or type(exc).__name__) from exc


def _decode_serialized(value: dict[str, Any], context: _DecodeContext) -> Any:
    name = value[OBJECT_SERIALIZER_KEY]
    if not isinstance(name, str):
        raise _deserialization_error(f"Serializer name is not present in the argument: {value!r}")
    decoder = _DECODERS.get(name)
    if decoder is None:
        raise _deserialization_error(f"Serializer {name} is not known")
    return decoder(value, context)


def _decode_plain_hash(value: dict[str, Any], context: _DecodeContext) -> dict[str, Any]:
    markers = [key for key in _HASH_MARKERS if key in value]
    stray = sorted(key for key in value if key in RESERVED_KEYS and key not in markers)
    if len(markers) > 1 or stray:
        raise _deserialization_error(f"hash mixes ActiveJob's reserved keys: {value!r}")
    body = {key: _decode(item, context) for key, item in value.items() if key not in markers}
    if not markers:
        return body
    if markers[0] == WITH_INDIFFERENT_ACCESS_KEY:
        if value[WITH_INDIFFERENT_ACCESS_KEY] is not True:
            raise _deserialization_error(f"{WITH_INDIFFERENT_ACCESS_KEY} must be true: {value!r}")
        return IndifferentDict(body)
    names = value[markers[0]]
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise _deserialization_error(f"{markers[0]} must be a list of key names: {value!r}")
    symbols = [key for key in body if key in names]
    return SymbolKeysDict(body, symbol_keys=symbols) if symbols else body


def _required(value: dict[str, Any], key: str) -> Any:
    """A serializer hash's field, which must be present: a malformed one must not reach a job."""
    if key not in value:
        raise _deserialization_error(f"{value[OBJECT_SERIALIZER_KEY]} without {key!r}: {value!r}")
    return value[key]


def _field(value: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """A required field of the given JSON type (``true`` is no number here, as in Ruby)."""
    item = _required(value, key)
    is_bool = isinstance(item, bool)
    if not isinstance(item, kind) or (is_bool and kind is not bool):
        raise _deserialization_error(f"{value[OBJECT_SERIALIZER_KEY]} with bad {key!r}: {value!r}")
    return item


def _decode_symbol(value: dict[str, Any], context: _DecodeContext) -> Symbol:
    return Symbol(_field(value, "value", str))


def _decode_module(value: dict[str, Any], context: _DecodeContext) -> RubyModule:
    name = _field(value, "value", str)
    if not name:
        raise _deserialization_error(f"module without a name: {value!r}")
    return RubyModule(name)


def _decode_time(value: dict[str, Any], context: _DecodeContext) -> RubyTime:
    parsed, nanos = _parse_time(_field(value, "value", str))
    return RubyTime.from_datetime(parsed, nanosecond=nanos)


def _decode_date_time(value: dict[str, Any], context: _DecodeContext) -> RubyDateTime:
    parsed, nanos = _parse_time(_field(value, "value", str))
    return RubyDateTime.from_datetime(parsed, nanosecond=nanos)


def _decode_time_with_zone(value: dict[str, Any], context: _DecodeContext) -> TimeWithZone:
    parsed, nanos = _parse_time(_field(value, "value", str))
    zone = value.get("time_zone")
    if zone is not None and not isinstance(zone, str):
        raise _deserialization_error(f"time_zone must be a zone name: {value!r}")
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
    match = _DATE_RE.fullmatch(text)
    try:
        if match is None:
            raise ValueError("expected YYYY-MM-DD")
        return date(*(int(part) for part in match.groups()))
    except ValueError as exc:
        raise _deserialization_error(f"invalid date {text!r}: {exc}") from exc


def _decode_duration(value: dict[str, Any], context: _DecodeContext) -> Any:
    amount = _field(value, "value", (int, float))
    parts = [_duration_part(pair, context) for pair in _field(value, "parts", list)]
    try:
        if any(unit in _CALENDAR_UNITS for unit, _ in parts):
            return CalendarDuration(amount, tuple(parts))
        return RubyDuration(amount, parts)
    except (ActiveJobArgumentError, OverflowError) as exc:
        raise _deserialization_error(f"invalid duration {value!r}: {exc}") from exc


def _duration_part(pair: object, context: _DecodeContext) -> tuple[str, _Number]:
    decoded = _decode(pair, context)
    if (
        not isinstance(decoded, list)
        or len(decoded) != 2
        or not isinstance(decoded[0], Symbol)
        or not _is_number(decoded[1])
    ):
        raise _deserialization_error(f"Duration part must be [Symbol, number]: {pair!r}")
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
        raise _deserialization_error(f"invalid BigDecimal {text!r}") from exc


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


# --------------------------------------------------------------------------- encoding


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
    context = _EncodeContext(_parse_version(rails_version), symbol_keys, globalid_for)
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
    if context.version < _RANGE_SINCE:
        raise ActiveJobSerializationError(
            "a Range needs rails_version >= 7.0 (RangeSerializer is new in Rails 7.0)"
        )
    if not isinstance(value.exclude_end, bool):
        raise ActiveJobSerializationError(f"Range exclude_end must be a bool: {value!r}")
    begin, end = _encode(value.begin, context), _encode(value.end, context)
    return _serialized(RANGE_SERIALIZER, begin=begin, end=end, exclude_end=value.exclude_end)


def _encode_time_with_zone(value: TimeWithZone, context: _EncodeContext) -> dict[str, Any]:
    result = _serialized(TIME_WITH_ZONE_SERIALIZER, value=_format_time(value))
    zone = value.zone or getattr(value.tzinfo, "key", None)
    if context.version >= _ZONE_NAME_SINCE and zone:
        result["time_zone"] = zone
    return result


def _encode_date_time(value: RubyDateTime, context: _EncodeContext) -> dict[str, Any]:
    return _serialized(DATE_TIME_SERIALIZER, value=_format_time(value, allow_z=False))


def _encode_time(value: datetime, context: _EncodeContext) -> dict[str, Any]:
    return _serialized(TIME_SERIALIZER, value=_format_time(value))


def _encode_date(value: date, context: _EncodeContext) -> dict[str, Any]:
    return _serialized(DATE_SERIALIZER, value=value.isoformat())


def _encode_duration_parts(
    value: _Number, parts: Iterable[tuple[str, _Number]], context: _EncodeContext
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
    seconds: _Number = whole + value.microseconds / 1_000_000 if value.microseconds else whole
    return _encode_duration_parts(seconds, [("seconds", seconds)], context)


def _ruby_decimal_text(value: Decimal) -> str:
    """BigDecimal#to_s as ActiveSupport makes it ("F" format): ``1.5``, ``100.0``, ``-0.0``."""
    if not value.is_finite():
        return "NaN" if value.is_nan() else str(value)
    whole, _, fraction = format(value, "f").partition(".")
    return f"{whole}.{fraction.rstrip('0') or '0'}"


def _encode_decimal(value: Decimal, context: _EncodeContext) -> Any:
    if context.version >= _BIG_DECIMAL_SINCE:
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
#: Checked in order: subclasses before their bases (bool before int, datetime before date).
_ENCODERS: Final[tuple[tuple[type | tuple[type, ...], _Encoder], ...]] = (
    (type(None), _encode_none),
    (bool, _encode_bool),
    (int, _encode_int),
    (float, _encode_float),
    (str, _encode_str),
    (Symbol, _encode_symbol),
    (GlobalID, _encode_globalid),
    (RubyModule, _encode_module),
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


# --------------------------------------------------------------------------- job data


def format_enqueued_at(dt: datetime, rails_version: str = "6.1") -> str:
    """``enqueued_at`` as Rails writes it: ``Time.now.utc.iso8601`` before 7.1 (seconds, ``Z``),
    ``iso8601(9)`` from 7.1 on. Ruby truncates the fraction; so does this."""
    if dt.utcoffset() is None:
        raise ActiveJobArgumentError(f"enqueued_at must be an aware datetime, got {dt!r}")
    nanos = getattr(dt, "nanosecond", 0)
    utc = RubyTime.from_datetime(dt.astimezone(_timezone.utc), nanosecond=nanos)
    digits = 9 if _parse_version(rails_version) >= _NANO_ENQUEUED_AT_SINCE else 0
    return _format_time(utc, digits=digits)


def parse_enqueued_at(value: object) -> RubyTime:
    """``enqueued_at`` (or 7.1's ``scheduled_at``) read back, in either form Rails writes."""
    parsed, nanos = _parse_time(value)
    return RubyTime.from_datetime(parsed, nanosecond=nanos)


def build_job_data(
    job_class: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any] | None,
    *,
    queue: str,
    priority: int | None = None,
    job_id: str | None = None,
    locale: str = "en",
    timezone: str = "UTC",
    enqueued_at: datetime | None = None,
    rails_version: str = "6.1",
    symbol_keys: bool = False,
    globalid_for: Callable[[Any], GlobalID | None] | None = None,
    provider_job_id: str | None = None,
    executions: int = 0,
    exception_executions: Mapping[str, int] | None = None,
    scheduled_at: datetime | None = None,
) -> dict[str, Any]:
    """The job-data hash ``ActiveJob::Base#serialize`` writes, keys in Rails' order.

    Rails 6.1 and 7.0 write eleven keys ending with ``enqueued_at`` (whole seconds);
    7.1 and later write ``enqueued_at`` with 9 fraction digits and add ``scheduled_at``
    (``None`` unless given). ``job_id`` defaults to a new random UUID, ``enqueued_at``
    to now. ``timezone`` is the Rails zone name (``Time.zone.name``: ``"UTC"``,
    ``"Tokyo"``) the job will perform in.
    """
    version = _parse_version(rails_version)
    _check_job_fields(job_class, queue, priority, executions)
    arguments = serialize_arguments(
        args,
        kwargs,
        rails_version=rails_version,
        symbol_keys=symbol_keys,
        globalid_for=globalid_for,
    )
    when = enqueued_at if enqueued_at is not None else datetime.now(_timezone.utc)
    data: dict[str, Any] = {
        "job_class": job_class,
        "job_id": job_id if job_id is not None else str(uuid.uuid4()),
        "provider_job_id": provider_job_id,
        "queue_name": queue,
        "priority": priority,
        "arguments": arguments,
        "executions": executions,
        "exception_executions": dict(exception_executions or {}),
        "locale": locale,
        "timezone": timezone,
        "enqueued_at": format_enqueued_at(when, rails_version),
    }
    if version >= _NANO_ENQUEUED_AT_SINCE:
        data["scheduled_at"] = (
            None if scheduled_at is None else format_enqueued_at(scheduled_at, rails_version)
        )
    elif scheduled_at is not None:
        raise ActiveJobArgumentError(
            "scheduled_at is part of job data only from Rails 7.1; older Rails schedules "
            "through resque-scheduler's delayed queue, outside the job data"
        )
    return data


def _check_job_fields(
    job_class: object, queue: object, priority: object, executions: object
) -> None:
    if not isinstance(job_class, str) or not job_class:
        raise ActiveJobArgumentError(f"job_class must be a class name, got {job_class!r}")
    if not isinstance(queue, str) or not queue:
        raise ActiveJobArgumentError(f"queue must be a queue name, got {queue!r}")
    if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)):
        raise ActiveJobArgumentError(f"priority must be an int or None, got {priority!r}")
    if not isinstance(executions, int) or isinstance(executions, bool) or executions < 0:
        raise ActiveJobArgumentError(f"executions must be a count, got {executions!r}")


def wrap_job_data(job_data: Mapping[str, Any]) -> dict[str, Any]:
    """The Resque payload Rails' adapter enqueues: ``class`` then ``args``, no ``wrapped``."""
    return {"class": JOB_WRAPPER_CLASS, "args": [dict(job_data)]}
