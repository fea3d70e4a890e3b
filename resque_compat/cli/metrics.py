"""``resque-compat metrics``: a Prometheus exporter for a Resque fleet, whatever runs it.

A custom collector reads Redis at scrape time (one :func:`resque_compat.views.read_snapshot`
per scrape, nothing cached, nothing written), so the numbers are the ones resque-web would
show at that moment and any number of exporters can watch the same Redis. Counters come
straight from ``stat:processed`` / ``stat:failed``: Prometheus' ``rate()`` turns them into
throughput and treats ``Resque::Stat.clear`` as a counter reset.

=============================================  =======  ============================================
metric                                         type     source
=============================================  =======  ============================================
``resque_up``                                  gauge    1 when Redis answered this scrape, else 0
``resque_queue_size{queue}``                   gauge    LLEN ``queue:<queue>`` for each known queue
``resque_pending_jobs``                        gauge    sum of the queue sizes (``Resque.info``)
``resque_jobs_processed_total``                counter  ``stat:processed`` (failed jobs included)
``resque_jobs_failed_total``                   counter  ``stat:failed``
``resque_workers``                             gauge    members of ``workers``
``resque_workers_working``                     gauge    workers whose ``worker:<id>`` holds a job
``resque_workers_stale``                       gauge    heartbeat older than 300 s (Ruby prunes)
``resque_longest_running_job_seconds``         gauge    age of the oldest ``run_at`` (0 when idle)
``resque_failed_list_length{list}``            gauge    LLEN ``failed`` and each ``<queue>_failed``
``resque_paused``                              gauge    1 while ``pause-all-workers`` is "true"
``resque_delayed_jobs``                        gauge    jobs in all the ``delayed:<ts>`` lists
``resque_delayed_timestamps``                  gauge    ZCARD ``delayed_queue_schedule``
``resque_delayed_next_due_timestamp_seconds``  gauge    its earliest timestamp; no sample when empty
``resque_delayed_overdue_seconds``             gauge    how long ago it fell due (0: not yet); grows
                                                        while no scheduler moves jobs
``resque_scheduler_master_held``               gauge    1 while a scheduler holds the master lock
``resque_scheduler_master_info{holder}``       gauge    1, labelled with the lock's ``host:pid``; no
                                                        sample while the lock is free
``resque_scheduler_master_lock_ttl_seconds``   gauge    seconds left before the lock expires
=============================================  =======  ============================================

The master lock is the one schedulers started with the same
``RESQUE_SCHEDULER_MASTER_LOCK_PREFIX`` use (``--scheduler-lock-prefix`` reads it).

``prometheus_client`` is an optional dependency (``pip install 'resque-compat[metrics]'``);
it is imported only when this command runs, so the rest of the CLI never needs it.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import click
import redis

from ..connection import RedisSettings
from ..store import SyncDriver
from ..store.outage import Outage, describe
from ..views import DelayedView, FleetSnapshot, read_snapshot
from .context import pass_settings

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

log = logging.getLogger("resque_compat.metrics")

READ_TIMEOUT = 5.0
"""Seconds one Redis reply may take: a hung Redis makes a scrape report ``resque_up 0``
instead of timing the scrape out."""

DEFAULT_PORT = 9457
INSTALL_HINT = "pip install 'resque-compat[metrics]'"


@click.command()
@click.option(
    "-p",
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    envvar="METRICS_PORT",
    show_default=True,
    help="TCP port to serve /metrics on (0: any free port, printed at startup).",
)
@click.option(
    "--address",
    default="0.0.0.0",
    envvar="METRICS_ADDRESS",
    show_default=True,
    help="Address to listen on.",
)
@click.option("--once", is_flag=True, help="Print the exposition text once and exit.")
@click.option(
    "--scheduler-lock-prefix",
    "lock_prefix",
    envvar="RESQUE_SCHEDULER_MASTER_LOCK_PREFIX",
    default="",
    help="The schedulers' RESQUE_SCHEDULER_MASTER_LOCK_PREFIX, to find their master lock.",
)
@pass_settings
def metrics(settings: RedisSettings, port: int, address: str, once: bool, lock_prefix: str) -> None:
    """Serve Prometheus metrics read from Redis at each scrape."""
    _log_to_stderr()
    prometheus = _require_prometheus()
    collector = FleetCollector(settings, lock_prefix)
    registry = prometheus.CollectorRegistry(auto_describe=False)
    registry.register(collector)
    try:
        if once:
            click.echo(prometheus.generate_latest(registry).decode(), nl=False)
            if not collector.last_up:
                raise click.ClickException(f"cannot read Redis at {settings.display_url}")
            return
        serve(prometheus.make_wsgi_app(registry), address, port, settings)
    finally:
        collector.close()


def _log_to_stderr() -> None:
    """Warnings (Redis unreachable) on stderr: stdout carries the exposition with ``--once``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    log.handlers = [handler]
    log.setLevel(logging.WARNING)
    log.propagate = False


def _require_prometheus() -> Any:
    """The ``prometheus_client`` module, or a usage error that says how to install it."""
    try:
        import prometheus_client
    except ImportError as error:
        raise click.ClickException(
            f"resque-compat metrics needs the prometheus_client library: {INSTALL_HINT}"
        ) from error
    return prometheus_client


class FleetCollector:
    """A Prometheus collector that takes a fresh fleet snapshot at every scrape.

    Scrapes may run concurrently (the server answers each in its own thread); the Redis
    client's connection pool makes that safe.
    """

    def __init__(self, settings: RedisSettings, lock_prefix: str = "") -> None:
        if settings.socket_timeout is None:
            settings = replace(settings, socket_timeout=READ_TIMEOUT)
        self.settings = settings
        self.lock_prefix = lock_prefix
        self.client = settings.client()
        self.driver = SyncDriver(self.client)
        self.last_up = False
        self.outage = Outage(log, retrying="resque_up is 0 until it answers")

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        try:
            read = read_snapshot(
                self.settings.keys, recent_failures=0, delayed=True, lock_prefix=self.lock_prefix
            )
            snapshot = self.driver.run(read)
        except redis.RedisError as error:
            # One line when an outage starts and one when it ends, not one per scrape.
            what = describe(error)
            if what is None:
                log.warning("cannot read Redis at %s: %s", self.settings.display_url, error)
            else:
                self.outage.failed(f"{what} at {self.settings.display_url}")
            self.last_up = False
            yield GaugeMetricFamily("resque_up", "Whether Redis answered this scrape.", value=0)
            return
        self.outage.over()
        self.last_up = True
        yield GaugeMetricFamily("resque_up", "Whether Redis answered this scrape.", value=1)
        yield from snapshot_metrics(snapshot)

    def close(self) -> None:
        self.client.close()


def snapshot_metrics(snapshot: FleetSnapshot) -> Iterator[Metric]:
    """The metric families of one snapshot (see the table at the top of this module)."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    sizes = GaugeMetricFamily("resque_queue_size", "Jobs waiting in a queue.", labels=["queue"])
    for name, size in snapshot.queues.items():
        sizes.add_metric([name], size)
    yield sizes
    yield GaugeMetricFamily(
        "resque_pending_jobs", "Jobs waiting in all queues.", value=snapshot.pending
    )
    yield CounterMetricFamily(
        "resque_jobs_processed",
        "Jobs finished by any worker, failed ones included (stat:processed).",
        value=snapshot.processed,
    )
    yield CounterMetricFamily(
        "resque_jobs_failed", "Jobs that failed (stat:failed).", value=snapshot.failed
    )
    yield from _worker_metrics(snapshot)
    lists = GaugeMetricFamily(
        "resque_failed_list_length", "Failure records kept in a failure list.", labels=["list"]
    )
    for name, count in snapshot.failed_lists.items():
        lists.add_metric([name], count)
    yield lists
    yield GaugeMetricFamily(
        "resque_paused", "1 while pause-all-workers pauses every worker.", value=snapshot.paused
    )
    if snapshot.delayed is not None:
        yield from _delayed_metrics(snapshot.delayed)


def _worker_metrics(snapshot: FleetSnapshot) -> Iterator[Metric]:
    from prometheus_client.core import GaugeMetricFamily

    runtimes = [w.job.runtime for w in snapshot.workers if w.job and w.job.runtime is not None]
    yield GaugeMetricFamily("resque_workers", "Registered workers.", value=len(snapshot.workers))
    yield GaugeMetricFamily(
        "resque_workers_working", "Workers running a job.", value=snapshot.working
    )
    yield GaugeMetricFamily(
        "resque_workers_stale",
        "Workers whose heartbeat is older than 300 s: the next Ruby worker to start prunes them.",
        value=snapshot.stale,
    )
    yield GaugeMetricFamily(
        "resque_longest_running_job_seconds",
        "How long the longest-running job has been running (0 when no worker is busy).",
        value=max(runtimes, default=0.0),
    )


def _delayed_metrics(delayed: DelayedView) -> Iterator[Metric]:
    """resque-scheduler's delayed jobs and master lock; a sample that has no value (no next
    due time, no lock holder) is left out rather than given a made-up one."""
    from prometheus_client.core import GaugeMetricFamily

    yield GaugeMetricFamily(
        "resque_delayed_jobs", "Jobs waiting in delayed:<ts> lists.", value=delayed.jobs
    )
    yield GaugeMetricFamily(
        "resque_delayed_timestamps",
        "Timestamps holding delayed jobs (delayed_queue_schedule).",
        value=delayed.timestamps,
    )
    next_due = GaugeMetricFamily(
        "resque_delayed_next_due_timestamp_seconds",
        "Unix time the earliest delayed jobs fall due.",
    )
    if delayed.next_due is not None:
        next_due.add_metric([], delayed.next_due)
    yield next_due
    yield GaugeMetricFamily(
        "resque_delayed_overdue_seconds",
        "How long ago the earliest delayed jobs fell due (0 until they do).",
        value=delayed.overdue,
    )
    yield from _master_metrics(delayed)


def _master_metrics(delayed: DelayedView) -> Iterator[Metric]:
    from prometheus_client.core import GaugeMetricFamily

    yield GaugeMetricFamily(
        "resque_scheduler_master_held",
        "1 while a scheduler (Ruby or Python) holds resque-scheduler's master lock.",
        value=delayed.master is not None,
    )
    info = GaugeMetricFamily(
        "resque_scheduler_master_info",
        "The scheduler holding the master lock (host:pid).",
        labels=["holder"],
    )
    ttl = GaugeMetricFamily(
        "resque_scheduler_master_lock_ttl_seconds",
        "Seconds before the master lock expires unless its holder renews it.",
    )
    if delayed.master is not None:
        info.add_metric([delayed.master], 1)
        if delayed.master_ttl is not None:
            ttl.add_metric([], delayed.master_ttl)
    yield info
    yield ttl


# --- the HTTP server ------------------------------------------------------------------------


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per scrape, so a slow Redis reply never queues the next scrape behind it."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """No access log line per scrape (Prometheus scrapes every few seconds, forever)."""

    def log_message(self, format: str, *args: Any) -> None:
        return None


def serve(app: Any, address: str, port: int, settings: RedisSettings) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then stop cleanly (exit status 0).

    Both signals are blocked before the server thread starts, so that thread inherits the
    mask and the main thread alone receives them, in ``sigwait``.
    """
    try:
        server = make_server(address, port, app, _ThreadingServer, handler_class=_QuietHandler)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {address}:{port}: {error}") from error
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    click.echo(
        f"resque-compat metrics: serving http://{address}:{server.server_port}/metrics "
        f"for {settings.display_url} (namespace {settings.namespace!r})"
    )
    try:
        signal.sigwait(stop_signals)
    finally:
        server.shutdown()
        server.server_close()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
