"""``resque-compat work``: Ruby's ``rake resque:work`` / ``resque:workers``, same variables."""

from __future__ import annotations

import importlib
import logging
import os
import sys

import click

from ..connection import RedisSettings
from ..errors import ResqueCompatError
from ..failure import backend_from_name
from ..worker import Intervals, QueueSelector, Shutdown, Worker, WorkerSettings
from ..worker.supervisor import daemonize, supervise, write_pidfile
from .context import pass_settings
from .logs import configure_logging


@click.command()
@click.option(
    "-q",
    "--queues",
    envvar=["QUEUES", "QUEUE"],
    required=True,
    help="Comma-separated, in priority order; * and globs; !name excludes.",
)
@click.option(
    "-a",
    "--app",
    "apps",
    multiple=True,
    envvar="RESQUE_APP",
    help="Module to import that registers the jobs (repeatable).",
)
@click.option(
    "-i",
    "--interval",
    type=float,
    default=5.0,
    envvar="INTERVAL",
    show_default=True,
    help="Seconds one idle wait may last; 0 exits when the queues are empty.",
)
@click.option("--min-interval", type=float, envvar="MIN_INTERVAL")
@click.option("--max-interval", type=float, envvar="MAX_INTERVAL")
@click.option("--backoff-interval", type=float, envvar="BACKOFF_INTERVAL")
@click.option(
    "-c",
    "--count",
    type=int,
    default=1,
    envvar="COUNT",
    show_default=True,
    help="Worker processes to run and supervise.",
)
@click.option("--pidfile", envvar="PIDFILE", type=click.Path(dir_okay=False))
@click.option("--background/--foreground", envvar="BACKGROUND", default=False)
@click.option(
    "--fork/--no-fork",
    "fork_per_job",
    envvar="FORK_PER_JOB",
    default=True,
    help="Run each job in a forked child (Ruby's default).",
)
@click.option("--term-child/--no-term-child", envvar="TERM_CHILD", default=False)
@click.option("--term-timeout", type=float, envvar="RESQUE_TERM_TIMEOUT", default=4.0)
@click.option(
    "--pre-shutdown-timeout", type=float, envvar="RESQUE_PRE_SHUTDOWN_TIMEOUT", default=0.0
)
@click.option("--graceful-term/--no-graceful-term", envvar="GRACEFUL_TERM", default=False)
@click.option("--procline-prefix", envvar="RESQUE_PROCLINE_PREFIX", default="")
@click.option(
    "--resque-version",
    envvar="RESQUE_VERSION",
    default="3.0.0",
    show_default=True,
    help="Version in process titles: match the Ruby fleet's.",
)
@click.option(
    "--heartbeat-interval",
    type=float,
    envvar="RESQUE_HEARTBEAT_INTERVAL",
    default=60.0,
    show_default=True,
)
@click.option("--prune-interval", type=float, envvar="RESQUE_PRUNE_INTERVAL")
@click.option("--failure-backend", envvar="FAILURE_BACKEND", default="redis", show_default=True)
@click.option("-v", "--verbose", envvar=["VERBOSE", "LOGGING"], is_flag=True)
@click.option("-vv", "--vverbose", envvar="VVERBOSE", is_flag=True)
@pass_settings
def work(redis: RedisSettings, /, **options: object) -> None:
    """Run a worker (QUEUE=... resque-compat work, like rake resque:work)."""
    configure_logging(bool(options["verbose"]), bool(options["vverbose"]))
    for module in options["apps"]:  # type: ignore[attr-defined]
        importlib.import_module(str(module))
    try:
        settings = build_settings(options)
    except ResqueCompatError as error:
        raise click.UsageError(str(error)) from error
    if options["background"]:
        daemonize()
    if options["pidfile"]:
        write_pidfile(str(options["pidfile"]))
    count = int(options["count"])  # type: ignore[call-overload]
    backend_name = str(options["failure_backend"])

    def run_one() -> None:
        Worker(settings, redis, failures=backend_from_name(backend_name, redis.keys)).work()

    if count > 1:
        sys.exit(supervise(count, run_one))
    run_one()


def build_settings(options: dict[str, object]) -> WorkerSettings:
    heartbeat = float(options["heartbeat_interval"])  # type: ignore[arg-type]
    prune = options["prune_interval"]
    return WorkerSettings(
        queues=QueueSelector.parse(str(options["queues"])),
        intervals=Intervals(
            interval=float(options["interval"]),  # type: ignore[arg-type]
            min_interval=_optional_float(options["min_interval"]),
            max_interval=_optional_float(options["max_interval"]),
            backoff_interval=_optional_float(options["backoff_interval"]),
        ),
        shutdown=Shutdown(
            term_child=bool(options["term_child"]),
            term_timeout=float(options["term_timeout"]),  # type: ignore[arg-type]
            pre_shutdown_timeout=float(options["pre_shutdown_timeout"]),  # type: ignore[arg-type]
            graceful_term=bool(options["graceful_term"]),
        ),
        fork_per_job=bool(options["fork_per_job"]) and hasattr(os, "fork"),
        heartbeat_interval=heartbeat,
        prune_interval=float(prune) if prune is not None else heartbeat * 5,  # type: ignore[arg-type]
        resque_version=str(options["resque_version"]),
        procline_prefix=str(options["procline_prefix"]),
    )


def _optional_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


logging.getLogger("resque_compat").addHandler(logging.NullHandler())
