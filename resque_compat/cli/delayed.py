"""``resque-compat delayed``: resque-scheduler's delayed jobs, as its resque-web tab shows them.

``list`` the timestamps (with their job counts), ``show`` one timestamp's jobs, ``remove`` a
job by class, queue and args (every copy, or at one timestamp), ``enqueue-now`` a timestamp
(resque-web's "Enqueue now": moved atomically, as the scheduler moves them) and ``clear``
everything delayed (Ruby's ``reset_delayed_queue``). No Python job is loaded: the queue of a
job to remove is given, since the delayed bytes include it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import click

from .. import codec
from ..connection import RedisSettings
from ..delayed import DelayedOperations
from ..errors import DecodeError
from ..job import JobRegistry
from ..scheduler.mover import DelayedMover
from ..store.mover import MoverOps
from .context import pass_settings
from .ops import _operations, parse_args
from .output import Refusal, clip, compact, connection, emit, json_option, json_style_option, shown
from .output import table as text_table


def _utc(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


@click.group()
def delayed() -> None:
    """Delayed jobs (resque-scheduler's enqueue_at/enqueue_in): list, show, remove..."""


@delayed.command("list")
@click.option("--start", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--count", type=click.IntRange(min=1), default=50, show_default=True)
@json_option
@pass_settings
def list_(settings: RedisSettings, start: int, count: int, as_json: bool) -> None:
    """Timestamps that hold delayed jobs, earliest first, with how many each holds."""
    store = _operations(settings).schema.delayed
    with connection(settings) as driver:
        total = driver.run(store.schedule_size())
        timestamps = driver.run(store.schedule_peek(start, count))
        sizes = driver.run(store.sizes(timestamps))
    rows = [
        {"timestamp": ts, "at": _utc(ts), "jobs": size}
        for ts, size in zip(timestamps, sizes, strict=True)
    ]

    def readable() -> str:
        if not rows:
            return f"{total} timestamps, none from index {start}"
        body = text_table(["TIMESTAMP", "AT", "JOBS"], [list(r.values()) for r in rows])
        return f"{total} timestamps\n{body}"

    emit(as_json, {"timestamps": total, "items": rows}, readable)


def _describe(raw: bytes) -> dict[str, Any]:
    try:
        document = codec.decode(raw)
    except DecodeError as error:
        return {"raw": shown(raw), "class": None, "args": None, "queue": None, "error": str(error)}
    fields = document if isinstance(document, dict) else {}
    return {
        "raw": shown(raw),
        "class": fields.get("class"),
        "args": fields.get("args"),
        "queue": fields.get("queue"),
        "error": None,
    }


@delayed.command()
@click.argument("timestamp", type=int)
@click.option("--start", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--count", type=click.IntRange(min=1), default=50, show_default=True)
@json_option
@pass_settings
def show(settings: RedisSettings, timestamp: int, start: int, count: int, as_json: bool) -> None:
    """The jobs delayed to TIMESTAMP (Unix seconds), as stored."""
    store = _operations(settings).schema.delayed
    with connection(settings) as driver:
        size = driver.run(store.timestamp_size(timestamp))
        raws = driver.run(store.timestamp_peek(timestamp, start, count)) if size else []
    jobs = [_describe(raw) for raw in raws]

    def readable() -> str:
        rows = [[j["queue"], j["class"], clip(compact(j["args"]))] for j in jobs]
        head = f"{timestamp} ({_utc(timestamp)}): {size} jobs"
        return head if not rows else f"{head}\n" + text_table(["QUEUE", "CLASS", "ARGS"], rows)

    emit(as_json, {"timestamp": timestamp, "size": size, "jobs": jobs}, readable)


@delayed.command()
@click.argument("class_name", metavar="CLASS")
@click.option("--queue", required=True, help="The queue the job was delayed for.")
@click.option("--args", "args_json", default="[]", show_default=True, help="JSON array.")
@click.option("--at", "timestamp", type=int, help="Only at this timestamp (Unix seconds).")
@json_style_option
@json_option
@pass_settings
def remove(
    settings: RedisSettings, /, class_name: str, queue: str, args_json: str, **options: Any
) -> None:
    """Remove a delayed job (every copy, or the ones at --at), by its exact bytes."""
    args = parse_args(args_json, class_name, options["json_style"])
    ops = _operations(settings, options["json_style"])
    payload = DelayedOperations(ops).payload(class_name, args, queue)
    store = ops.schema.delayed
    at = options["timestamp"]
    with connection(settings) as driver:
        if at is None:
            removed = driver.run(store.remove(payload))
        else:
            removed = driver.run(store.remove_from_timestamp(at, payload))
    emit(options["as_json"], {"removed": removed}, lambda: f"removed {removed} delayed jobs")


@delayed.command("enqueue-now")
@click.argument("timestamp", type=int)
@json_option
@pass_settings
def enqueue_now(settings: RedisSettings, timestamp: int, as_json: bool) -> None:
    """Move TIMESTAMP's jobs onto their queues now (resque-web's "Enqueue now")."""
    with connection(settings) as driver:
        if not driver.run(_operations(settings).schema.delayed.timestamp_size(timestamp)):
            raise Refusal(f"no delayed jobs at {timestamp} (see `resque-compat delayed list`)")
        mover = DelayedMover(driver, MoverOps(settings.keys), JobRegistry())
        moved = mover.move_timestamp(timestamp)
    emit(as_json, {"enqueued": moved}, lambda: f"enqueued {moved} jobs")


@delayed.command()
@click.option("--yes", is_flag=True, help="Really delete every delayed job.")
@json_option
@pass_settings
def clear(settings: RedisSettings, yes: bool, as_json: bool) -> None:
    """Delete every delayed job (Ruby's reset_delayed_queue)."""
    if not yes:
        raise Refusal("clear deletes every delayed job: add --yes")
    store = _operations(settings).schema.delayed
    with connection(settings) as driver:
        count = driver.run(store.schedule_size())
        driver.run(store.reset())
    emit(as_json, {"cleared_timestamps": count}, lambda: f"cleared {count} timestamps")
