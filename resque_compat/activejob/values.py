"""The Python types that stand for Ruby values ActiveJob carries and Python has no twin for.

Each is usable as the natural Python type it stands for (a ``Symbol`` is a ``str``, a
``RubyDuration`` a ``timedelta``, the time classes aware ``datetime`` values, the hash
classes ``dict``) and keeps what Ruby needs to get the same value back on re-encoding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Final, SupportsIndex, TypeVar
from urllib.parse import quote, unquote

from .wire import CALENDAR_UNITS, FIXED_UNITS, ActiveJobArgumentError, Number, is_number

_TimeT = TypeVar("_TimeT", bound="_NanoDatetime")
_DurationT = TypeVar("_DurationT", bound="RubyDuration")


class Symbol(str):
    """A Ruby Symbol (``:name``), as the ``str`` it stands for: ``mode == "archive"`` holds
    for ``:archive``, and it works as a dict key, in f-strings and in JSON like its name.

    Ruby code tells ``:a`` from ``"a"``, so the type is kept: re-encoding writes a Symbol
    again. Python cannot tell them apart where ``str`` equality decides (a dict holding both
    ``"a"`` and ``Symbol("a")`` holds one key), and string methods return plain ``str``.
    """

    __slots__ = ()

    def __new__(cls, name: str) -> Symbol:
        if not isinstance(name, str):
            raise ActiveJobArgumentError(f"Symbol name must be a str, got {name!r}")
        return super().__new__(cls, name)

    @property
    def name(self) -> str:
        """The Symbol's name as a plain ``str`` (Ruby's ``Symbol#to_s``)."""
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"Symbol({str.__repr__(self)})"


GID_RE: Final = re.compile(r"gid://(?P<app>[^/?#]+)/(?P<model>[^/?#]+)/(?P<id>[^?#]+)(?:\?[^#]*)?")


@dataclass(frozen=True)
class GlobalID:
    """A GlobalID URI (``gid://app/Model/id``): how ActiveJob passes Active Record models.

    Python cannot load the record; a ``resolve_globalid`` callback may, otherwise the job
    receives this object.
    """

    uri: str

    def __post_init__(self) -> None:
        if not isinstance(self.uri, str) or GID_RE.fullmatch(self.uri) is None:
            raise ActiveJobArgumentError(f"not a GlobalID URI (gid://app/Model/id): {self.uri!r}")

    @classmethod
    def create(cls, app: str, model_name: str, model_id: object) -> GlobalID:
        """Build ``gid://app/Model/id``, escaping the id as the globalid gem does."""
        return cls(f"gid://{app}/{model_name}/{quote(str(model_id), safe='')}")

    def _part(self, name: str) -> str:
        match = GID_RE.fullmatch(self.uri)
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


class RubyModule(str):
    """A Ruby Class or Module passed as an argument (``String``, ``Admin::Report``), as the
    ``str`` of its name (Python cannot hold the Ruby class itself): ``klass == "String"``
    holds, and re-encoding writes a Module again."""

    __slots__ = ()

    def __new__(cls, name: str) -> RubyModule:
        if not isinstance(name, str) or not name:
            raise ActiveJobArgumentError(f"RubyModule needs a constant name, got {name!r}")
        return super().__new__(cls, name)

    @property
    def name(self) -> str:
        """The constant's name as a plain ``str`` (Ruby's ``Module#name``)."""
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"RubyModule({str.__repr__(self)})"


@dataclass(frozen=True)
class RubyRange:
    """A Ruby Range (``1..10``, ``1...10``, ``(1..)``); ``None`` is an open end."""

    begin: Any
    end: Any
    exclude_end: bool = False

    def __contains__(self, value: Any) -> bool:
        """Ruby's ``Range#cover?``, so that ``x in rng`` reads as in Ruby: ``begin <= x``
        and ``x <= end`` (``x < end`` when the end is excluded); an open end admits all on
        its side, and a value that does not compare with the bounds is not covered."""
        try:
            if self.begin is not None and value < self.begin:
                return False
            if self.end is None:
                return True
            return bool(value < self.end if self.exclude_end else value <= self.end)
        except TypeError:
            return False


@dataclass(frozen=True)
class CalendarDuration:
    """An ActiveSupport::Duration with months or years.

    Not a ``timedelta``: Ruby adds ``1.month`` on the calendar (Jan 31 + 1 month = Feb 28),
    so no fixed number of seconds would behave the same. ``value`` is Ruby's seconds
    (a month counts 2629746 s, a year 31556952 s); ``parts`` keeps Ruby's units in order.
    """

    value: Number
    parts: tuple[tuple[str, Number], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", _checked_parts(self.parts, FIXED_UNITS | CALENDAR_UNITS))


def _checked_parts(
    parts: Iterable[tuple[str, Number]], allowed: frozenset[str]
) -> tuple[tuple[str, Number], ...]:
    """Validate Duration parts: known unit names and numbers, kept in the given order."""
    checked = tuple((unit, amount) for unit, amount in parts)
    for unit, amount in checked:
        if unit not in allowed:
            raise ActiveJobArgumentError(f"Duration part {unit!r} is not one of {sorted(allowed)}")
        if not is_number(amount):
            raise ActiveJobArgumentError(f"Duration part {unit!r} needs a number, got {amount!r}")
    return checked


class RubyDuration(timedelta):
    """An ActiveSupport::Duration of fixed length, usable as a ``timedelta``.

    It keeps Ruby's ``value`` and ``parts`` (``1.day + 2.hours`` is not ``93600.seconds``
    to Ruby) so that re-enqueueing writes the same bytes. Arithmetic gives plain
    ``timedelta`` values; equality is that of ``timedelta`` (parts are ignored).
    """

    _value: Number
    _parts: tuple[tuple[str, Number], ...]

    def __new__(
        cls: type[_DurationT], value: Number, parts: Iterable[tuple[str, Number]] | None = None
    ) -> _DurationT:
        if not is_number(value):
            raise ActiveJobArgumentError(f"Duration value must be a number, got {value!r}")
        checked = _checked_parts(((("seconds", value),) if parts is None else parts), FIXED_UNITS)
        self = super().__new__(cls, seconds=value)
        self._value = value
        self._parts = checked
        return self

    @property
    def value(self) -> Number:
        """Ruby's ``Duration#value``: the length in seconds, int or float as Ruby had it."""
        return self._value

    @property
    def parts(self) -> tuple[tuple[str, Number], ...]:
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
