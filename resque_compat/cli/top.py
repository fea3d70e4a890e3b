"""``resque-compat top``: the fleet at a glance, refreshed in place, like ``top`` for Resque.

Everything shown comes from :func:`resque_compat.views.read_snapshot`, so Ruby, Python and
node-resque workers appear alike, as do the delayed jobs and schedulers of Ruby and Python,
and nothing is written to Redis. On a terminal the view redraws with curses every
``--interval`` seconds until ``q``; with ``--once``, ``--batch`` or a pipe it prints
plain-text frames instead (``top -b``'s convention), which is what scripts, logs and tests
read. Rates need two frames: the first one shows ``-``.
"""

from __future__ import annotations

import contextlib
import curses
import json
import locale
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import click
import redis

from ..connection import RedisSettings
from ..store import SyncDriver
from ..views import DelayedView, FleetSnapshot, Rates, WorkerView, rates_between, read_snapshot
from .context import pass_settings

READ_TIMEOUT = 5.0
"""Seconds one Redis reply may take: a hung server shows up as an error, not a frozen view."""

JOB_WIDTH = 48
ERROR_WIDTH = 60
WORKER_COLUMNS = (
    "HOST",
    "PID",
    "QUEUES",
    "STATE",
    "JOB",
    "RUNNING",
    "HEARTBEAT",
    "UP",
    "DONE",
    "FAIL",
)
"""DONE and FAIL are the worker's own ``stat:processed:<id>`` / ``stat:failed:<id>``."""
QUIT_KEYS = frozenset({ord("q"), ord("Q"), 27})


@click.command()
@click.option(
    "-i",
    "--interval",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="Seconds between refreshes.",
)
@click.option("--once", is_flag=True, help="Print one plain-text frame and exit.")
@click.option(
    "-b",
    "--batch",
    is_flag=True,
    help="Plain-text frames one after another (automatic when stdout is not a terminal).",
)
@click.option(
    "-n",
    "--iterations",
    type=click.IntRange(min=0),
    default=0,
    help="Stop after this many frames (0: until interrupted).",
)
@click.option(
    "--failures",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="How many recent failures to list.",
)
@click.option(
    "--scheduler-lock-prefix",
    "lock_prefix",
    envvar="RESQUE_SCHEDULER_MASTER_LOCK_PREFIX",
    default="",
    help="The schedulers' RESQUE_SCHEDULER_MASTER_LOCK_PREFIX, to find their master lock.",
)
@pass_settings
def top(
    settings: RedisSettings,
    interval: float,
    once: bool,
    batch: bool,
    iterations: int,
    failures: int,
    lock_prefix: str,
) -> None:
    """Live view of queues, workers, delayed jobs, failures and throughput (q quits)."""
    sampler = Sampler(settings, failures, lock_prefix)
    try:
        if once or batch or not sys.stdout.isatty():
            run_batch(sampler, interval, 1 if once else iterations)
        else:
            run_live(sampler, interval, iterations)
    except KeyboardInterrupt:
        pass
    finally:
        sampler.close()


class Sampler:
    """Takes snapshots on one connection and turns each into the lines of a frame."""

    def __init__(self, settings: RedisSettings, failures: int, lock_prefix: str = "") -> None:
        if settings.socket_timeout is None:
            settings = replace(settings, socket_timeout=READ_TIMEOUT)
        self.settings = settings
        self.failures = failures
        self.lock_prefix = lock_prefix
        self.client = settings.client()
        self.driver = SyncDriver(self.client)
        self.previous: FleetSnapshot | None = None

    def frame(self) -> list[str]:
        """The next frame; raises ``redis.RedisError`` when Redis cannot be read."""
        read = read_snapshot(
            self.settings.keys, self.failures, delayed=True, lock_prefix=self.lock_prefix
        )
        snapshot = self.driver.run(read)
        rates = None if self.previous is None else rates_between(self.previous, snapshot)
        self.previous = snapshot
        return render(snapshot, rates, self.settings)

    def frame_or_error(self, interval: float) -> list[str]:
        """The next frame, or one saying why Redis could not be read (the live view retries)."""
        try:
            return self.frame()
        except redis.RedisError as error:
            return [
                f"resque-compat top  {self.settings.display_url}",
                "",
                f"cannot read Redis: {error}",
                f"retrying every {interval:g}s",
            ]

    def close(self) -> None:
        self.client.close()


def run_batch(sampler: Sampler, interval: float, iterations: int) -> None:
    """Print frames as plain text; a Redis error ends the command with status 1."""
    frames = 0
    while True:
        try:
            lines = sampler.frame()
        except redis.RedisError as error:
            raise click.ClickException(
                f"cannot read Redis at {sampler.settings.display_url}: {error}"
            ) from error
        if frames:
            click.echo("")
        click.echo("\n".join(lines))
        frames += 1
        if iterations and frames >= iterations:
            return
        time.sleep(interval)


def run_live(sampler: Sampler, interval: float, iterations: int) -> None:
    locale.setlocale(locale.LC_CTYPE, "")  # UTF-8 queue names; times stay in C
    curses.wrapper(_live_loop, sampler, interval, iterations)


def _live_loop(screen: curses.window, sampler: Sampler, interval: float, iterations: int) -> None:
    """Redraw every ``interval`` seconds; a key press is read while waiting."""
    with contextlib.suppress(curses.error):
        curses.curs_set(0)
    screen.timeout(max(1, int(interval * 1000)))
    frames = 0
    while True:
        lines = sampler.frame_or_error(interval)
        _draw(screen, [*lines, "", f"refresh {interval:g}s - q quits"])
        frames += 1
        if iterations and frames >= iterations:
            return
        if screen.getch() in QUIT_KEYS:
            return


def _draw(screen: curses.window, lines: Sequence[str]) -> None:
    height, width = screen.getmaxyx()
    screen.erase()
    for row, line in enumerate(lines[: max(0, height - 1)]):
        screen.addnstr(row, 0, line, max(0, width - 1))
    screen.refresh()


# --- rendering ------------------------------------------------------------------------------


def render(snapshot: FleetSnapshot, rates: Rates | None, settings: RedisSettings) -> list[str]:
    """A frame as plain lines: summary, delayed jobs, queues, workers, recent failures."""
    return [
        *_summary(snapshot, rates, settings),
        "",
        *_queues(snapshot, rates),
        "",
        *_workers(snapshot.workers),
        "",
        *_failures(snapshot),
    ]


def _summary(snapshot: FleetSnapshot, rates: Rates | None, settings: RedisSettings) -> list[str]:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(snapshot.server_time))
    title = f"resque-compat top  {settings.display_url}  namespace {settings.namespace!r}  {stamp}"
    if snapshot.paused:
        title += "  PAUSED (pause-all-workers)"
    processed_rate = "-" if rates is None else f"{rates.processed:.1f}/s"
    failed_rate = "-" if rates is None else f"{rates.failed:.1f}/s"
    counts = (
        f"processed {snapshot.processed} ({processed_rate})  "
        f"failed {snapshot.failed} ({failed_rate})  "
        f"pending {snapshot.pending}  "
        f"workers {len(snapshot.workers)} ({snapshot.working} working, {snapshot.stale} stale)  "
        f"failed list {snapshot.failed_entries}"
    )
    if snapshot.delayed is None:
        return [title, counts]
    return [title, counts, _delayed(snapshot.delayed, snapshot.server_time)]


def _delayed(delayed: DelayedView, now: float) -> str:
    """Delayed jobs, when the next ones fall due (how late, when overdue), who is master."""
    line = f"delayed {delayed.jobs} ({delayed.timestamps} timestamps)"
    if delayed.next_due is not None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(delayed.next_due))
        if delayed.overdue > 0:
            line += f"  next due {stamp} (OVERDUE {age(delayed.overdue)})"
        else:
            line += f"  next due {stamp} (in {age(delayed.next_due - now)})"
    if delayed.master is None:
        return f"{line}  scheduler master: none"
    ttl = "" if delayed.master_ttl is None else f" (lock ttl {delayed.master_ttl}s)"
    return f"{line}  scheduler master {delayed.master}{ttl}"


def _queues(snapshot: FleetSnapshot, rates: Rates | None) -> list[str]:
    if not snapshot.queues:
        return ["QUEUES: none (the queues set is empty)"]
    rows = [
        [name, str(size), _rate(None if rates is None else rates.queues.get(name))]
        for name, size in snapshot.queues.items()
    ]
    return _table(["QUEUE", "SIZE", "RATE"], rows, right={1, 2})


def _workers(workers: Sequence[WorkerView]) -> list[str]:
    if not workers:
        return ["WORKERS: none registered"]
    rows = [_worker_row(worker) for worker in workers]
    return _table(WORKER_COLUMNS, rows, right={1, 5, 6, 7, 8, 9})


def _worker_row(worker: WorkerView) -> list[str]:
    job = worker.job
    heartbeat = age(worker.heartbeat_age) + (" STALE" if worker.stale else "")
    return [
        worker.host,
        "?" if worker.pid is None else str(worker.pid),
        ",".join(worker.queues),
        worker.state,
        "" if job is None else _job_text(job.queue, job.class_name, job.args),
        "" if job is None else age(job.runtime),
        heartbeat,
        age(worker.uptime),
        str(worker.processed),
        str(worker.failed),
    ]


def _job_text(queue: str, class_name: str | None, args: Any) -> str:
    if class_name is None:
        return _clip(f"{queue}: (unreadable job record)", JOB_WIDTH)
    shown = json.dumps(args, ensure_ascii=False, separators=(",", ":"), default=str)
    return _clip(f"{queue}: {class_name} {shown}", JOB_WIDTH)


def _failures(snapshot: FleetSnapshot) -> list[str]:
    lists = ", ".join(f"{name} {count}" for name, count in snapshot.failed_lists.items() if count)
    heading = f"RECENT FAILURES ({lists or 'none'})"
    if not snapshot.recent_failures:
        return [heading]
    rows = [
        [
            failure.failed_at,
            failure.queue,
            failure.class_name,
            _clip(_first_line(f"{failure.exception}: {failure.error}"), ERROR_WIDTH),
            failure.worker,
        ]
        for failure in snapshot.recent_failures
    ]
    return [heading, *_table(["FAILED AT", "QUEUE", "CLASS", "ERROR", "WORKER"], rows, set())]


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    """Columns as wide as their widest cell, two spaces apart, numbers right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.rjust(width) if index in right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )
        return "  ".join(padded).rstrip()

    return [line(headers), *(line(row) for row in rows)]


def age(seconds: float | None) -> str:
    """``42s``, ``3m05s``, ``2h07m``, ``3d04h``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def _rate(per_second: float | None) -> str:
    return "-" if per_second is None else f"{per_second:+.1f}/s"


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else text


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
