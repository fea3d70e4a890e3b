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
from ..worker import ForkLimits, Intervals, QueueSelector, Shutdown, Worker, WorkerSettings
from ..worker.supervisor import daemonize, supervise, write_pidfile
from .context import pass_settings
from .logs import configure_logging
from .output import check_reachable


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
@click.option(
    "--min-interval",
    type=float,
    envvar="MIN_INTERVAL",
    help="Ruby's shortest idle sleep; accepted for the same environment (the worker blocks).",
)
@click.option(
    "--max-interval",
    type=float,
    envvar="MAX_INTERVAL",
    help="Ruby's longest idle sleep; accepted for the same environment (the worker blocks).",
)
@click.option(
    "--backoff-interval",
    type=float,
    envvar="BACKOFF_INTERVAL",
    help="Ruby's idle sleep step; accepted for the same environment (the worker blocks).",
)
@click.option(
    "-c",
    "--count",
    type=int,
    default=1,
    envvar="COUNT",
    show_default=True,
    help="Worker processes to run and supervise.",
)
@click.option(
    "--pidfile",
    envvar="PIDFILE",
    type=click.Path(dir_okay=False),
    help="Write the process id to this file (of the supervisor with --count).",
)
@click.option(
    "--background/--foreground",
    envvar="BACKGROUND",
    default=False,
    help="Detach from the terminal and run as a daemon.",
)
@click.option(
    "--fork/--no-fork",
    "fork_per_job",
    envvar="FORK_PER_JOB",
    default=True,
    help="Run each job in a forked child (Ruby's default).",
)
@click.option(
    "--jobs-per-fork",
    envvar="JOBS_PER_FORK",
    metavar="N",
    help="A forked child runs N jobs, then exits (resque-multi-job-forks); wins over minutes.",
)
@click.option(
    "--minutes-per-fork",
    envvar="MINUTES_PER_FORK",
    metavar="M",
    help="A forked child runs jobs for M whole minutes after its first (resque-multi-job-forks).",
)
@click.option(
    "--mem-threshold",
    envvar="RESQUE_MEM_THRESHOLD",
    metavar="KB",
    help="With jobs or minutes per fork: a child using more resident kB exits after its job.",
)
@click.option(
    "--disable-multi-jobs-per-fork",
    envvar="DISABLE_MULTI_JOBS_PER_FORK",
    is_flag=True,
    help="One job per child even when JOBS_PER_FORK or MINUTES_PER_FORK is set.",
)
@click.option(
    "--term-child/--no-term-child",
    envvar="TERM_CHILD",
    default=False,
    help="On TERM/INT, send the running job's child SIGTERM before SIGKILL (Ruby's TERM_CHILD).",
)
@click.option(
    "--term-timeout",
    type=float,
    envvar="RESQUE_TERM_TIMEOUT",
    default=4.0,
    show_default=True,
    help="With --term-child: seconds between the child's SIGTERM and its SIGKILL.",
)
@click.option(
    "--pre-shutdown-timeout",
    type=float,
    envvar="RESQUE_PRE_SHUTDOWN_TIMEOUT",
    default=0.0,
    show_default=True,
    help="With --term-child: seconds the running job may still finish before its SIGTERM.",
)
@click.option(
    "--graceful-term/--no-graceful-term",
    envvar="GRACEFUL_TERM",
    default=False,
    help="Treat TERM like QUIT: finish the current job, then exit.",
)
@click.option(
    "--procline-prefix",
    envvar="RESQUE_PROCLINE_PREFIX",
    default="",
    help="Text put before the process title (Ruby's RESQUE_PROCLINE_PREFIX).",
)
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
    help="Seconds between heartbeats in workers:heartbeat (Resque.heartbeat_interval).",
)
@click.option(
    "--prune-interval",
    type=float,
    envvar="RESQUE_PRUNE_INTERVAL",
    help="Heartbeat age in seconds after which a worker counts as dead [default: 5 x heartbeat].",
)
@click.option(
    "--failure-backend",
    envvar="FAILURE_BACKEND",
    default="redis",
    show_default=True,
    help="Where failures go: redis, redis_multi_queue or multiple:redis,redis_multi_queue.",
)
@click.option(
    "-v",
    "--verbose",
    envvar=["VERBOSE", "LOGGING"],
    is_flag=True,
    help="Log each job and state change (Ruby's VERBOSE: *** message).",
)
@click.option(
    "-vv",
    "--vverbose",
    envvar="VVERBOSE",
    is_flag=True,
    help="Log everything, timestamped (Ruby's VVERBOSE).",
)
@pass_settings
def work(redis: RedisSettings, /, **options: object) -> None:
    """Run a worker (QUEUE=... resque-compat work, like rake resque:work)."""
    configure_logging(bool(options["verbose"]), bool(options["vverbose"]))
    import_apps([str(module) for module in options["apps"]])  # type: ignore[attr-defined]
    try:
        settings = build_settings(options)
    except ResqueCompatError as error:
        raise click.UsageError(str(error)) from error
    check_reachable(redis)
    if options["background"]:
        daemonize()
    if options["pidfile"]:
        write_pidfile(str(options["pidfile"]))
    count = int(options["count"])  # type: ignore[call-overload]
    backend_name = str(options["failure_backend"])

    def run_one() -> None:
        worker = Worker(settings, redis, failures=backend_from_name(backend_name, redis.keys))
        click.echo(start_line(worker.id, settings, redis))
        worker.work()

    if count > 1:
        sys.exit(supervise(count, run_one))
    run_one()


def import_apps(modules: list[str]) -> None:
    """Import the ``--app`` modules from the directory the worker was started in, as rq and
    celery do: ``resque-compat work --app myapp.jobs`` next to ``myapp/`` just works."""
    if modules and os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            raise click.ClickException(
                f"cannot import --app {module}: {error} (searched from {os.getcwd()})"
            ) from error


def start_line(worker_id: str, settings: WorkerSettings, redis: RedisSettings) -> str:
    """What a long-running process says when it starts, even when quiet: who it is, what it
    listens to, and where (the password hidden)."""
    mode = "fork per job" if settings.fork_per_job else "no fork"
    limits = settings.multi_job_forks
    if settings.fork_per_job and limits is not None:
        mode = (
            f"{limits.jobs} jobs per fork"
            if limits.jobs is not None
            else f"{limits.seconds / 60:g} minutes per fork"
        )
    return (
        f"resque-compat worker {worker_id} started: queues {settings.queues.label}, {mode}, "
        f"Redis {redis.display_url} (namespace {redis.namespace})"
    )


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
        multi_job_forks=fork_limits(options),
        heartbeat_interval=heartbeat,
        prune_interval=float(prune) if prune is not None else heartbeat * 5,  # type: ignore[arg-type]
        resque_version=str(options["resque_version"]),
        procline_prefix=str(options["procline_prefix"]),
    )


def fork_limits(options: dict[str, object]) -> ForkLimits | None:
    """resque-multi-job-forks' variables; set neither JOBS_PER_FORK nor MINUTES_PER_FORK (or
    set DISABLE_MULTI_JOBS_PER_FORK) for one job per child, as without the plugin."""
    jobs, minutes = options.get("jobs_per_fork"), options.get("minutes_per_fork")
    if options.get("disable_multi_jobs_per_fork") or (jobs is None and minutes is None):
        return None
    memory = options.get("mem_threshold")
    return ForkLimits.from_ruby(
        None if jobs is None else str(jobs),
        None if minutes is None else str(minutes),
        None if memory is None else str(memory),
    )


def _optional_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


logging.getLogger("resque_compat").addHandler(logging.NullHandler())
