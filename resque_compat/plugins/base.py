"""What every plugin needs: its own Redis connection inside a job, and Ruby's ``to_s``.

A plugin acts from inside a job (a status update, a lock, a retry counter), and a forked
child has no connection of the worker's (see ``worker.runner``). So a plugin is given the
Redis settings explicitly and opens a connection in whichever process first uses it; a
connection inherited across ``fork`` is never reused.

Ruby's plugins build identifiers with ``args.join('-')``, which renders each argument with
Ruby's ``to_s`` (``nil`` as nothing, hashes as ``inspect``); :func:`ruby_join` does the same
for the values JSON can carry, so the keys match for the same arguments.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..codec import ruby_float
from ..connection import RedisSettings
from ..keys import Keys
from ..store import SyncDriver
from ..store.base import Operation

T = TypeVar("T")
SettingsSource = RedisSettings | Callable[[], RedisSettings]


class PluginRedis:
    """A lazily opened, per-process connection for a plugin's operations."""

    def __init__(self, settings: SettingsSource) -> None:
        self._source = settings
        self._settings: RedisSettings | None = None
        self._driver: SyncDriver | None = None
        self._pid = 0

    @property
    def settings(self) -> RedisSettings:
        if self._settings is None:
            source = self._source
            self._settings = source if isinstance(source, RedisSettings) else source()
        return self._settings

    @property
    def keys(self) -> Keys:
        return self.settings.keys

    def run(self, operation: Operation[T]) -> T:
        if self._driver is None or self._pid != os.getpid():
            self._driver = SyncDriver(self.settings.client())
            self._pid = os.getpid()
        return self._driver.run(operation)


def ruby_join(args: Sequence[Any], separator: str = "-") -> str:
    """``args.join(separator)`` as Ruby writes it: nested lists joined too, ``nil`` empty."""
    return separator.join(_join_item(item, separator) for item in args)


def _join_item(item: Any, separator: str) -> str:
    if isinstance(item, list | tuple):
        return ruby_join(item, separator)
    return ruby_to_s(item)


def ruby_to_s(value: Any) -> str:
    """``value.to_s`` for a JSON value: strings as is, ``nil`` empty, hashes inspected."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return ruby_inspect(value)


def ruby_inspect(value: Any) -> str:
    """``value.inspect`` (Ruby 3.1-3.3 layout, ``{"a"=>1}``) for a JSON value."""
    if value is None:
        return "nil"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float):
        return ruby_float(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _inspect_string(value)
    if isinstance(value, dict):
        pairs = ", ".join(f"{ruby_inspect(k)}=>{ruby_inspect(v)}" for k, v in value.items())
        return "{" + pairs + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(ruby_inspect(item) for item in value) + "]"
    return str(value)


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _inspect_string(text: str) -> str:
    """``String#inspect`` for printable text (the common case for job arguments)."""
    out = []
    for index, char in enumerate(text):
        if char == "#" and text[index + 1 : index + 2] in ("{", "$", "@"):
            out.append("\\#")
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20:
            out.append(f"\\x{ord(char):02X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
