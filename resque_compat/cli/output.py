"""What every operator command shares: how it talks to Redis, prints, and refuses.

- Output: readable text by default (aligned tables, ``key  value`` pairs); with ``--json``
  one JSON document on stdout, the same facts with the same names, for scripts.
- Refusals: bad input or a state that makes the command unsafe (an unknown index, a
  failure that changed since it was read) raise :class:`Refusal`: the message goes to
  stderr, the exit status is 1, and the command has written nothing. Malformed option
  values are click usage errors (status 2), also before anything is written.
- Bulk commands that destroy (``remove-queue``, ``failed clear``, ``failed retry-all``)
  ask first when a person is at a terminal (``--yes`` skips the question); without a
  terminal (scripts, cron) they act at once, as they always did. Long loops draw a progress
  bar on stderr when it is a terminal, so stdout stays the command's result.
- Redis: one connection per command, closed at the end; a Redis error becomes a one-line
  message naming the server (password hidden), not a traceback. A Redis refusing writes
  (``OOM`` at ``maxmemory``, a ``READONLY`` replica) is one line saying so in Redis's words,
  what was written (nothing, or which writes went through) and what to do; status 1.

Values read from Redis are shown exactly but safely: bytes that are not UTF-8 appear as
``\\xNN`` and control characters as escapes, so a damaged payload can neither garble the
terminal nor make printing fail.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, overload

import click
import redis

from ..codec import JsonStyle
from ..connection import RedisSettings
from ..errors import ResqueCompatError, WritesRefused
from ..store import SyncDriver

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

CELL_WIDTH = 60
"""The widest a table cell gets (error messages, payloads); ``--json`` is never clipped."""

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


class Refusal(click.ClickException):
    """The command refuses: it prints why and exits with status 1, having written nothing."""


def json_option(function: F) -> F:
    """``--json`` on a command: print a JSON document for scripts instead of text."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON (for scripts) instead of text."
    )(function)


def json_style_option(function: F) -> F:
    """``--json-style``: the JSON flavour of the Ruby processes sharing the Redis.

    It decides the exact bytes written (and, for ``dequeue``, matched): a Rails app with
    ActiveSupport escapes ``<`` as ``\\u003c``, Oj writes some floats differently.
    """
    return click.option(
        "--json-style",
        type=click.Choice([style.value for style in JsonStyle]),
        default=JsonStyle.JSON_GEM.value,
        envvar="RESQUE_JSON_STYLE",
        show_default=True,
        callback=lambda _ctx, _param, value: JsonStyle(value),
        help="JSON flavour of the Ruby side (see resque_compat.codec.JsonStyle).",
    )(function)


def yes_option(function: F) -> F:
    """``--yes``: act without asking (only a terminal is ever asked)."""
    return click.option(
        "-y", "--yes", is_flag=True, help="Do not ask for confirmation on a terminal."
    )(function)


def confirm(yes: bool, question: str) -> None:
    """Ask ``question`` when stdin is a terminal, unless ``--yes``; a "no" is a refusal.

    Scripts have no terminal and were written against commands that act at once: they
    are never asked, so none of them starts hanging on a prompt.
    """
    if yes or not sys.stdin.isatty():
        return
    if not click.confirm(question, default=False, err=True):
        raise Refusal("not confirmed; nothing changed")


def selection(queue: str | None, class_name: str | None) -> str:
    """The failures a bulk command's filters select, as its confirmation question names them."""
    of_queue = "" if queue is None else f" of queue {shown(queue)!r}"
    of_class = "" if class_name is None else f" of class {shown(class_name)!r}"
    return f"every failure{of_queue}{of_class}"


class _Progress(Sequence[T]):
    """A sequence that draws click's progress bar on stderr while it is iterated."""

    def __init__(self, items: Sequence[T], label: str) -> None:
        self.items = items
        self.label = label

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        with click.progressbar(self.items, label=self.label, file=sys.stderr) as bar:
            yield from bar


def progress(items: Sequence[T], label: str) -> Sequence[T]:
    """``items``, drawing a progress bar as they are gone through when stderr is a terminal
    (stdout stays the result, for ``--json``); elsewhere exactly ``items``."""
    return _Progress(items, label) if sys.stderr.isatty() else items


@contextmanager
def connection(settings: RedisSettings) -> Iterator[SyncDriver]:
    """A driver on a fresh connection; Redis and library errors become clean messages."""
    client = settings.client()
    try:
        yield SyncDriver(client)
    except WritesRefused as error:
        raise click.ClickException(str(error)) from error  # says what Redis said, what to do
    except redis.RedisError as error:
        raise click.ClickException(f"Redis at {settings.display_url} failed: {error}") from error
    except ResqueCompatError as error:
        raise Refusal(str(error)) from error
    finally:
        client.close()


def check_reachable(settings: RedisSettings) -> None:
    """One PING before a long-running command settles in: an unreachable Redis is one line
    of error, not the traceback of a worker that fails during its startup."""
    client = settings.client()
    try:
        client.ping()
    except redis.RedisError as error:
        raise click.ClickException(f"Redis at {settings.display_url} failed: {error}") from error
    finally:
        client.close()


def emit(as_json: bool, document: Any, readable: Callable[[], str]) -> None:
    """Print ``document`` as JSON, or the text ``readable`` builds."""
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=True))
    else:
        click.echo(readable())


def shown(value: bytes | str | None) -> str:
    """Printable text of a stored value: bad bytes as ``\\xNN``, control characters escaped."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    else:
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(_escaped(char) for char in value)


def _escaped(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\x{ord(char):02x}"
    return char


def clip(text: str, width: int = CELL_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def compact(value: Any) -> str:
    """A decoded value as one line of JSON (job arguments in a table cell)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def seconds(value: float | None) -> str:
    """An age in whole seconds, ``-`` when unknown."""
    return "-" if value is None else str(max(0, round(value)))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    cells = [[str(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


def pairs(items: Sequence[tuple[str, object]]) -> str:
    """``name  value`` lines with the values aligned."""
    width = max((len(name) for name, _ in items), default=0)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in items)
