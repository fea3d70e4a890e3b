"""When a recurring schedule fires: rufus-scheduler's ``every`` durations and ``cron`` lines.

resque-scheduler hands ``cron`` and ``every`` to rufus-scheduler 3.8, which parses both with
fugit. Durations follow fugit's plain format (``"1h30m"``, ``"30s"``, ``"2 days and 3 hours"``,
``"1.5h"``, a bare ``"90"`` meaning seconds, ``"M"`` for months of 30 days, ``"y"`` for years
of 365 days) or ISO 8601 (``"PT1H30M"``); this small parser reads the same grammar, checked
against fugit itself by the compat tests.

Cron lines are computed by croniter, a maintained library, after a thin translation of fugit's
syntax into croniter's: an optional seconds field first (six fields), a time zone last (an
IANA name such as ``America/Chicago`` or an offset such as ``+09:00``; without one, the
scheduler's local zone, as rufus uses it), ``@hourly``-style shorthands, ``L``/``last`` for
the last day of the month, ``fri#2`` and ``fri#-1``/``fri#L`` weekdays, and ``/15`` for
``*/15``. What croniter cannot express (fugit's ``tue%2`` modulo weekdays, negative month days
other than ``L``) is refused with a message rather than fired at the wrong times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter
from dateutil.tz import tzlocal

DAY = 86400.0
# Candidates croniter may give that fall in a skipped hour, one per matching time in it.
_DST_SKIPS = 3601

# fugit's unit seconds; months are 30 days and years 365, as fugit counts them.
_UNITS = {"y": 365 * DAY, "M": 30 * DAY, "w": 7 * DAY, "d": DAY, "h": 3600.0, "m": 60.0, "s": 1.0}
_NUMBER = r"(?:\d+\.\d*|(?:\d*\.)?\d+)"
# One element, in fugit's order of alternatives (years, months, weeks, days, hours, minutes,
# seconds); the case rules are fugit's: "M"/"month" and "m"/"min" are case-sensitive.
_ELEMENT = re.compile(
    rf"(?P<n>{_NUMBER}) *(?:(?P<y>(?i:y(?:ears?)?))|(?P<M>M|months?)|(?P<w>(?i:w(?:eeks?)?))"
    r"|(?P<d>(?i:d(?:ays?)?))|(?P<h>(?i:h(?:ours?)?))|(?P<m>m(?:in(?:ute)?s?)?)"
    r"|(?P<s>(?i:s(?:ec(?:ond)?)?s?)))"
)
_BARE_SECONDS = re.compile(r"(\d+\.\d*|\.\d+|\d+)$")
_SEPARATOR = re.compile(r"(?i:[ \t,]+|and)*")
_ISO = re.compile(r"P(?P<date>(?:-?\d+[YMWD])*)(?:T(?P<time>(?:-?\d+[HM]|-?(?:\d*\.)?\d+S)+))?")
_ISO_PART = re.compile(r"(-?(?:\d*\.)?\d+)([YMWDHS])")


class TimingError(ValueError):
    """A ``cron`` or ``every`` value that rufus would refuse, or that cannot be honoured."""


def parse_duration(value: str | int | float) -> float:
    """Seconds in a rufus/fugit duration; raises TimingError when it is not one."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TimingError(f"not a duration: {value!r}")
    if not isinstance(value, str):
        return float(value)
    text = value.strip()
    seconds = _plain_duration(text)
    if seconds is None:
        seconds = _iso_duration(text.upper())
    if seconds is None:
        raise TimingError(f"not a duration: {value!r}")
    return seconds


def _plain_duration(text: str) -> float | None:
    """fugit's plain grammar: signed groups of elements, joined by spaces, commas or "and"."""
    total, position, found = 0.0, 0, False
    while position < len(text):
        sign = -1.0 if text.startswith("-", position) else 1.0
        position += 1 if text[position] in "+-" else 0
        group, position = _group(text, position)
        if group is None:
            return None
        total, found = total + sign * group, True
        position = _SEPARATOR.match(text, position).end()  # type: ignore[union-attr]
    return total if found else None


def _group(text: str, position: int) -> tuple[float | None, int]:
    """One or more elements written back to back (``1h30m``); None when none is there."""
    seconds: float | None = None
    while True:
        element = _ELEMENT.match(text, position)
        if element is not None:
            unit = next(name for name in _UNITS if element.group(name) is not None)
            seconds = (seconds or 0.0) + float(element.group("n")) * _UNITS[unit]
            position = element.end()
            continue
        bare = _BARE_SECONDS.match(text, position)
        if bare is not None:
            return (seconds or 0.0) + float(bare.group(1)), bare.end()
        return seconds, position


def _iso_duration(text: str) -> float | None:
    match = _ISO.fullmatch(text)
    if match is None:
        return None
    total = 0.0
    for part, is_time in ((match.group("date") or "", False), (match.group("time") or "", True)):
        for number, unit in _ISO_PART.findall(part):
            key = "m" if is_time and unit == "M" else unit.lower() if unit != "M" else "M"
            total += float(number) * _UNITS[key]
    return total


_SPECIALS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@noon": "0 12 * * *",
    "@hourly": "0 * * * *",
}
_ZONE_NAME = re.compile(r"[A-Z][a-zA-Z0-9+\-]+(/[A-Z][a-zA-Z0-9+\-_]+){0,2}")
_ZONE_OFFSET = re.compile(r"([-+])([01][0-9]|2[0-4]):?(00|15|30|45)")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_WEEKDAY_FIELD = re.compile(r"(?i)(sun|mon|tue|wed|thu|fri|sat|last|l|[0-9*,/#%-])+")
_LAST_WEEKDAY = re.compile(r"(?i)([0-7]|[a-z]{3})#(-1|l|last)")


@dataclass(frozen=True)
class Cron:
    """A fugit cron line, computed by croniter in its zone (None: the local zone)."""

    original: str
    expression: str
    with_seconds: bool
    zone: tzinfo | None

    def next_after(self, moment: float) -> float:
        """The first firing strictly after ``moment`` (whole seconds, as fugit counts).

        A wall-clock time that the zone skips (02:30 on a spring-forward night) is skipped
        too, as fugit does: croniter would fire it an hour later instead.
        """
        zone = self.zone or tzlocal()
        start = datetime.fromtimestamp(int(moment), zone)
        found = croniter(self.expression, start, second_at_beginning=self.with_seconds)
        for _ in range(_DST_SKIPS):
            candidate = float(found.get_next(float))
            if self._on_the_clock(datetime.fromtimestamp(candidate, zone)):
                return candidate
        return candidate

    @cached_property
    def _fields(self) -> list[list[int | str]]:
        expanded, _ = croniter.expand(self.expression, second_at_beginning=self.with_seconds)
        return [list(field) for field in expanded]

    def _on_the_clock(self, local: datetime) -> bool:
        """Whether the local time shows a minute, hour and second the line names."""
        fields = self._fields
        seconds = fields[5] if len(fields) > 5 else [0]
        shown = ((fields[0], local.minute), (fields[1], local.hour), (seconds, local.second))
        return all(allowed == ["*"] or value in allowed for allowed, value in shown)


def parse_cron(value: object) -> Cron:
    """A ``cron`` value as rufus takes it; raises TimingError naming what is wrong."""
    if not isinstance(value, str):
        raise TimingError(f"a cron line must be a string, not {value!r}")
    fields = _SPECIALS.get(value.strip(), value).split()
    zone = None
    if len(fields) == 7 or (len(fields) == 6 and not _WEEKDAY_FIELD.fullmatch(fields[-1])):
        zone = _zone(fields.pop())
    if len(fields) not in (5, 6):
        raise TimingError(f"{value!r} is not a cron line: 5 or 6 fields and an optional zone")
    last = len(fields) - 1
    expression = " ".join(_translate(field, i == last) for i, field in enumerate(fields))
    cron = Cron(value, expression, len(fields) == 6, zone)
    try:
        cron.next_after(0)
    except (CroniterError, ValueError, KeyError) as error:
        raise TimingError(f"{value!r} is not a valid cron line: {error}") from None
    return cron


def _zone(token: str) -> tzinfo:
    offset = _ZONE_OFFSET.fullmatch(token)
    if offset is not None:
        sign = -1 if offset.group(1) == "-" else 1
        delta = timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)))
        return timezone(sign * delta)
    if _ZONE_NAME.fullmatch(token) is None:
        raise TimingError(f"{token!r} is neither a weekday field nor a time zone")
    try:
        return ZoneInfo(token)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimingError(f"unknown time zone {token!r}") from None


def _translate(field: str, is_weekday: bool) -> str:
    """fugit's spellings that croniter writes differently; refuse what it cannot express."""
    if "%" in field:
        raise TimingError(f"fugit's modulo weekdays ({field!r}) are not supported")
    if field.startswith("/"):
        field = f"*{field}"
    if is_weekday:
        return _LAST_WEEKDAY.sub(lambda m: f"L{_weekday_number(m.group(1))}", field)
    if re.search(r"(?i)(^|[,-])-\d", field):
        raise TimingError(f"negative month days ({field!r}) are not supported: use L")
    return re.sub(r"(?i)\b(last|l)\b", "L", field)


def _weekday_number(day: str) -> int:
    return int(day) % 7 if day.isdigit() else _WEEKDAYS.index(day.lower())
