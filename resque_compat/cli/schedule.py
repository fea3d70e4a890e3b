"""``resque-compat schedule list|enqueue-now``: recurring schedules, as resque-web's Schedule
tab shows them and as its "Queue now" button fires them.

The schedule is what a scheduler would load: the entries of ``--file`` (a resque-scheduler
YAML file) merged with the dynamic ones stored in Redis, which win by name. ``list`` writes
nothing; it shows each entry's timing, class, queue, arguments, when it last fired
(``delayed:last_enqueued_at``) and, for a cron line, when it fires next, and names the
entries a scheduler would refuse or skip (another ``--env``). ``enqueue-now`` enqueues one
entry once, as ``enqueue_from_config`` does, without touching its timing or its
``last_enqueued_at`` (resque-web's button leaves them too).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click

from ..client import Resque
from ..connection import RedisSettings
from ..errors import ResqueCompatError
from ..schedule_format.entries import Entry
from ..scheduler.recurring import (
    RecurringSchedules,
    enqueue_entry,
    queue_of,
    read_schedule_file,
)
from ..store.schedules import ScheduleOps
from .context import pass_settings
from .output import Refusal, clip, compact, emit, json_option, shown, table


@click.group()
def schedule() -> None:
    """Recurring schedules (resque-scheduler): list them, enqueue one now."""


def schedule_options(function: Any) -> Any:
    """Where the schedule comes from: a file, the env its entries are filtered by, job apps."""
    function = click.option(
        "-a",
        "--app",
        "apps",
        multiple=True,
        envvar="RESQUE_APP",
        help="Module to import that registers the jobs (their queues), repeatable.",
    )(function)
    function = click.option(
        "--env",
        envvar="RAILS_ENV",
        default=None,
        help="The scheduler's env: entries with another rails_env are skipped.",
    )(function)
    return click.option(
        "-f",
        "--file",
        "schedule_file",
        envvar="RESQUE_SCHEDULE_FILE",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help="A resque-scheduler YAML schedule file (dynamic schedules come from Redis).",
    )(function)


def _recurring(
    client: Resque, schedule_file: str | None, env: str | None, apps: Sequence[str]
) -> RecurringSchedules:
    for module in apps:
        importlib.import_module(module)
    try:
        file_schedule = {} if schedule_file is None else read_schedule_file(schedule_file)
    except (OSError, ValueError) as error:
        raise Refusal(f"{schedule_file}: {error}") from error
    # A file entry with ``persist`` is stored in Redis when a scheduler installs the file;
    # until then it is shown (and enqueued) from the file.
    file_schedule = {name: _unpersisted(config) for name, config in file_schedule.items()}
    recurring = RecurringSchedules(client, file_schedule, env=env)
    recurring.load()
    return recurring


def _unpersisted(config: Any) -> Any:
    if not isinstance(config, dict):
        return config
    return {key: value for key, value in config.items() if key != "persist"}


def entry_document(client: Resque, entry: Entry, last: str | None, now: float) -> dict[str, Any]:
    next_due = entry.cron.next_after(now) if entry.cron is not None else None
    return {
        "name": entry.name,
        "status": "ok",
        "dynamic": entry.dynamic,
        "schedule": entry.timing,
        "class": entry.class_name,
        "custom_job_class": entry.custom_job_class,
        "queue": queue_of(client, entry),
        "args": list(entry.args),
        "description": entry.description,
        "last_enqueued_at": last,
        "next_at": None if next_due is None else _local(next_due),
        "problem": None,
    }


def _local(moment: float) -> str:
    return datetime.fromtimestamp(moment).astimezone().isoformat(timespec="seconds")


def _unloaded(name: str, status: str, problem: str, last: str | None) -> dict[str, Any]:
    return {"name": name, "status": status, "problem": problem, "last_enqueued_at": last}


def _row(item: dict[str, Any]) -> list[object]:
    if item["status"] != "ok":
        return [shown(item["name"]), item["status"], clip(shown(item["problem"]), 80)]
    where = f"{item['class']} -> {item['queue']}"
    what = f"{item['schedule']}  {where}  {clip(shown(compact(item['args'])), 30)}"
    when = f"last {item['last_enqueued_at'] or 'never'}, next {item['next_at'] or '-'}"
    return [shown(item["name"]), "dynamic" if item["dynamic"] else "file", f"{what}  ({when})"]


@schedule.command("list")
@schedule_options
@json_option
@pass_settings
def list_schedules(
    settings: RedisSettings,
    schedule_file: str | None,
    env: str | None,
    apps: tuple[str, ...],
    as_json: bool,
) -> None:
    """Every schedule entry: timing, class, queue, args, last and next firing, problems."""
    with Resque(settings) as client:
        recurring = _recurring(client, schedule_file, env, apps)
        last = client.driver.run(ScheduleOps(settings.keys).last_enqueued())
        now = time.time()
        items = [
            entry_document(client, entry, last.get(name), now)
            for name, entry in recurring.entries().items()
        ]
    items += [_unloaded(n, "refused", p, last.get(n)) for n, p in recurring.problems.items()]
    items += [_unloaded(n, "skipped", p, last.get(n)) for n, p in recurring.skipped.items()]
    items.sort(key=lambda item: str(item["name"]))
    emit(
        as_json,
        items,
        lambda: (
            table(["NAME", "SOURCE", "SCHEDULE"], [_row(item) for item in items])
            if items
            else "(no schedules)"
        ),
    )


@schedule.command("enqueue-now")
@click.argument("name")
@schedule_options
@json_option
@pass_settings
def enqueue_now(
    settings: RedisSettings,
    name: str,
    schedule_file: str | None,
    env: str | None,
    apps: tuple[str, ...],
    as_json: bool,
) -> None:
    """Enqueue schedule NAME once, now (resque-web's "Queue now")."""
    with Resque(settings) as client:
        recurring = _recurring(client, schedule_file, env, apps)
        entry = recurring.entries().get(name)
        if entry is None:
            skipped = recurring.skipped.get(name)
            why = f"schedule {name!r}: {skipped or 'no such schedule'}"
            raise Refusal(recurring.problems.get(name) or why)
        try:
            queued = enqueue_entry(client, entry)
        except ResqueCompatError as error:
            raise Refusal(str(error)) from error
        document = {
            "name": name,
            "class": entry.custom_job_class or entry.class_name,
            "queue": queue_of(client, entry),
            "args": list(entry.args),
            "enqueued": queued is not None,
        }
    emit(as_json, document, lambda: _enqueued_text(document))


def _enqueued_text(document: dict[str, Any]) -> str:
    if not document["enqueued"]:
        return f"{document['name']}: a before_enqueue hook refused the job"
    args = clip(shown(compact(document["args"])))
    return f"enqueued {document['class']} {args} on {document['queue']}"
