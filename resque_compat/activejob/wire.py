"""ActiveJob's wire vocabulary: markers, serializer names, Rails versions, time text, errors.

What decoding, encoding and the value types all need, kept in one module so that each
marker and each Rails-version threshold is spelled once.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from datetime import timezone as _timezone
from typing import ClassVar, Final

from ..errors import ResqueCompatError

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
HASH_MARKERS: Final = (WITH_INDIFFERENT_ACCESS_KEY, SYMBOL_KEYS_KEY, RUBY2_KEYWORDS_KEY)

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
FIXED_UNITS: Final = frozenset({"weeks", "days", "hours", "minutes", "seconds"})
CALENDAR_UNITS: Final = frozenset({"months", "years"})

RANGE_SINCE: Final = (7, 0)
BIG_DECIMAL_SINCE: Final = (7, 1)
NANO_ENQUEUED_AT_SINCE: Final = (7, 1)
ZONE_NAME_SINCE: Final = (7, 2)
Number = int | float


def is_number(value: object) -> bool:
    """An int or float that is no bool (``true`` is no number to Ruby)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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


def deserialization_error(message: str) -> ActiveJobDeserializationError:
    return ActiveJobDeserializationError(f"Error while trying to deserialize arguments: {message}")


_VERSION_RE: Final = re.compile(r"(\d+)(?:\.(\d+))?(?:\.[0-9A-Za-z.]+)?")


def parse_version(rails_version: str) -> tuple[int, int]:
    """``"7.1"`` or ``"6.1.7"`` -> ``(7, 1)``; Rails before 6.1 had other wire forms."""
    match = _VERSION_RE.fullmatch(rails_version) if isinstance(rails_version, str) else None
    if match is None:
        raise ActiveJobArgumentError(f"rails_version must look like '7.1', got {rails_version!r}")
    version = (int(match.group(1)), int(match.group(2) or 0))
    if version < (6, 1):
        raise ActiveJobArgumentError(f"Rails {rails_version} is not supported (6.1 or newer)")
    return version


_TIME_RE: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?(Z|[+-]\d{2}:?\d{2})"
)
DATE_RE: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_UTC_NAMES: Final = frozenset({"UTC", "UCT"})


def _offset_tz(text: str) -> tzinfo:
    """``Z`` is UTC proper; ``+00:00`` stays a named zero offset so it is written back as is."""
    if text == "Z":
        return _timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:])) * sign
    return _timezone(offset, text) if not offset else _timezone(offset)


def parse_time(value: object) -> tuple[datetime, int]:
    """Parse Ruby's ``iso8601(9)``: the datetime (microseconds) and the nanoseconds below."""
    match = _TIME_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise deserialization_error(f"not an ISO 8601 time: {value!r}")
    fraction = (match.group(7) or "").ljust(9, "0")
    year, month, day, hour, minute, second = (int(part) for part in match.group(1, 2, 3, 4, 5, 6))
    try:
        parsed = datetime(
            year, month, day, hour, minute, second, int(fraction[:6]), _offset_tz(match.group(8))
        )
    except ValueError as exc:
        raise deserialization_error(f"invalid time {value!r}: {exc}") from exc
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


def format_time(value: datetime, *, allow_z: bool = True, digits: int = 9) -> str:
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
