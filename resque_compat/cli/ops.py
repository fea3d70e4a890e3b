"""Operator commands for queues and the fleet: ``info``, ``queues``, ``peek``, ``enqueue``,
``dequeue``, ``remove-queue``, ``pause``, ``resume``, ``stats``.

Each one is Ruby's call of the same name (``Resque.info``, ``Resque.peek``,
``Resque::Job.destroy``...) through :mod:`resque_compat.client`, so what it writes is
byte for byte what Ruby would write, and it writes nothing when it refuses. A queue that
is neither in ``queues`` nor holds jobs is refused by the commands that read or remove one
(a typo must not look like an empty queue); ``enqueue`` creates queues, as Ruby does.
"""

from __future__ import annotations

from typing import Any

import click

from .. import codec
from ..client import ClientOptions, ResqueOperations
from ..codec import JsonStyle
from ..connection import RedisSettings
from ..errors import DecodeError, EncodeError
from ..job import JobRegistry, Payload, PayloadError
from ..store import SyncDriver
from ..store.control import PauseOps
from ..views import FleetSnapshot, read_snapshot
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
    shown,
    table,
    yes_option,
)

ARGS_HELP = 'Job arguments as a JSON array, e.g. \'[42, "two", {"three": 3}]\'.'


def _operations(settings: RedisSettings, style: JsonStyle = JsonStyle.JSON_GEM) -> ResqueOperations:
    """Resque's API with no Python jobs registered: the CLI runs no application hooks."""
    return ResqueOperations(settings, ClientOptions(json_style=style, registry=JobRegistry()))


def parse_args(text: str, class_name: str, style: JsonStyle) -> list[Any]:
    """``--args``: a JSON array whose payload Ruby could have written, or a usage error."""
    try:
        value = codec.decode(text)
    except DecodeError as error:
        raise click.BadParameter(f"{error}: {text!r}", param_hint="--args") from error
    if not isinstance(value, list):
        kind = "object" if isinstance(value, dict) else type(value).__name__
        raise click.BadParameter(
            f"must be a JSON array (got a JSON {kind}); {ARGS_HELP}", param_hint="--args"
        )
    try:
        codec.encode_payload(class_name, value, style)
    except EncodeError as error:
        raise click.BadParameter(
            f"Ruby Resque cannot write these arguments: {error}", param_hint="--args"
        ) from error
    return value


def _require_queue(driver: SyncDriver, ops: ResqueOperations, queue: str) -> int:
    """The queue's length; refuses a queue that is not known and holds nothing."""
    size = driver.run(ops.schema.queues.size(queue))
    if size == 0 and queue not in driver.run(ops.schema.queues.names()):
        raise Refusal(f"unknown queue {queue!r} (see `resque-compat queues`)")
    return size


@click.command()
@click.option(
    "--environment",
    envvar=["RAILS_ENV", "RACK_ENV"],
    default="development",
    show_default=True,
    help="What `environment` reports (Ruby reads RAILS_ENV, then RACK_ENV).",
)
@json_option
@pass_settings
def info(settings: RedisSettings, environment: str, as_json: bool) -> None:
    """Ruby's Resque.info: pending, processed, queues, workers, working, failed..."""
    ops = ResqueOperations(settings, ClientOptions(environment=environment))
    with connection(settings) as driver:
        facts = driver.run(ops.info())
    rows = [
        (name, ", ".join(value) if isinstance(value, list) else value)
        for name, value in facts.items()
    ]
    emit(as_json, facts, lambda: pairs(rows))


@click.command()
@json_option
@pass_settings
def queues(settings: RedisSettings, as_json: bool) -> None:
    """Known queues (the `queues` set) and how many jobs each holds."""
    with connection(settings) as driver:
        sizes = driver.run(_operations(settings).schema.queues.sizes())
    emit(
        as_json,
        sizes,
        lambda: (
            table(["QUEUE", "JOBS"], [(shown(n), s) for n, s in sizes.items()])
            if sizes
            else "(no queues)"
        ),
    )


def describe_payload(index: int, raw: bytes) -> dict[str, Any]:
    """A queued payload for display: its bytes as text, and the job if it is one."""
    try:
        payload = Payload.decode(raw)
    except PayloadError as error:
        return {"index": index, "raw": shown(raw), "class": None, "args": None, "error": str(error)}
    return {
        "index": index,
        "raw": shown(raw),
        "class": payload.class_name,
        "args": list(payload.args),
        "error": None,
    }


@click.command()
@click.argument("queue")
@click.option("--start", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--count", type=click.IntRange(min=1), default=10, show_default=True)
@json_option
@pass_settings
def peek(settings: RedisSettings, queue: str, start: int, count: int, as_json: bool) -> None:
    """Show queued payloads exactly as stored, malformed ones included, without taking them."""
    ops = _operations(settings)
    with connection(settings) as driver:
        size = _require_queue(driver, ops, queue)
        raws = driver.run(ops.schema.queues.peek(queue, start, count))
    jobs = [describe_payload(start + offset, raw) for offset, raw in enumerate(raws)]

    def readable() -> str:
        if not jobs:
            return f"queue {shown(queue)}: {size} jobs, none from index {start}"
        lines = [f"queue {shown(queue)}: {size} jobs, showing {start}..{start + len(jobs) - 1}"]
        for job in jobs:
            note = f"   <- not a job: {job['error']}" if job["error"] else ""
            lines.append(f"{job['index']:>5}  {job['raw']}{note}")
        return "\n".join(lines)

    emit(as_json, {"queue": queue, "size": size, "jobs": jobs}, readable)


@click.command()
@click.argument("queue")
@click.argument("class_name", metavar="CLASS")
@click.option("--args", "args_json", default="[]", show_default=True, help=ARGS_HELP)
@json_style_option
@json_option
@pass_settings
def enqueue(
    settings: RedisSettings,
    queue: str,
    class_name: str,
    args_json: str,
    json_style: JsonStyle,
    as_json: bool,
) -> None:
    """Enqueue a job as Ruby's Resque.enqueue_to(QUEUE, CLASS, *args) would."""
    if not queue or not class_name:
        raise click.BadParameter("QUEUE and CLASS must not be empty")
    args = parse_args(args_json, class_name, json_style)
    ops = _operations(settings, json_style)
    with connection(settings) as driver:
        driver.run(ops.enqueue_to(queue, class_name, args))
        size = driver.run(ops.schema.queues.size(queue))
    payload = ops.encode(class_name, args)
    emit(
        as_json,
        {
            "queue": queue,
            "class": class_name,
            "args": args,
            "payload": shown(payload),
            "size": size,
        },
        lambda: f"enqueued to {shown(queue)} ({size} jobs now): {shown(payload)}",
    )


@click.command()
@click.argument("queue")
@click.argument("class_name", metavar="CLASS")
@click.option(
    "--args",
    "args_json",
    default=None,
    help="Only the job with exactly these arguments (a JSON array); default: every job "
    "of the class. [] also means every job, as in Ruby.",
)
@json_style_option
@json_option
@pass_settings
def dequeue(
    settings: RedisSettings,
    queue: str,
    class_name: str,
    args_json: str | None,
    json_style: JsonStyle,
    as_json: bool,
) -> None:
    """Remove queued jobs as Ruby's Resque::Job.destroy(QUEUE, CLASS, *args) does."""
    args = [] if args_json is None else parse_args(args_json, class_name, json_style)
    ops = _operations(settings, json_style)
    with connection(settings) as driver:
        _require_queue(driver, ops, queue)
        removed = driver.run(ops.destroy(queue, class_name, args))
        size = driver.run(ops.schema.queues.size(queue))
    which = f"{class_name} {compact(args)}" if args else f"every {class_name}"
    emit(
        as_json,
        {"queue": queue, "class": class_name, "args": args, "removed": removed, "size": size},
        lambda: f"removed {removed} job(s) ({shown(which)}) from {shown(queue)}; {size} left",
    )


@click.command("remove-queue")
@click.argument("queue")
@json_option
@yes_option
@pass_settings
def remove_queue(settings: RedisSettings, queue: str, as_json: bool, yes: bool) -> None:
    """Delete a queue and every job in it (Ruby's Resque.remove_queue)."""
    ops = _operations(settings)
    with connection(settings) as driver:
        size = _require_queue(driver, ops, queue)
        confirm(yes, f"Delete queue {shown(queue)!r} and its {size} job(s)?")
        driver.run(ops.schema.queues.remove_queue(queue))
    emit(
        as_json,
        {"queue": queue, "removed_jobs": size},
        lambda: f"removed queue {shown(queue)} and its {size} job(s)",
    )


def _is_pause(value: str | None) -> bool:
    """Ruby's test: the value, stripped, is "true" in any case."""
    return value is not None and value.strip().lower() == "true"


@click.command()
@json_option
@pass_settings
def pause(settings: RedisSettings, as_json: bool) -> None:
    """Pause every worker, Ruby and Python alike (sets pause-all-workers to "true")."""
    with connection(settings) as driver:
        previous = driver.run(PauseOps(settings.keys).pause())
    note = " (they already were)" if _is_pause(previous) else ""
    emit(
        as_json,
        {"paused": True, "previous": previous},
        lambda: (
            "paused: every worker finishes its current job, then takes no other until "
            f"`resque-compat resume`{note}"
        ),
    )


@click.command()
@json_option
@pass_settings
def resume(settings: RedisSettings, as_json: bool) -> None:
    """Let workers take jobs again (deletes pause-all-workers)."""
    with connection(settings) as driver:
        previous = driver.run(PauseOps(settings.keys).resume())
    message = "resumed: workers take jobs again"
    if not _is_pause(previous):
        message += " (they were not paused)"
    emit(as_json, {"paused": False, "previous": previous}, lambda: message)


@click.command()
@json_option
@pass_settings
def stats(settings: RedisSettings, as_json: bool) -> None:
    """Processed and failed counters, per worker too, queue sizes, failure lists."""
    with connection(settings) as driver:
        snapshot = driver.run(read_snapshot(settings.keys, recent_failures=0))
    emit(as_json, stats_document(snapshot), lambda: stats_text(snapshot))


def stats_document(snapshot: FleetSnapshot) -> dict[str, Any]:
    return {
        "processed": snapshot.processed,
        "failed": snapshot.failed,
        "paused": snapshot.paused,
        "queues": dict(snapshot.queues),
        "workers": {
            worker.id: {"processed": worker.processed, "failed": worker.failed}
            for worker in snapshot.workers
        },
        "failed_lists": dict(snapshot.failed_lists),
    }


def stats_text(snapshot: FleetSnapshot) -> str:
    summary = pairs(
        [
            ("processed", snapshot.processed),
            ("failed", snapshot.failed),
            ("paused", "yes" if snapshot.paused else "no"),
        ]
    )
    queue_rows = [(shown(name), size) for name, size in snapshot.queues.items()]
    worker_rows = [(clip(shown(w.id)), w.processed, w.failed) for w in snapshot.workers]
    list_rows = [(shown(name), count) for name, count in snapshot.failed_lists.items()]
    return "\n\n".join(
        [
            summary,
            table(["QUEUE", "JOBS"], queue_rows) if queue_rows else "(no queues)",
            table(["WORKER", "PROCESSED", "FAILED"], worker_rows)
            if worker_rows
            else "(no workers)",
            table(["FAILURE LIST", "RECORDS"], list_rows),
        ]
    )
