"""``resque-compat failed ...``: Ruby's ``Resque::Failure`` management from a shell.

The backend is the one the fleet uses (``--failure-backend`` / ``FAILURE_BACKEND``, as for
``resque-compat work``); with ``multiple:...`` the first backend answers, as in Ruby.

Indexes are positions in a failure list, as resque-web numbers them: in ``failed`` for the
Redis backend, in ``<queue>_failed`` for RedisMultiQueue (where ``--queue`` names the list
and is required by the commands that take an index). Every command that acts on one index
reads that entry first, shows what it acts on, and refuses (exit 1, nothing written) when
there is none. Removal then deletes exactly the bytes it read (``remove(index,
expected=raw)``), so a list that moved meanwhile cannot make it delete another failure.
The ``ID`` column is a hash of the record's bytes: pass it as ``--id`` to make ``retry`` or
``remove`` refuse unless the entry at that index is still the record that was listed.

Filtered bulk commands (``--class``, or ``--queue`` where the backend keeps one list) walk
the list and act on each matching record by its bytes; unfiltered ones are Ruby's own calls
(``requeue_all``, ``clear``, ``clear_retried``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from ..codec import JsonStyle
from ..connection import RedisSettings
from ..errors import ConfigurationError
from ..failure import (
    FailedEntry,
    FailureBackend,
    FailureNotFoundError,
    FailureRecordError,
    MultipleBackend,
    RedisMultiQueueBackend,
    backend_from_name,
)
from ..keys import multi_queue_failed_name
from ..store import SyncDriver
from .context import pass_settings
from .output import (
    Refusal,
    clip,
    compact,
    confirm,
    connection,
    emit,
    failures_of,
    json_option,
    json_style_option,
    pairs,
    progress,
    shown,
    table,
    yes_option,
)

F = TypeVar("F", bound=Callable[..., Any])

ID_LENGTH = 10
PAGE = 20
"""resque-web's page size, the default ``--count`` of ``failed list``."""


def failure_id(raw: bytes) -> str:
    """A short hash of a record's bytes: it follows the record when the list shifts, and
    changes when the record does (a requeue adds ``retried_at``)."""
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()[:ID_LENGTH]


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


@dataclass(frozen=True)
class Failures:
    """The failure backend of one command, and how job queues map to its lists."""

    backend: FailureBackend
    driver: SyncDriver

    @property
    def per_queue(self) -> bool:
        """Whether the reading backend keeps one list per job queue (RedisMultiQueue)."""
        reader = self.backend
        if isinstance(reader, MultipleBackend):
            reader = reader.first
        return isinstance(reader, RedisMultiQueueBackend)

    def list_of(self, queue: str | None) -> str | None:
        """The failure list argument the backend API takes for a job queue."""
        return multi_queue_failed_name(queue) if self.per_queue and queue else None

    def lists(self, queue: str | None) -> list[str | None]:
        """Every list to read for a (possibly absent) job queue filter."""
        if not self.per_queue:
            return [None]
        if queue is not None:
            return [multi_queue_failed_name(queue)]
        names: list[str | None] = [*self.driver.run(self.backend.queues())]
        return names

    def matching(
        self, queue: str | None, class_name: str | None, retried_only: bool = False
    ) -> list[FailedEntry]:
        """Every entry of the lists that passes the filters, in list order. A RedisMultiQueue
        list is the queue's by its name; in ``failed`` the record's ``queue`` field decides."""
        found: list[FailedEntry] = []
        for list_name in self.lists(queue):
            found += self.driver.run(self.backend.entries(0, None, list_name))
        return [
            entry
            for entry in found
            if (queue is None or self.per_queue or entry.queue == queue)
            and (class_name is None or entry.class_name == class_name)
            and (entry.retried or not retried_only)
        ]

    def find(self, index: int, queue: str | None, expected_id: str | None) -> FailedEntry:
        """The entry a one-index command acts on, or a refusal saying why there is none."""
        if self.per_queue and queue is None:
            raise Refusal(
                "this failure backend keeps one list per queue: name it with --queue "
                "(see `resque-compat failed list`)"
            )
        list_name = self.list_of(queue)
        entry = self.driver.run(self.backend.entry(index, list_name))
        if entry is None:
            size = self.driver.run(self.backend.count(list_name))
            where = list_name or "failed"
            raise Refusal(f"no failure at index {index} in {where!r} (it holds {size})")
        if not self.per_queue and queue is not None and entry.queue != queue:
            raise Refusal(f"failure {index} is from queue {entry.queue!r}, not {queue!r}")
        if expected_id is not None and failure_id(entry.raw) != expected_id:
            raise Refusal(
                f"failure {index} is not the record {expected_id} any more (it is "
                f"{failure_id(entry.raw)}): the list changed; list it again"
            )
        return entry


def open_backend(settings: RedisSettings, backend_name: str, style: JsonStyle) -> FailureBackend:
    """The backend ``--failure-backend`` names; an unknown name is a usage error."""
    try:
        return backend_from_name(backend_name, settings.keys, style)
    except ConfigurationError as error:
        raise click.BadParameter(str(error), param_hint="--failure-backend") from error


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
    backend = open_backend(settings, backend_name, json_style)
    with connection(settings) as driver:
        failures = Failures(backend, driver)
        total, page = _page(failures, queue, class_name, start, count, order)
    items = [summary(entry) for entry in page]
    with_list = failures.per_queue

    def readable() -> str:
        if not items:
            return f"{total} failure(s) match; none from position {start}"
        head = f"{total} failure(s); showing {start + 1}-{start + len(items)} ({order})"
        return head + "\n" + failures_table(items, with_list)

    emit(as_json, {"total": total, "start": start, "order": order, "failures": items}, readable)


def _page(
    failures: Failures,
    queue: str | None,
    class_name: str | None,
    start: int,
    count: int,
    order: str,
) -> tuple[int, list[FailedEntry]]:
    """The matching total and one page; a single unfiltered list is read page-wise only."""
    lists = failures.lists(queue)
    filtered = class_name is not None or (queue is not None and not failures.per_queue)
    if len(lists) != 1 or filtered or count == 0:
        everything = failures.matching(queue, class_name)
        ordered = everything[::-1] if order == "desc" else everything
        return len(ordered), ordered[start : start + count] if count else ordered[start:]
    backend, run = failures.backend, failures.driver.run
    total = run(backend.count(lists[0]))
    if order == "asc":
        return total, run(backend.entries(start, count, lists[0]))
    high = total - start
    low = max(high - count, 0)
    if high <= 0:
        return total, []
    return total, run(backend.entries(low, high - low, lists[0]))[::-1]


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
    backend = open_backend(settings, backend_name, json_style)
    with connection(settings) as driver:
        entry = Failures(backend, driver).find(index, queue, None)
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
    backend = open_backend(settings, backend_name, json_style)
    with connection(settings) as driver:
        failures = Failures(backend, driver)
        entry = failures.find(index, queue, expected_id)
        if not entry.readable:
            raise Refusal(f"failure {index} is not a readable record; it can only be removed")
        list_name = failures.list_of(queue)
        if to_queue is None:
            driver.run(backend.requeue(index, list_name))
        else:
            driver.run(backend.requeue_to(index, to_queue, list_name))
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
    backend = open_backend(settings, backend_name, json_style)
    with connection(settings) as driver:
        failures = Failures(backend, driver)
        entry = failures.find(index, queue, expected_id)
        removed = driver.run(backend.remove(index, failures.list_of(queue), expected=entry.raw))
    if not removed:
        raise Refusal(f"failure {index} changed or was removed meanwhile; nothing removed")
    emit(as_json, {**summary(entry), "removed": True}, lambda: f"removed {_one_line(entry)}")


def _requeue_each(failures: Failures, entries: Sequence[FailedEntry]) -> int:
    """Requeue each entry still at its index with the same bytes; the number requeued."""
    requeued = 0
    for entry in entries:
        current = failures.driver.run(failures.backend.entry(entry.index, entry.list_name))
        if current is None or current.raw != entry.raw:
            continue
        try:
            failures.driver.run(failures.backend.requeue(entry.index, entry.list_name))
        except (FailureRecordError, FailureNotFoundError):
            continue
        requeued += 1
    return requeued


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
    backend = open_backend(settings, backend_name, json_style)
    confirm(yes, f"Requeue {failures_of(queue, class_name)}?")
    with connection(settings) as driver:
        failures = Failures(backend, driver)
        if class_name is not None:
            matching = progress(failures.matching(queue, class_name), "Requeueing")
            requeued = _requeue_each(failures, matching)
        elif queue is not None:
            requeued = driver.run(backend.requeue_queue(queue))
        else:
            requeued = driver.run(backend.requeue_all())
    emit(as_json, {"requeued": requeued}, lambda: f"requeued {requeued} failure(s)")


def _remove_each(failures: Failures, entries: Sequence[FailedEntry]) -> int:
    """Remove each entry by its bytes (see the module docstring); the number removed."""
    removed = 0
    for entry in entries:
        removed += failures.driver.run(
            failures.backend.remove(entry.index, entry.list_name, expected=entry.raw)
        )
    return removed


def _clear(failures: Failures, queue: str | None, class_name: str | None) -> int:
    backend, run = failures.backend, failures.driver.run
    if class_name is not None or (queue is not None and not failures.per_queue):
        return _remove_each(failures, progress(failures.matching(queue, class_name), "Deleting"))
    lists = failures.lists(queue)
    before = sum(run(backend.count(list_name)) for list_name in lists)
    if queue is not None:
        run(backend.remove_queue(queue))
    else:
        run(backend.clear())
    return before


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
    backend = open_backend(settings, backend_name, json_style)
    confirm(yes, f"Delete {failures_of(queue, class_name)}?")
    with connection(settings) as driver:
        removed = _clear(Failures(backend, driver), queue, class_name)
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
    backend = open_backend(settings, backend_name, json_style)
    with connection(settings) as driver:
        failures = Failures(backend, driver)
        if class_name is not None or (queue is not None and not failures.per_queue):
            removed = _remove_each(failures, failures.matching(queue, class_name, True))
        else:
            removed = driver.run(backend.clear_retried(failures.list_of(queue)))
    emit(as_json, {"removed": removed}, lambda: f"removed {removed} retried failure(s)")
