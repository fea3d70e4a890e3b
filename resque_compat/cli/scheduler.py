"""``resque-compat scheduler``: resque-scheduler's ``resque-scheduler`` command, same variables.

It moves due delayed jobs under resque-scheduler's master lock, so it runs beside Ruby
schedulers (one of them is master at a time) or instead of them.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

import click

from ..client import ClientOptions, Resque
from ..connection import RedisSettings
from ..job import default_registry
from ..scheduler import Scheduler, SchedulerSettings
from ..scheduler.recurring import RecurringSchedules
from ..worker.supervisor import daemonize, write_pidfile
from .context import pass_settings, scheduler_lock_prefix_option


@click.command()
@click.option(
    "-a", "--app", "apps", multiple=True, envvar="RESQUE_APP", help="Module registering jobs."
)
@click.option(
    "-f",
    "--file",
    "schedule_file",
    envvar="RESQUE_SCHEDULE_FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="A resque-scheduler YAML schedule file (recurring jobs; see docs/recurring.md).",
)
@click.option(
    "-i",
    "--interval",
    type=float,
    envvar="RESQUE_SCHEDULER_INTERVAL",
    default=5.0,
    show_default=True,
    help="Longest wait between two looks at the schedule.",
)
@click.option("--lock-timeout", type=int, envvar="LOCK_TIMEOUT", default=180, show_default=True)
@scheduler_lock_prefix_option("--lock-prefix")
@click.option("-D", "--dynamic-schedule", "dynamic", is_flag=True, envvar="DYNAMIC_SCHEDULE")
@click.option("-n", "--app-name", envvar="APP_NAME", default="", help="Shown in the title.")
@click.option("-E", "--environment", "env", envvar="RAILS_ENV", default="")
@click.option("-B", "--background", is_flag=True, envvar="BACKGROUND")
@click.option("-P", "--pidfile", envvar="PIDFILE", type=click.Path(dir_okay=False))
@click.option("-l", "--logfile", envvar="LOGFILE", type=click.Path(dir_okay=False))
@click.option("-v", "--verbose", is_flag=True, envvar="VERBOSE")
@click.option("-q", "--quiet", is_flag=True, envvar="QUIET")
@pass_settings
def scheduler(redis: RedisSettings, /, **options: object) -> None:
    """Move delayed jobs when due, as resque-scheduler does (master lock shared with Ruby)."""
    _configure_logging(options)
    for module in options["apps"]:  # type: ignore[attr-defined]
        importlib.import_module(str(module))
    settings = SchedulerSettings(
        interval=float(options["interval"]),  # type: ignore[arg-type]
        lock_timeout=int(options["lock_timeout"]),  # type: ignore[call-overload]
        lock_prefix=str(options["lock_prefix"]),
        dynamic=bool(options["dynamic"]),
        app_name=str(options["app_name"]),
        env=str(options["env"]),
    )
    if options["background"]:
        daemonize()
    pidfile = Path(str(options["pidfile"])) if options["pidfile"] else None
    if pidfile is not None:
        write_pidfile(str(pidfile))
    try:
        Scheduler(redis, settings, _recurring(redis, settings, options["schedule_file"])).run()
    finally:
        if pidfile is not None:  # Ruby's scheduler deletes it at exit too
            pidfile.unlink(missing_ok=True)


def _recurring(
    redis: RedisSettings, settings: SchedulerSettings, schedule_file: object
) -> RecurringSchedules:
    """The file's entries and the stored (dynamic) ones, as Ruby's scheduler loads
    ``Resque.schedule``; fired while this scheduler is master."""
    client = Resque(redis, ClientOptions(registry=default_registry))
    env = settings.env or None
    if schedule_file:
        try:
            return RecurringSchedules.from_file(
                client, str(schedule_file), dynamic=settings.dynamic, env=env
            )
        except (OSError, ValueError) as error:
            raise click.ClickException(f"{schedule_file}: {error}") from error
    return RecurringSchedules(client, dynamic=settings.dynamic, env=env)


def _configure_logging(options: dict[str, object]) -> None:
    """Ruby's logger: INFO by default, DEBUG with VERBOSE, nothing with QUIET; LOGFILE or
    stdout."""
    logfile = options["logfile"]
    handler: logging.Handler = (
        logging.FileHandler(str(logfile)) if logfile else logging.StreamHandler(sys.stdout)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger = logging.getLogger("resque_compat")
    logger.handlers = [handler]
    if options["quiet"]:
        logger.setLevel(logging.CRITICAL + 1)
    else:
        logger.setLevel(logging.DEBUG if options["verbose"] else logging.INFO)
