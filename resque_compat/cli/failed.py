"""``resque-compat failed ...``: Ruby's ``Resque::Failure`` management from a shell.

The backend is the one the fleet uses (``--failure-backend`` / ``FAILURE_BACKEND``, as for
``resque-compat work``); with ``multiple:...`` the first backend answers, as in Ruby.

Each command parses its options, makes one call to ``resque_compat.failure.Failures`` (the
management API, where indexes, ``--id`` checks and the exact-bytes rules are explained) and
prints the result; a refusal of that API exits 1 with its message, nothing written. The
``ID`` column is :func:`~resque_compat.failure.failure_id`, a hash of the record's bytes:
pass it as ``--id`` to make ``retry`` or ``remove`` refuse unless the entry at that index is
still the record that was listed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import click

from ..codec import JsonStyle
from ..connection import RedisSettings
from ..errors import ConfigurationError
from ..failure import (
    FailedEntry,
    FailureBackend,
    FailureRefused,
    Failures,
    backend_from_name,
    failure_id,
)
from .context import pass_settings
from .output import (
    Refusal,
    clip,
    compact,
    confirm,
    connection,
    emit,
    json_option,
    json_style_option,
    pairs,
    progress,
    selection,
    shown,
    table,
    yes_option,
)

F = TypeVar("F", bound=Callable[..., Any])

PAGE = 20
"""resque-web's page size, the default ``--count`` of ``failed list``."""


def backend_options(function: F) -> F:
    """``--failure-backend`` and ``--json-style``, shared by every ``failed`` command."""
    function = json_style_option(function)
    return click.option(
        "--failure-backend",
        "backend_name",
        envvar="FAILURE_BACKEND",
        default="redis",
        show_default=True,
        help="redis, redis_multi_queue or multiple:<name>,<name> (the first one is read).",
    )(function)


def _queue_option(help_text: str) -> Callable[[F], F]:
    return click.option("-q", "--queue", default=None, help=help_text)


def _class_option(function: F) -> F:
    return click.option(
        "-c", "--class", "class_name", default=None, help="Only failures of this job class."
    )(function)


INDEX_QUEUE_HELP = (
    "The job queue of the failure: names the list with redis_multi_queue (required "
    "there); with redis, a check that the failure is from that queue."
)
FILTER_QUEUE_HELP = "Only failures of this job queue."


def filtered_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """What every bulk command takes: the --queue/--class filter, the backend, --json."""
    for decorate in (
        pass_settings,
        json_option,
        backend_options,
        _class_option,
        _queue_option(FILTER_QUEUE_HELP),
    ):
        function = decorate(function)
    return function


def open_backend(settings: RedisSettings, backend_name: str, style: JsonStyle) -> FailureBackend:
    """The backend ``--failure-backend`` names; an unknown name is a usage error."""
    try:
        return backend_from_name(backend_name, settings.keys, style)
    except ConfigurationError as error:
        raise click.BadParameter(str(error), param_hint="--failure-backend") from error


@contextlib.contextmanager
def failures_of(settings: RedisSettings, backend_name: str, style: JsonStyle) -> Iterator[Failures]:
    """The command's :class:`Failures` on one connection; a refusal of the management API
    becomes the command's refusal (message on stderr, exit 1)."""
    backend = open_backend(settings, backend_name, style)
    with connection(settings) as driver:
        try:
            yield Failures(backend, driver)
        except FailureRefused as refused:
            raise Refusal(str(refused)) from refused


def summary(entry: FailedEntry) -> dict[str, Any]:
    """One entry as ``--json`` shows it; the record's own fields when it is readable."""
    record = entry.record if isinstance(entry.record, dict) else {}
    payload = record.get("payload")
    return {
        "index": entry.index,
        "list": entry.list_name,
        "id": failure_id(entry.raw),
        "failed_at": record.get("failed_at"),
        "queue": entry.queue,
        "class": entry.class_name,
        "args": payload.get("args") if isinstance(payload, dict) else None,
        "exception": record.get("exception"),
        "error": record.get("error"),
        "worker": record.get("worker"),
        "retried_at": record.get("retried_at"),
        "readable": entry.readable,
        "problem": None if entry.readable else getattr(entry.record, "reason", None),
    }


def _row(item: dict[str, Any], with_list: bool) -> list[object]:
    if not item["readable"]:
        cells: list[object] = [item["index"], item["id"], "", "", "", "(unreadable)"]
        cells.append(clip(shown(item["problem"])))
        return ([shown(item["list"])] if with_list else []) + [*cells, ""]
    cells = [
        item["index"],
        item["id"],
        shown(item["failed_at"]),
        shown(item["queue"]),
        shown(item["class"]),
        shown(item["exception"]),
        clip(shown(item["error"])),
        "yes" if item["retried_at"] else "",
    ]
    return ([shown(item["list"])] if with_list else []) + cells


def failures_table(items: Sequence[dict[str, Any]], with_list: bool) -> str:
    headers = ["INDEX", "ID", "FAILED AT", "QUEUE", "CLASS", "EXCEPTION", "ERROR", "RETRIED"]
    return table((["LIST"] if with_list else []) + headers, [_row(i, with_list) for i in items])


@click.group()
def failed() -> None:
    """Failed jobs: list, show, retry, remove, clear (Ruby's Resque::Failure)."""


@failed.command("list")
@_queue_option(FILTER_QUEUE_HELP)
@_class_option
@click.option("--start", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--count", type=click.IntRange(min=0), default=PAGE, show_default=True, help="0: all."
)
@click.option(
    "--order",
    type=click.Choice(["desc", "asc"]),
    default="desc",
    show_default=True,
    help="desc: newest first (resque-web's default).",
)
@backend_options
@json_option
@pass_settings
def list_failures(
    settings: RedisSettings,
    queue: str | None,
    class_name: str | None,
    start: int,
    count: int,
    order: str,
    backend_name: str,
    json_style: JsonStyle,
    as_json: bool,
) -> None:
    """List failures, newest first, with the index each command takes."""
    with failures_of(settings, backend_name, json_style) as failures:
        total, page = failures.page(queue, class_name, start, count, order)
    items = [summary(entry) for entry in page]
    with_list = failures.per_queue

    def readable() -> str:
        if not items:
            return f"{total} failure(s) match; none from position {start}"
        head = f"{total} failure(s); showing {start + 1}-{start + len(items)} ({order})"
        return head + "\n" + failures_table(items, with_list)

    emit(as_json, {"total": total, "start": start, "order": order, "failures": items}, readable)


def show_text(entry: FailedEntry) -> str:
    record = entry.record
    head = [("index", entry.index), ("list", entry.list_name), ("id", failure_id(entry.raw))]
    if not isinstance(record, dict):
        return pairs([*head, ("unreadable", record.reason), ("raw", shown(entry.raw))])
    fields = [(name, _field_text(value)) for name, value in record.items() if name != "backtrace"]
    backtrace = record.get("backtrace")
    lines = backtrace if isinstance(backtrace, list) else []
    trace = "\n".join(f"  {shown(str(line))}" for line in lines) or "  (none)"
    return pairs([*head, *fields]) + "\nbacktrace\n" + trace


def _field_text(value: Any) -> str:
    return shown(value) if isinstance(value, str) else shown(compact(value))


@failed.command(context_settings={"ignore_unknown_options": True})  # -1 is an index (Ruby's)
@click.argument("index", type=int)
@_queue_option(INDEX_QUEUE_HELP)
@backend_options
@json_option
@pass_settings
def show(
    settings: RedisSettings,
    index: int,
    queue: str | None,
    backend_name: str,
    json_style: JsonStyle,
    as_json: bool,
) -> None:
    """Show one failure in full: payload, error, backtrace."""
    with failures_of(settings, backend_name, json_style) as failures:
        entry = failures.find(index, queue)
    document = {
        **summary(entry),
        "record": entry.record if isinstance(entry.record, dict) else None,
        "raw": shown(entry.raw),
    }
    emit(as_json, document, lambda: show_text(entry))


def _one_line(entry: FailedEntry) -> str:
    item = summary(entry)
    if not item["readable"]:
        return f"failure {entry.index} (unreadable record)"
    args = shown(compact(item["args"] if item["args"] is not None else []))
    return f"failure {entry.index} ({shown(item['class'])} {args} from {shown(item['queue'])})"


@failed.command()
@click.argument("index", type=click.IntRange(min=0))
@_queue_option(INDEX_QUEUE_HELP)
@click.option("--to", "to_queue", default=None, help="Enqueue on this queue instead.")
@click.option("--id", "expected_id", default=None, help="Refuse unless the record has this ID.")
@backend_options
@json_option
@pass_settings
def retry(
    settings: RedisSettings,
    index: int,
    queue: str | None,
    to_queue: str | None,
    expected_id: str | None,
    backend_name: str,
    json_style: JsonStyle,
    as_json: bool,
) -> None:
    """Enqueue a failed job again and mark it retried (Ruby's Failure.requeue)."""
    with failures_of(settings, backend_name, json_style) as failures:
        entry = failures.retry(index, queue, to_queue, expected_id)
    target = to_queue or entry.queue
    emit(
        as_json,
        {**summary(entry), "requeued_to": target},
        lambda: f"requeued {_one_line(entry)} to {shown(target)}",
    )


@failed.command()
@click.argument("index", type=click.IntRange(min=0))
@_queue_option(INDEX_QUEUE_HELP)
@click.option("--id", "expected_id", default=None, help="Refuse unless the record has this ID.")
@backend_options
@json_option
@pass_settings
def remove(
    settings: RedisSettings,
    index: int,
    queue: str | None,
    expected_id: str | None,
    backend_name: str,
    json_style: JsonStyle,
    as_json: bool,
) -> None:
    """Delete one failure record: exactly the one read at INDEX, wherever it moved."""
    with failures_of(settings, backend_name, json_style) as failures:
        entry = failures.remove(index, queue, expected_id)
    emit(as_json, {**summary(entry), "removed": True}, lambda: f"removed {_one_line(entry)}")


@failed.command("retry-all")
@filtered_options
@yes_option
def retry_all(
    settings: RedisSettings,
    queue: str | None,
    class_name: str | None,
    backend_name: str,
    json_style: JsonStyle,
    as_json: bool,
    yes: bool,
) -> None:
    """Requeue every failure (of a queue, of a class); unreadable records are skipped."""
    confirm(yes, f"Requeue {selection(queue, class_name)}?")
    with failures_of(settings, backend_name, json_style) as failures:
        if class_name is not None:  # one record at a time: worth a progress bar
            matching = progress(failures.matching(queue, class_name), "Requeueing")
            requeued = failures.requeue_each(matching)
        else:
            requeued = failures.retry_all(queue, class_name)
    emit(as_json, {"requeued": requeued}, lambda: f"requeued {requeued} failure(s)")


@failed.command()
@filtered_options
@yes_option
def clear(
    settings: RedisSettings,
    queue: str | None,
    class_name: str | None,
    backend_name: str,
    json_style: JsonStyle,
    as_json: bool,
    yes: bool,
) -> None:
    """Delete every failure record (of a queue, of a class)."""
    confirm(yes, f"Delete {selection(queue, class_name)}?")
    with failures_of(settings, backend_name, json_style) as failures:
        if failures.filtered(queue, class_name):  # one record at a time: worth a progress bar
            removed = failures.remove_each(
                progress(failures.matching(queue, class_name), "Deleting")
            )
        else:
            removed = failures.clear(queue, class_name)
    emit(as_json, {"removed": removed}, lambda: f"removed {removed} failure(s)")


@failed.command("clear-retried")
@filtered_options
def clear_retried(
    settings: RedisSettings,
    queue: str | None,
    class_name: str | None,
    backend_name: str,
    json_style: JsonStyle,
    as_json: bool,
) -> None:
    """Delete the failures that were retried (they carry retried_at)."""
    with failures_of(settings, backend_name, json_style) as failures:
        removed = failures.clear_retried(queue, class_name)
    emit(as_json, {"removed": removed}, lambda: f"removed {removed} retried failure(s)")
