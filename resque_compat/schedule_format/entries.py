"""One schedule entry, read the way resque-scheduler 5.0 reads it, or refused with a reason.

resque-scheduler's ``load_schedule_job`` takes ``cron`` before ``every`` (an empty one is
skipped), passes a ``[value, {options}]`` pair's options to rufus, and skips an entry whose
``rails_env`` (or ``env``), split on commas and spaces, does not include the scheduler's env.
``enqueue_from_config`` turns ``args`` into the job's arguments: a hash is one argument,
a list is the arguments, a missing one none, anything else one argument. Ruby finds out
about most mistakes only at the firing (or, for a bad cron line, by stopping the whole
scheduler); here each entry is checked when it is loaded and a bad one is refused alone.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import codec
from .timing import Cron, TimingError, parse_cron, parse_duration

# rufus' options that change when a job fires; the others (tag, blocking, overlap, mutex,
# timeout...) steer how rufus runs a block in-process, and an enqueue does not need them.
_FIRST = ("first", "first_time", "first_at", "first_in")
_LAST = ("last", "last_at", "last_in")
_NOW = ("now", "immediately", 0)


class EntryError(ValueError):
    """A schedule entry that cannot be loaded; the message names the entry and the problem."""


@dataclass(frozen=True)
class Repeat:
    """rufus' options for a repeating job: first and last firing, number of firings."""

    first_at: float | None = None
    last_at: float | None = None
    times: int | None = None


@dataclass(frozen=True)
class Entry:
    """A loaded schedule entry. ``every``/``cron`` are None for one with neither (Ruby
    logs "no cron / every found" and never fires it; it can still be enqueued by hand)."""

    name: str
    config: Mapping[str, Any]
    class_name: str
    queue: str | None
    args: tuple[Any, ...]
    custom_job_class: str | None
    every: float | None
    cron: Cron | None
    repeat: Repeat
    dynamic: bool

    @property
    def description(self) -> str | None:
        value = self.config.get("description")
        return None if value is None else str(value)

    @property
    def timing(self) -> str:
        """What resque-web's Schedule tab shows for it."""
        if self.cron is not None:
            return f"cron: {self.cron.original}"
        if self.every is not None:
            line, options = _split_options(self.config["every"])
            shown = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in options.items())
            return f"every: {line} ({shown})" if shown else f"every: {line}"
        return "Not currently scheduled"


def arguments(args: Any) -> tuple[Any, ...]:
    """Ruby's ``args.is_a?(Hash) ? [args] : Array(args)``."""
    if args is None:
        return ()
    if isinstance(args, list):
        return tuple(args)
    return (args,)


def env_matches(configured: Any, env: str | None) -> bool:
    """Ruby's ``env_matches?``: the entry loads when it names no env or names ours."""
    if configured is None:
        return True
    return env is not None and env in re.split(r"[\s,]+", str(configured))


def configured_env(config: Mapping[str, Any]) -> Any:
    return config.get("rails_env") or config.get("env")


def parse_entry(name: str, config: Any, dynamic: bool, now: float | None = None) -> Entry:
    """The entry as the scheduler will fire it; raises EntryError naming ``name``."""
    try:
        return _parse(name, config, dynamic, time.time() if now is None else now)
    except (TimingError, EntryError) as error:
        raise EntryError(f"schedule {name!r}: {error}") from None


def _parse(name: str, config: Any, dynamic: bool, now: float) -> Entry:
    if not isinstance(config, Mapping):
        raise EntryError(f"the config must be a mapping, not {config!r}")
    class_name = _text(config, "class", required=True)
    args = arguments(config.get("args"))
    try:
        codec.encode(list(args))
    except (TypeError, ValueError) as error:
        raise EntryError(f"args are not JSON values ({error}); quote dates and times") from None
    every, cron, repeat = _timing(config, now)
    return Entry(
        name=name,
        config=config,
        class_name=class_name or "",
        queue=_text(config, "queue"),
        args=args,
        custom_job_class=_custom_class(config),
        every=every,
        cron=cron,
        repeat=repeat,
        dynamic=dynamic,
    )


def _text(config: Mapping[str, Any], key: str, required: bool = False) -> str | None:
    value = config.get(key)
    if value is None or value == "":
        if required:
            raise EntryError(f"no {key!r}: a schedule needs the job's class name")
        return None
    if not isinstance(value, str):
        raise EntryError(f"{key!r} must be a string, not {value!r}")
    return value


def _custom_class(config: Mapping[str, Any]) -> str | None:
    custom = _text(config, "custom_job_class")
    return None if custom in (None, "Resque::Job") else custom


def _timing(config: Mapping[str, Any], now: float) -> tuple[float | None, Cron | None, Repeat]:
    """``cron`` first, then ``every``, as Ruby tries them; empty values are skipped."""
    for kind in ("cron", "every"):
        value = config.get(kind)
        if value is None or (isinstance(value, (str, list, dict)) and not value):
            continue
        if not isinstance(value, (str, list)):
            raise EntryError(f"{kind} must be a string (Ruby's scheduler fails on {value!r})")
        line, options = _split_options(value)
        repeat = _repeat(options, now)
        if kind == "cron":
            return None, parse_cron(line), repeat
        seconds = parse_duration(line) if isinstance(line, str) else math.nan
        if not seconds > 0:
            raise EntryError(f"every {line!r} is not a positive duration")
        return seconds, None, repeat
    return None, None, Repeat()


def _split_options(value: str | list[Any]) -> tuple[Any, Mapping[str, Any]]:
    """Ruby's ``optionizate_interval_value``: options only from a ``[value, {...}]`` pair."""
    if isinstance(value, str):
        return value, {}
    if len(value) == 2 and isinstance(value[1], Mapping):
        return value[0], value[1]
    if len(value) == 1 and isinstance(value[0], Mapping):
        raise EntryError(f"{value!r} has options but no schedule")
    return value[0], {}


def _repeat(options: Mapping[str, Any], now: float) -> Repeat:
    first = next((options[k] for k in _FIRST if options.get(k) is not None), None)
    last = next((options[k] for k in _LAST if options.get(k) is not None), None)
    times = options.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int)):
        raise EntryError(f"times must be an integer, not {times!r}")
    first_at = None if first is None else _moment(first, now, "first")
    last_at = None if last is None else _moment(last, now, "last")
    return Repeat(first_at, last_at, times)


def _moment(value: Any, now: float, what: str) -> float:
    """A duration from now or a point in time, as rufus reads ``first_in``/``first_at``."""
    if value in _NOW:
        return now
    try:
        moment = now + parse_duration(value)
    except TimingError:
        moment = _point_in_time(value, what)
    if moment < now:
        raise EntryError(f"{what} {value!r} is in the past")
    return moment


def _point_in_time(value: Any, what: str) -> float:
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise EntryError(f"{what} {value!r} is neither a duration nor a time") from None
    return (moment if moment.tzinfo else moment.astimezone()).timestamp()
