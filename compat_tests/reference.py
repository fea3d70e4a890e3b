"""Compare our Redis traffic and keyspace with the recordings of the real Ruby Resque.

The recordings live in ``compat_tests/reference/<scenario>.json`` (format: see
``compat_tests/reference/README.md`` and the upstream README of the shared reference set).
This module is the harness around them:

* :func:`load` reads one recording into a :class:`Recording`.
* :class:`CommandCapture` records every command a Redis server receives (``MONITOR`` on a
  separate connection) in the recordings' shape: lists of strings, lowercase command name,
  ``{"invalid_utf8_hex": ...}`` for values that are not UTF-8, plus ``conn``/``db`` meta.
* :class:`Normalizer` (and :func:`normalize_commands`, :func:`normalize_value`,
  :func:`normalize_keyspace`) replaces the volatile parts (host, pids, times, backtrace lines,
  UUIDs...) by the recording's placeholders, driven by the recording's ``placeholders`` table.
* :func:`dump_keyspace` reads a database in the recordings' ``keys`` format.
* :func:`assert_commands_equal`, :func:`assert_slice_matches` and
  :func:`assert_keyspace_equal` compare and fail with a unified diff.

What :class:`CommandCapture` drops from the ``MONITOR`` stream (and why) is listed in its
docstring.
"""

from __future__ import annotations

import bisect
import contextlib
import difflib
import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeAlias, TypedDict, cast
from urllib.parse import parse_qsl, unquote, urlsplit

import redis

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
INVALID_UTF8_KEY = "invalid_utf8_hex"

Value: TypeAlias = str | dict[str, str]
"""One Redis string: ``str`` if it is valid UTF-8, else ``{"invalid_utf8_hex": "<hex>"}``."""
Command: TypeAlias = list[Value]
KeyValue: TypeAlias = Value | list[Value] | dict[str, Value] | list[list[Value]]
HeartbeatMode = Literal["strict", "multiset", "ignore"]


class KeyEntry(TypedDict):
    """One key of a keyspace dump: ``{"type", "ttl": -1 or "<TTL>", "value"}``."""

    type: str
    ttl: int | str
    value: KeyValue


Keyspace: TypeAlias = dict[str, KeyEntry]
Placeholders: TypeAlias = Mapping[str, Mapping[str, str]]

DEFAULT_WINDOW = timedelta(days=1)
"""Only times within this distance of ``now`` are replaced (fixed test dates stay real)."""


# --------------------------------------------------------------------------------------------
# Values: bytes <-> the recordings' JSON shape
# --------------------------------------------------------------------------------------------


def value_from_bytes(data: bytes) -> Value:
    """``str`` if ``data`` is valid UTF-8, else ``{"invalid_utf8_hex": data.hex()}``."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {INVALID_UTF8_KEY: data.hex()}


def value_to_bytes(value: Value) -> bytes:
    """The exact bytes a recorded value stands for (inverse of :func:`value_from_bytes`)."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return bytes.fromhex(value[INVALID_UTF8_KEY])


def _value_text(value: Value) -> str:
    return value_to_bytes(value).decode("utf-8", "surrogateescape")


def _value_from_text(text: str) -> Value:
    return value_from_bytes(text.encode("utf-8", "surrogateescape"))


def _sort_key(value: Value) -> bytes:
    return value_to_bytes(value)


def _text_sort_key(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------------------------
# Recordings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Meta:
    """``command_meta`` entry: which client connection sent a command, and its database."""

    conn: str
    db: int


@dataclass(frozen=True)
class RubyCall:
    """One ``ruby_calls`` entry: an API call (``event`` False) or a moment (``event`` True)."""

    index: int
    text: str
    first_command_index: int
    event: bool
    process: str | None
    returned: str | None
    raised: str | None

    @property
    def is_setup(self) -> bool:
        """Not Resque API use: setup writes or read-backs done for the record (``# ...``)."""
        return self.text.startswith("#")


@dataclass(frozen=True)
class CommandSlice:
    """A window ``[start, start + len(commands))`` of a recording's commands.

    ``heartbeat_indexes`` and ``unordered_ranges`` are relative to the slice.
    """

    start: int
    commands: list[Command]
    meta: list[Meta]
    heartbeat_indexes: tuple[int, ...]
    unordered_ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True, eq=False)
class Recording:
    """One ``<scenario>.json`` file."""

    scenario: str
    description: str
    path: Path
    calls: tuple[RubyCall, ...]
    commands: list[Command]
    command_meta: list[Meta]
    keys: Keyspace
    snapshots: dict[str, Keyspace]
    keys_other_dbs: dict[int, Keyspace]
    placeholders: dict[str, dict[str, str]]
    heartbeat_indexes: tuple[int, ...]
    unordered_ranges: tuple[tuple[int, int], ...]
    raw_examples: dict[str, Any]
    observations: dict[str, Any]
    timing_dependent: bool
    data: dict[str, Any]

    @property
    def snapshot_labels(self) -> list[str]:
        """Labels of the ``keys_<label>`` snapshots (``other_dbs`` excluded)."""
        return sorted(self.snapshots)

    def snapshot(self, label: str | None = None) -> Keyspace:
        """``keys_<label>``; ``None``/``"final"`` gives the final keyspace ``keys``."""
        if label is None or label == "final":
            return self.keys
        try:
            return self.snapshots[label]
        except KeyError:
            raise KeyError(
                f"{self.scenario}: no snapshot keys_{label} (have {self.snapshot_labels})"
            ) from None

    def call_bounds(self, index: int) -> tuple[int, int]:
        """``[start, end)`` of the commands owned by ``calls[index]``."""
        start = self.calls[index].first_command_index
        if index + 1 < len(self.calls):
            return start, self.calls[index + 1].first_command_index
        return start, len(self.commands)

    def commands_for_call(self, index: int) -> list[Command]:
        """The commands owned by ``calls[index]`` (up to the next entry's index)."""
        start, end = self.call_bounds(index)
        return self.commands[start:end]

    def slice(self, start: int, end: int | None = None) -> CommandSlice:
        """Commands ``[start, end)`` with meta, heartbeat indexes and unordered ranges rebased."""
        stop = len(self.commands) if end is None else end
        ranges = tuple(
            (max(lo, start) - start, min(hi, stop) - start)
            for lo, hi in self.unordered_ranges
            if lo < stop and hi > start
        )
        return CommandSlice(
            start=start,
            commands=self.commands[start:stop],
            meta=self.command_meta[start:stop],
            heartbeat_indexes=tuple(i - start for i in self.heartbeat_indexes if start <= i < stop),
            unordered_ranges=ranges,
        )

    def calls_slice(self, first: int, last: int | None = None) -> CommandSlice:
        """The commands owned by ``calls[first]`` through ``calls[last]`` (default: ``first``)."""
        start, _ = self.call_bounds(first)
        _, end = self.call_bounds(first if last is None else last)
        return self.slice(start, end)

    def normalizer(
        self,
        *,
        host: str | None = None,
        pids: Collection[int] | None = None,
        child_pids: Collection[int] = (),
        redis_port: int | None = None,
        now: datetime | None = None,
        window: timedelta | None = DEFAULT_WINDOW,
    ) -> Normalizer:
        """A :class:`Normalizer` for this recording's placeholder table (see its arguments)."""
        return Normalizer(
            self.placeholders,
            host=host,
            pids=pids,
            child_pids=child_pids,
            redis_port=redis_port,
            now=now,
            window=window,
        )


def scenarios(directory: Path = REFERENCE_DIR) -> list[str]:
    """Names of all recordings in ``directory``."""
    return sorted(path.stem for path in directory.glob("*.json"))


def load(scenario: str, directory: Path = REFERENCE_DIR) -> Recording:
    """Read ``<directory>/<scenario>.json`` (or a path to a ``.json`` file) and check it."""
    path = Path(scenario) if scenario.endswith(".json") else directory / f"{scenario}.json"
    data = cast("dict[str, Any]", json.loads(path.read_text(encoding="utf-8")))
    recording = Recording(
        scenario=str(data.get("scenario", path.stem)),
        description=str(data.get("description", "")),
        path=path,
        calls=tuple(_ruby_call(i, raw) for i, raw in enumerate(data.get("ruby_calls", []))),
        commands=[list(command) for command in data["commands"]],
        command_meta=[Meta(str(m["conn"]), int(m["db"])) for m in data["command_meta"]],
        keys=cast("Keyspace", data["keys"]),
        snapshots={
            name[len("keys_") :]: cast("Keyspace", value)
            for name, value in data.items()
            if name.startswith("keys_") and name != "keys_other_dbs"
        },
        keys_other_dbs={
            int(db): cast("Keyspace", value) for db, value in data.get("keys_other_dbs", {}).items()
        },
        placeholders=cast("dict[str, dict[str, str]]", data.get("placeholders", {})),
        heartbeat_indexes=tuple(data.get("heartbeat_thread_command_indexes", [])),
        unordered_ranges=tuple(
            (int(lo), int(hi)) for lo, hi in data.get("unordered_command_ranges", [])
        ),
        raw_examples=cast("dict[str, Any]", data.get("raw_examples", {})),
        observations=cast("dict[str, Any]", data.get("observations", {})),
        timing_dependent=bool(data.get("timing_dependent", False)),
        data=data,
    )
    _check(recording)
    return recording


def _ruby_call(index: int, raw: Mapping[str, Any]) -> RubyCall:
    event = "event" in raw
    return RubyCall(
        index=index,
        text=str(raw["event"] if event else raw["call"]),
        first_command_index=int(raw["first_command_index"]),
        event=event,
        process=raw.get("process"),
        returned=raw.get("returned"),
        raised=raw.get("raised"),
    )


def _check(recording: Recording) -> None:
    problems: list[str] = []
    count = len(recording.commands)
    if len(recording.command_meta) != count:
        problems.append(f"{len(recording.command_meta)} command_meta for {count} commands")
    indexes = [call.first_command_index for call in recording.calls]
    if indexes != sorted(indexes) or any(not 0 <= i <= count for i in indexes):
        problems.append(f"first_command_index not ascending within [0, {count}]: {indexes}")
    if any(not 0 <= i < count for i in recording.heartbeat_indexes):
        problems.append(f"heartbeat index out of range: {recording.heartbeat_indexes}")
    if any(not 0 <= lo < hi <= count for lo, hi in recording.unordered_ranges):
        problems.append(f"bad unordered range: {recording.unordered_ranges}")
    for position, command in enumerate(recording.commands):
        if not command or not all(_is_value(arg) for arg in command):
            problems.append(f"command {position} is not a list of values: {command!r}")
    if problems:
        raise ValueError(f"{recording.path}: " + "; ".join(problems))


def _is_value(arg: object) -> bool:
    if isinstance(arg, str):
        return True
    return isinstance(arg, dict) and set(arg) == {INVALID_UTF8_KEY}


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

CONTEXTUAL_PLACEHOLDERS = frozenset(
    {"<HOST>", "<PID>", "<CHILD_PID>", "<TTL>", "<BACKTRACE_LINE>", "<REDIS_PORT>", "<WORKER_ID>"}
)
"""Placeholders whose regex is too general to apply everywhere: handled by context."""

CHILD_PID_CONTEXTS = (r"\bsignal pid (\d+)\b", r"\bForked (\d+) at\b")
"""Where an unknown forked child's pid appears (DirtyExit message, parent's process title)."""

_JSON_STRING = r'"(?:[^"\\]|\\.)*"'
_BACKTRACE_ARRAY = re.compile(
    r'("backtrace"\s*:\s*\[)(\s*' + _JSON_STRING + r"(?:\s*,\s*" + _JSON_STRING + r")*\s*)(\])",
    re.DOTALL,
)
_NAIVE_ZONE_SLACK = timedelta(hours=15)


@dataclass(frozen=True)
class _Pattern:
    name: str
    regex: re.Pattern[str]
    time_format: str | None


def _parse_time(text: str, ruby_format: str) -> datetime | None:
    """Parse ``text`` written with Ruby strftime ``ruby_format``; naive if the zone is a name."""
    if ruby_format == "%s":
        return datetime.fromtimestamp(int(text), timezone.utc)
    python_format = ruby_format.replace("%:z", "%z")
    if python_format.endswith(" %Z"):
        text, python_format = text.rsplit(" ", 1)[0], python_format[: -len(" %Z")]
    try:
        parsed = datetime.strptime(text, python_format)
    except ValueError:
        return None
    if python_format.endswith("Z") and not python_format.endswith("%Z"):
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


class Normalizer:
    """Replace volatile parts of values by a recording's placeholders.

    Driven by the recording's ``placeholders`` table: only placeholders present in it are
    produced. Placeholders with a ``regex`` that are not in :data:`CONTEXTUAL_PLACEHOLDERS`
    (all times, ``<UUID>``, ``<UNIX_TIME>``, and any new one) are replaced wherever their regex
    matches (longest regex first, bounded by non-alphanumerics); those with a ``format`` only
    when the parsed time is within ``window`` of ``now`` (fixed test dates such as 2000-01-01
    stay). The contextual ones:

    * ``<HOST>``/``<PID>``: ``host:digits:`` (a worker id, also inside keys, JSON and
      messages) becomes ``<HOST>:digits:``, and the digits become ``<PID>`` when they are one
      of ``pids`` (default: this process). Other hosts (``otherhost``) stay.
    * ``<CHILD_PID>``: the numbers in ``child_pids`` anywhere, and any number in the
      :data:`CHILD_PID_CONTEXTS` (``signal pid N``, ``Forked N at``).
    * ``<BACKTRACE_LINE>``: every string of a JSON ``"backtrace":[...]`` array (the count
      is kept; Python-style lines collapse too).
    * ``<REDIS_PORT>``: ``:<redis_port>`` and ``port: <redis_port>`` when a port is given.
    * ``<TTL>``: only the keyspace ``ttl`` field (see :func:`dump_keyspace`).
    * ``<WORKER_ID>``: only in call texts of the recordings; never produced here.
    """

    def __init__(
        self,
        placeholders: Placeholders,
        *,
        host: str | None = None,
        pids: Collection[int] | None = None,
        child_pids: Collection[int] = (),
        redis_port: int | None = None,
        now: datetime | None = None,
        window: timedelta | None = DEFAULT_WINDOW,
    ) -> None:
        self.placeholders = placeholders
        self.host = socket.gethostname() if host is None else host
        self.pids = frozenset(str(pid) for pid in ((os.getpid(),) if pids is None else pids))
        self.child_pids = frozenset(str(pid) for pid in child_pids)
        self.redis_port = redis_port
        self.now = now
        self.window = window
        self._patterns = self._compile_patterns()
        self._steps = self._contextual_steps()

    def _compile_patterns(self) -> list[_Pattern]:
        patterns = []
        for name, info in self.placeholders.items():
            regex = info.get("regex")
            if name in CONTEXTUAL_PLACEHOLDERS or not regex:
                continue
            bounded = re.compile(r"(?<![0-9A-Za-z])(?:" + regex + r")(?![0-9A-Za-z])")
            patterns.append(_Pattern(name, bounded, info.get("format")))
        patterns.sort(key=lambda pattern: (-len(pattern.regex.pattern), pattern.name))
        return patterns

    def _contextual_steps(self) -> list[Callable[[str], str]]:
        table = self.placeholders
        steps: list[Callable[[str], str]] = []
        if "<BACKTRACE_LINE>" in table:
            steps.append(_collapse_backtraces)
        if "<HOST>" in table and self.host:
            steps.append(self._worker_ids)
        if "<CHILD_PID>" in table:
            steps.append(self._child_pid_step)
        if "<REDIS_PORT>" in table and self.redis_port is not None:
            steps.append(self._redis_port_step)
        return steps

    # -- contextual replacements --

    def _worker_ids(self, text: str) -> str:
        pattern = r"(?<![^:\"'\s])" + re.escape(self.host) + r":(\d+):"
        replace_pid = "<PID>" in self.placeholders

        def sub(match: re.Match[str]) -> str:
            pid = match.group(1)
            return "<HOST>:" + ("<PID>" if replace_pid and pid in self.pids else pid) + ":"

        return re.sub(pattern, sub, text)

    def _child_pid_step(self, text: str) -> str:
        if self.child_pids:
            known = "|".join(sorted(self.child_pids, key=len, reverse=True))
            text = re.sub(r"(?<!\d)(?:" + known + r")(?!\d)", "<CHILD_PID>", text)
        for context in CHILD_PID_CONTEXTS:
            text = re.sub(context, _replace_group("<CHILD_PID>"), text)
        return text

    def _redis_port_step(self, text: str) -> str:
        port = str(self.redis_port)
        return re.sub(r"(?:(?<=:)|(?<=port: ))" + port + r"(?!\d)", "<REDIS_PORT>", text)

    # -- regex placeholders --

    def _in_window(self, matched: str, time_format: str | None) -> bool:
        if time_format is None or self.window is None:
            return True
        parsed = _parse_time(matched, time_format)
        if parsed is None:
            return True
        now = self.now or datetime.now(timezone.utc)
        window = self.window
        if parsed.tzinfo is None:
            parsed, window = parsed.replace(tzinfo=timezone.utc), window + _NAIVE_ZONE_SLACK
        return abs(parsed - now) <= window

    def _apply_pattern(self, pattern: _Pattern, text: str) -> str:
        def sub(match: re.Match[str]) -> str:
            matched = match.group(0)
            return pattern.name if self._in_window(matched, pattern.time_format) else matched

        return pattern.regex.sub(sub, text)

    # -- public API --

    def text(self, text: str) -> str:
        """Normalise one string (surrogate-escaped if it came from invalid UTF-8)."""
        for step in self._steps:
            text = step(text)
        for pattern in self._patterns:
            text = self._apply_pattern(pattern, text)
        return text

    def value(self, value: Value) -> Value:
        """Normalise one recorded value (``str`` or ``{"invalid_utf8_hex": ...}``)."""
        if isinstance(value, str):
            return self.text(value)
        return _value_from_text(self.text(_value_text(value)))

    def command(self, command: Sequence[Value]) -> Command:
        return [self.value(arg) for arg in command]

    def commands(self, commands: Iterable[Sequence[Value]]) -> list[Command]:
        """Normalise every argument of every command."""
        return [self.command(command) for command in commands]

    def keyspace(self, keyspace: Mapping[str, KeyEntry]) -> Keyspace:
        """Normalise key names, members, fields and values; re-sort keys, sets and fields."""
        result: Keyspace = {}
        for key, entry in keyspace.items():
            name = self.text(key)
            while name in result:  # two keys collapsed into one name: keep both visible
                name += " (duplicate after normalisation)"
            result[name] = KeyEntry(
                type=entry["type"],
                ttl=entry["ttl"],
                value=self._key_value(entry["type"], entry["value"]),
            )
        return {key: result[key] for key in sorted(result, key=_text_sort_key)}

    def _key_value(self, kind: str, value: KeyValue) -> KeyValue:
        if kind == "string":
            return self.value(cast("Value", value))
        if kind == "list":
            return [self.value(item) for item in cast("list[Value]", value)]
        if kind == "set":
            return sorted((self.value(m) for m in cast("list[Value]", value)), key=_sort_key)
        if kind == "hash":
            fields = {
                self.text(field): self.value(item)
                for field, item in cast("dict[str, Value]", value).items()
            }
            return {field: fields[field] for field in sorted(fields, key=_text_sort_key)}
        if kind == "zset":
            pairs = cast("list[list[Value]]", value)
            return [[self.value(member), score] for member, score in pairs]
        return value


def _replace_group(replacement: str) -> Callable[[re.Match[str]], str]:
    def sub(match: re.Match[str]) -> str:
        whole, offset = match.group(0), match.start(0)
        return whole[: match.start(1) - offset] + replacement + whole[match.end(1) - offset :]

    return sub


def _collapse_backtraces(text: str) -> str:
    def sub(match: re.Match[str]) -> str:
        count = len(re.findall(_JSON_STRING, match.group(2)))
        return match.group(1) + ",".join(['"<BACKTRACE_LINE>"'] * count) + match.group(3)

    return _BACKTRACE_ARRAY.sub(sub, text)


def _normalizer(
    placeholders: Placeholders | Recording,
    host: str | None,
    pids: Collection[int] | None,
    child_pids: Collection[int],
    redis_port: int | None,
    now: datetime | None,
    window: timedelta | None,
) -> Normalizer:
    table = placeholders.placeholders if isinstance(placeholders, Recording) else placeholders
    return Normalizer(
        table,
        host=host,
        pids=pids,
        child_pids=child_pids,
        redis_port=redis_port,
        now=now,
        window=window,
    )


def normalize_value(
    value: Value,
    *,
    placeholders: Placeholders | Recording,
    host: str | None = None,
    pids: Collection[int] | None = None,
    child_pids: Collection[int] = (),
    redis_port: int | None = None,
    now: datetime | None = None,
    window: timedelta | None = DEFAULT_WINDOW,
) -> Value:
    """Normalise one value with a recording's placeholder table (see :class:`Normalizer`)."""
    normalizer = _normalizer(placeholders, host, pids, child_pids, redis_port, now, window)
    return normalizer.value(value)


def normalize_commands(
    commands: Iterable[Sequence[Value]],
    *,
    placeholders: Placeholders | Recording,
    host: str | None = None,
    pids: Collection[int] | None = None,
    child_pids: Collection[int] = (),
    redis_port: int | None = None,
    now: datetime | None = None,
    window: timedelta | None = DEFAULT_WINDOW,
) -> list[Command]:
    """Normalise captured commands with a recording's placeholder table."""
    normalizer = _normalizer(placeholders, host, pids, child_pids, redis_port, now, window)
    return normalizer.commands(commands)


def normalize_keyspace(
    keyspace: Mapping[str, KeyEntry],
    *,
    placeholders: Placeholders | Recording,
    host: str | None = None,
    pids: Collection[int] | None = None,
    child_pids: Collection[int] = (),
    redis_port: int | None = None,
    now: datetime | None = None,
    window: timedelta | None = DEFAULT_WINDOW,
) -> Keyspace:
    """Normalise a :func:`dump_keyspace` result with a recording's placeholder table."""
    normalizer = _normalizer(placeholders, host, pids, child_pids, redis_port, now, window)
    return normalizer.keyspace(keyspace)


# --------------------------------------------------------------------------------------------
# Keyspace dump
# --------------------------------------------------------------------------------------------


def dump_keyspace(
    client: redis.Redis,
    db: int = 0,
    *,
    normalizer: Normalizer | None = None,
    exact_ttl: bool = False,
) -> Keyspace:
    """Database ``db`` in the recordings' ``keys`` format, keys sorted.

    Lists in order, sets sorted, hashes with sorted fields, strings as is, zsets as
    ``[[member, score]]`` in rank order (score as Python ``repr`` of the float; no recording
    has a zset). ``ttl`` is ``-1`` or ``"<TTL>"`` for any expiring key (its seconds with
    ``exact_ttl``). Keys, fields and members that are not UTF-8 are surrogate-escaped ``str``
    (values use ``{"invalid_utf8_hex": ...}``). With ``normalizer`` the result is normalised.

    The reads are ordinary commands: inside a :class:`CommandCapture` they are captured unless
    done with :meth:`CommandCapture.dump_keyspace`.
    """
    kwargs = client.connection_pool.connection_kwargs
    if kwargs.get("db", 0) == db and not kwargs.get("decode_responses"):
        keyspace = _dump(client, exact_ttl)
    else:
        other = redis.Redis(
            connection_pool=redis.ConnectionPool(
                connection_class=client.connection_pool.connection_class,
                **{**kwargs, "db": db, "decode_responses": False},
            )
        )
        try:
            keyspace = _dump(other, exact_ttl)
        finally:
            other.close()
            other.connection_pool.disconnect()
    return keyspace if normalizer is None else normalizer.keyspace(keyspace)


def _dump(client: redis.Redis, exact_ttl: bool) -> Keyspace:
    names = sorted(cast("list[bytes]", list(client.scan_iter(count=1000))))
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.type(name)
        pipe.ttl(name)
    answers = pipe.execute()
    kinds = [_as_text(kind) for kind in answers[0::2]]
    ttls = [int(ttl) for ttl in answers[1::2]]
    pipe = client.pipeline(transaction=False)
    for name, kind in zip(names, kinds, strict=True):
        _queue_read(pipe, name, kind)
    values = pipe.execute()
    keyspace: Keyspace = {}
    for name, kind, ttl, raw in zip(names, kinds, ttls, values, strict=True):
        if kind == "none" or ttl == -2:
            continue  # expired or deleted between the reads
        shown_ttl: int | str = ttl if ttl == -1 or exact_ttl else "<TTL>"
        key = name.decode("utf-8", "surrogateescape")
        keyspace[key] = KeyEntry(type=kind, ttl=shown_ttl, value=_key_value(kind, raw))
    return keyspace


def _as_text(raw: object) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _queue_read(pipe: Any, name: bytes, kind: str) -> None:
    readers: dict[str, Callable[[], Any]] = {
        "string": lambda: pipe.get(name),
        "list": lambda: pipe.lrange(name, 0, -1),
        "set": lambda: pipe.smembers(name),
        "hash": lambda: pipe.hgetall(name),
        "zset": lambda: pipe.zrange(name, 0, -1, withscores=True),
    }
    readers.get(kind, lambda: pipe.exists(name))()


def _key_value(kind: str, raw: Any) -> KeyValue:
    if kind == "string":
        return value_from_bytes(raw)
    if kind == "list":
        return [value_from_bytes(item) for item in raw]
    if kind == "set":
        return [value_from_bytes(item) for item in sorted(raw)]
    if kind == "hash":
        items = sorted(cast("dict[bytes, bytes]", raw).items())
        return {field.decode("utf-8", "surrogateescape"): value_from_bytes(v) for field, v in items}
    if kind == "zset":
        return [[value_from_bytes(member), repr(float(score))] for member, score in raw]
    return f"<unsupported type {kind}>"


# --------------------------------------------------------------------------------------------
# MONITOR capture
# --------------------------------------------------------------------------------------------

SYNC_MARKER_PREFIX = "resque-compat-capture-sync:"
HANDSHAKE_COMMANDS = frozenset({"hello", "auth"})
HANDSHAKE_CLIENT_SUBCOMMANDS = frozenset({"setname", "setinfo", "maint_notifications"})

_MONITOR_LINE = re.compile(rb'^\+(\d+(?:\.\d+)?) \[(\d+) (.*?)\] (".*)$', re.DOTALL)
_MONITOR_ARG = re.compile(rb'"((?:[^"\\]|\\.)*)"(?: |$)', re.DOTALL)
_MONITOR_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|.)", re.DOTALL)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b"}


@dataclass(frozen=True)
class CapturedCommand:
    """One command seen by ``MONITOR``: server time, database, client address, arguments."""

    timestamp: float
    db: int
    client: str
    args: list[Value]


def _unescape(match: re.Match[bytes]) -> bytes:
    code = match.group(1)
    if len(code) == 3:
        return bytes([int(code[1:], 16)])
    return _ESCAPES.get(code, code)


def parse_monitor_line(line: bytes) -> CapturedCommand:
    """Parse one ``MONITOR`` reply line (``+<time> [<db> <addr>] "arg" ...``)."""
    match = _MONITOR_LINE.match(line.rstrip(b"\r\n"))
    if match is None:
        raise ValueError(f"unexpected MONITOR line: {line!r}")
    timestamp, db, client, rest = match.groups()
    args: list[Value] = []
    position = 0
    while position < len(rest):
        arg = _MONITOR_ARG.match(rest, position)
        if arg is None:
            raise ValueError(f"cannot parse MONITOR arguments at {position}: {line!r}")
        args.append(value_from_bytes(_MONITOR_ESCAPE.sub(_unescape, arg.group(1))))
        position = arg.end()
    if args and isinstance(args[0], str):
        args[0] = args[0].lower()
    return CapturedCommand(float(timestamp), int(db), client.decode("utf-8", "replace"), args)


def _encode_command(*args: str | bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _is_sync_marker(entry: CapturedCommand) -> bool:
    args = entry.args
    return (
        len(args) == 2
        and args[0] == "echo"
        and isinstance(args[1], str)
        and args[1].startswith(SYNC_MARKER_PREFIX)
    )


def _lower(value: Value) -> str:
    return value.lower() if isinstance(value, str) else ""


class CommandCapture:
    """Capture every command a Redis server receives while the ``with`` block runs.

    ``MONITOR`` runs on a raw socket read by a background thread. :meth:`sync` (alias
    :meth:`checkpoint`; called on entry and on a normal exit) sends a unique ``ECHO`` marker
    from the capture's own control connection and waits until the marker arrives in the
    stream, so every command answered before it is in :attr:`commands`. Only commands before
    the last marker are reported: inside the block, call :meth:`checkpoint` before reading
    :attr:`commands`/:attr:`meta` (its return value is a slice boundary).

    Dropped from the stream:

    * everything from the capture's control connections (recognised by the address that sent
      an ``ECHO resque-compat-capture-sync:...`` marker, which also hides a nested capture's
      control connection): their handshake, the markers and :meth:`dump_keyspace` reads;
    * the ``MONITOR`` connection itself (Redis never echoes it) and ``monitor`` commands of
      other captures;
    * connection handshake that is not Resque's protocol and differs between client libraries:
      ``hello`` (redis-py >= 5 sends ``HELLO 3``), ``auth`` (shown redacted) and
      ``client setname``/``setinfo``/``maint_notifications`` (redis-py's library info);
    * with ``drop_select=True``: ``select``. Kept by default because the recordings keep it
      (redis-rb sends ``select <db>`` on connect when the db is not 0, recorded with the new db
      in meta, exactly as redis-py does).

    ``keep_handshake=True`` keeps ``hello``/``auth``/``client ...``. Not shown by Redis 7 at all:
    admin commands (``CONFIG``, ``DEBUG``...) and commands rejected before execution (unknown
    command, wrong arity). Commands run by Lua scripts have the client ``"lua"`` (meta
    ``conn="lua"``). Unix socket URLs are refused: their clients cannot be told apart.
    """

    def __init__(
        self,
        url: str,
        *,
        drop_select: bool = False,
        keep_handshake: bool = False,
        timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "redis":
            raise ValueError(f"CommandCapture needs a plain redis:// TCP url, not {url!r}")
        self.url = url
        self.drop_select = drop_select
        self.keep_handshake = keep_handshake
        self.timeout = timeout
        self._host = parts.hostname or "localhost"
        self._port = parts.port or 6379
        query_db = [v for k, v in parse_qsl(parts.query) if k == "db"]
        self._db = int(parts.path.strip("/") or (query_db[0] if query_db else 0))
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password is not None else None
        self._entries: list[CapturedCommand] = []
        self._confirmed = 0
        self._scanned = 0
        self._control_clients: set[str] = set()
        self._controls: dict[int, redis.Redis] = {}
        self._condition = threading.Condition()
        self._error: BaseException | None = None
        self._eof = False
        self._active = False
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --

    def __enter__(self) -> CommandCapture:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.sync()
        finally:
            self.stop()

    def start(self) -> None:
        """Open the ``MONITOR`` connection, start the reader and sync once."""
        sock = socket.create_connection((self._host, self._port), timeout=self.timeout)
        stream = sock.makefile("rb")
        try:
            if self._password is not None:
                auth = [self._username, self._password] if self._username else [self._password]
                sock.sendall(_encode_command("AUTH", *auth))
                self._expect_ok(stream, "AUTH")
            sock.sendall(_encode_command("MONITOR"))
            self._expect_ok(stream, "MONITOR")
        except BaseException:
            stream.close()
            sock.close()
            raise
        sock.settimeout(None)
        self._socket = sock
        self._active = True
        self._thread = threading.Thread(
            target=self._read_loop, args=(stream,), name="resque-compat-monitor", daemon=True
        )
        self._thread.start()
        self.sync()

    @staticmethod
    def _expect_ok(stream: Any, what: str) -> None:
        reply = stream.readline()
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"{what} on the MONITOR connection failed: {reply!r}")

    def stop(self) -> None:
        """Stop reading; what was confirmed by the last :meth:`sync` stays available."""
        if not self._active:
            return
        self._active = False
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
            self._socket.close()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout)
        for client in self._controls.values():
            client.close()
            client.connection_pool.disconnect()
        self._controls.clear()

    def _read_loop(self, stream: Any) -> None:
        try:
            for line in stream:
                entry = parse_monitor_line(line)
                with self._condition:
                    self._entries.append(entry)
                    self._condition.notify_all()
        except (OSError, ValueError) as exc:
            if self._active:
                self._error = exc
        finally:
            stream.close()
            with self._condition:
                self._eof = True
                self._condition.notify_all()

    # -- control connections and sync --

    @property
    def control(self) -> redis.Redis:
        """A client on the URL's db whose commands are not captured (arrange/inspect state);
        only inside the ``with`` block."""
        if not self._active:
            raise RuntimeError("CommandCapture.control is only available while capturing")
        return self._control(self._db)

    def _control(self, db: int) -> redis.Redis:
        client = self._controls.get(db)
        if client is None:
            client = self._new_client(db)
            self._controls[db] = client
            self._sync_via(client)
        return client

    def _new_client(self, db: int) -> redis.Redis:
        # One connection for everything, pipelines included, so its address is known.
        pool = redis.ConnectionPool(
            max_connections=1,
            host=self._host,
            port=self._port,
            db=db,
            username=self._username,
            password=self._password,
            socket_timeout=self.timeout,
        )
        return redis.Redis(connection_pool=pool)

    def sync(self) -> int:
        """Wait until every command answered so far has arrived; return ``len(commands)``."""
        if self._active:
            self._sync_via(self._control(self._db))
        return len(self._kept())

    checkpoint = sync

    def _sync_via(self, client: redis.Redis) -> None:
        marker = SYNC_MARKER_PREFIX + uuid.uuid4().hex
        client.echo(marker)
        deadline = time.monotonic() + self.timeout
        with self._condition:
            while True:
                found = self._scan_for(marker)
                if found is not None:
                    break
                self._raise_if_broken(deadline)
                self._condition.wait(max(0.0, deadline - time.monotonic()))
            self._control_clients.add(self._entries[found].client)
            self._confirmed = max(self._confirmed, found)

    def _scan_for(self, marker: str) -> int | None:
        entries = self._entries
        for position in range(self._scanned, len(entries)):
            entry = entries[position]
            if _is_sync_marker(entry):
                self._control_clients.add(entry.client)
                if entry.args[1] == marker:
                    self._scanned = position + 1
                    return position
        self._scanned = len(entries)
        return None

    def _raise_if_broken(self, deadline: float) -> None:
        if self._error is not None:
            raise RuntimeError(f"MONITOR reader failed: {self._error!r}") from self._error
        if self._eof:
            raise RuntimeError("MONITOR connection closed before the sync marker arrived")
        if time.monotonic() >= deadline:
            raise TimeoutError(f"sync marker not seen in MONITOR within {self.timeout}s")

    # -- results --

    def _is_noise(self, entry: CapturedCommand) -> bool:
        if entry.client in self._control_clients or _is_sync_marker(entry):
            return True
        name = _lower(entry.args[0]) if entry.args else ""
        if name == "monitor":
            return True
        if name == "select" and self.drop_select:
            return True
        if self.keep_handshake:
            return False
        if name in HANDSHAKE_COMMANDS:
            return True
        subcommand = _lower(entry.args[1]) if len(entry.args) > 1 else ""
        return name == "client" and subcommand in HANDSHAKE_CLIENT_SUBCOMMANDS

    def _kept(self) -> list[CapturedCommand]:
        with self._condition:
            confirmed = self._entries[: self._confirmed]
        return [entry for entry in confirmed if not self._is_noise(entry)]

    @property
    def captured(self) -> list[CapturedCommand]:
        """The kept commands up to the last :meth:`sync` (all of them after the ``with``
        block), with their client address, db and server timestamp. Not syncing here keeps
        :attr:`commands` and :attr:`meta` aligned while other threads are still sending."""
        return self._kept()

    @property
    def commands(self) -> list[Command]:
        """The kept commands, as in a recording's ``commands``."""
        return [list(entry.args) for entry in self.captured]

    @property
    def meta(self) -> list[Meta]:
        """``conn`` (``connN`` by first appearance, ``lua`` for scripts) and ``db`` per command."""
        return _label_connections(self.captured)

    def dump_keyspace(
        self, db: int | None = None, *, normalizer: Normalizer | None = None
    ) -> Keyspace:
        """:func:`dump_keyspace` through a control connection: not captured (also usable
        after the block)."""
        target = self._db if db is None else db
        if self._active:
            return dump_keyspace(self._control(target), target, normalizer=normalizer)
        client = self._new_client(target)  # after the block: nothing to hide it from
        try:
            return dump_keyspace(client, target, normalizer=normalizer)
        finally:
            client.close()
            client.connection_pool.disconnect()


def _label_connections(entries: Sequence[CapturedCommand]) -> list[Meta]:
    labels: dict[str, str] = {}
    meta = []
    for entry in entries:
        if entry.client == "lua":
            label = "lua"
        else:
            label = labels.setdefault(entry.client, f"conn{len(labels) + 1}")
        meta.append(Meta(label, entry.db))
    return meta


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------


def find_heartbeat_indexes(
    commands: Sequence[Sequence[Value]], meta: Sequence[Meta] | None = None
) -> list[int]:
    """Indexes of heartbeat pairs: ``hset <ns>workers:heartbeat <id> <time>`` whose previous
    command on the same connection (previous command at all without ``meta``) is ``time``.

    Reproduces ``heartbeat_thread_command_indexes`` of every recording; setup code planting
    heartbeats (no ``time`` before) is not matched.
    """
    found: list[int] = []
    last_on_conn: dict[str, int] = {}
    for position, command in enumerate(commands):
        conn = meta[position].conn if meta is not None else ""
        previous = last_on_conn.get(conn)
        last_on_conn[conn] = position
        if previous is None or not _is_heartbeat_hset(command):
            continue
        if list(commands[previous]) == ["time"] and previous not in found:
            found.extend((previous, position))
    return sorted(found)


def _is_heartbeat_hset(command: Sequence[Value]) -> bool:
    return (
        len(command) == 4
        and command[0] == "hset"
        and isinstance(command[1], str)
        and command[1].endswith("workers:heartbeat")
    )


def _render(command: Sequence[Value], meta: Meta | None) -> str:
    line = json.dumps(list(command), ensure_ascii=False)
    if meta is not None:
        line = f"{meta.conn} db{meta.db} {line}"
    return line.encode("utf-8", "backslashreplace").decode("utf-8")


def _renumbered(meta: Sequence[Meta], indexes: Sequence[int]) -> dict[int, Meta]:
    labels: dict[str, str] = {}
    result = {}
    for index in indexes:
        item = meta[index]
        label = "lua" if item.conn == "lua" else labels.setdefault(item.conn, f"c{len(labels) + 1}")
        result[index] = Meta(label, item.db)
    return result


def _lines(
    commands: Sequence[Sequence[Value]], meta: Sequence[Meta] | None, indexes: Sequence[int]
) -> list[str]:
    if meta is None:
        return [_render(commands[i], None) for i in indexes]
    if len(meta) != len(commands):
        raise ValueError(f"{len(meta)} meta entries for {len(commands)} commands")
    renumbered = _renumbered(meta, indexes)
    return [_render(commands[i], renumbered[i]) for i in indexes]


def _sort_ranges(lines: list[str], ranges: Iterable[tuple[int, int]]) -> list[str]:
    result = list(lines)
    for start, end in ranges:
        result[start:end] = sorted(result[start:end])
    return result


def _diff(expected: list[str], actual: list[str], what: str) -> str:
    body = "\n".join(
        difflib.unified_diff(
            expected, actual, fromfile=f"expected {what}", tofile=f"actual {what}", lineterm=""
        )
    )
    return f"{what} differ ({len(expected)} expected, {len(actual)} actual):\n{body}"


def assert_commands_equal(
    actual: Sequence[Sequence[Value]],
    expected: Sequence[Sequence[Value]],
    *,
    ignore_indexes: Iterable[int] = (),
    unordered_ranges: Iterable[tuple[int, int]] = (),
    heartbeats: HeartbeatMode = "strict",
    expected_heartbeat_indexes: Iterable[int] | None = None,
    actual_meta: Sequence[Meta] | None = None,
    expected_meta: Sequence[Meta] | None = None,
    what: str = "commands",
) -> None:
    """Fail with a unified diff (one JSON command per line) unless the lists match.

    ``ignore_indexes``: indexes of ``expected`` left out (e.g. ``# read back`` commands).
    ``unordered_ranges``: ``[start, end)`` ranges of ``expected`` (a recording's
    ``unordered_command_ranges``) compared as multisets; the same positions of ``actual``
    (after the removals below) are sorted the same way.
    ``heartbeats``: ``"strict"`` compares heartbeat commands in place; ``"multiset"`` removes
    heartbeat pairs from both sides (``expected_heartbeat_indexes`` or
    :func:`find_heartbeat_indexes`) and compares them separately as multisets; ``"ignore"``
    removes them without comparing.
    With both metas, each line is prefixed by its connection (renumbered ``c1``, ``c2``... by
    first appearance in the compared window) and db, so connection use is compared too.
    """
    ignored = set(ignore_indexes)
    kept_expected = [i for i in range(len(expected)) if i not in ignored]
    kept_actual = list(range(len(actual)))
    removed: tuple[list[int], list[int]] = ([], [])
    if heartbeats != "strict":
        hb_expected = set(
            find_heartbeat_indexes(expected, expected_meta)
            if expected_heartbeat_indexes is None
            else expected_heartbeat_indexes
        )
        hb_actual = set(find_heartbeat_indexes(actual, actual_meta))
        removed = ([i for i in kept_expected if i in hb_expected], sorted(hb_actual))
        kept_expected = [i for i in kept_expected if i not in hb_expected]
        kept_actual = [i for i in kept_actual if i not in hb_actual]
    use_meta = actual_meta is not None and expected_meta is not None
    ranges = [
        (bisect.bisect_left(kept_expected, lo), bisect.bisect_left(kept_expected, hi))
        for lo, hi in unordered_ranges
    ]
    want = _sort_ranges(
        _lines(expected, expected_meta if use_meta else None, kept_expected), ranges
    )
    got = _sort_ranges(_lines(actual, actual_meta if use_meta else None, kept_actual), ranges)
    problems = [] if want == got else [_diff(want, got, what)]
    if heartbeats == "multiset":
        want_hb = sorted(_render(expected[i], None) for i in removed[0])
        got_hb = sorted(_render(actual[i], None) for i in removed[1])
        if want_hb != got_hb:
            problems.append(_diff(want_hb, got_hb, f"heartbeat {what} (as multisets)"))
    if problems:
        raise AssertionError("\n\n".join(problems))


def assert_slice_matches(
    actual: Sequence[Sequence[Value]],
    expected: CommandSlice,
    *,
    actual_meta: Sequence[Meta] | None = None,
    heartbeats: HeartbeatMode = "multiset",
    ignore_indexes: Iterable[int] = (),
    what: str = "commands",
) -> None:
    """:func:`assert_commands_equal` against a recording slice, using its heartbeat indexes
    and unordered ranges (and its meta when ``actual_meta`` is given)."""
    assert_commands_equal(
        actual,
        expected.commands,
        ignore_indexes=ignore_indexes,
        unordered_ranges=expected.unordered_ranges,
        heartbeats=heartbeats,
        expected_heartbeat_indexes=expected.heartbeat_indexes,
        actual_meta=actual_meta,
        expected_meta=expected.meta if actual_meta is not None else None,
        what=what,
    )


def _canonical_keyspace(keyspace: Mapping[str, KeyEntry]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, entry in keyspace.items():
        value: Any = entry["value"]
        if entry["type"] == "set":
            value = sorted(cast("list[Value]", value), key=_sort_key)
        result[key] = {"type": entry["type"], "ttl": entry["ttl"], "value": value}
    return result


def _pretty(data: object) -> list[str]:
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
    return text.encode("utf-8", "backslashreplace").decode("utf-8").splitlines()


def assert_keyspace_equal(
    actual: Mapping[str, KeyEntry],
    expected: Mapping[str, KeyEntry],
    *,
    what: str = "keyspace",
) -> None:
    """Fail with a unified diff of both keyspaces as pretty JSON unless they are equal.

    Key and hash-field order do not matter, set members are compared sorted.
    """
    want, got = _canonical_keyspace(expected), _canonical_keyspace(actual)
    if want == got:
        return
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    changed = sorted(key for key in set(want) & set(got) if want[key] != got[key])
    summary = f"missing keys: {missing}\nunexpected keys: {extra}\nchanged keys: {changed}"
    raise AssertionError(summary + "\n" + _diff(_pretty(want), _pretty(got), what))
