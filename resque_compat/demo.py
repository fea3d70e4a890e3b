"""The README's demo: Python enqueues sample jobs, a Python worker runs them, the inspection
API shows what happened. Uses ``REDIS_URL`` when given, else a private redis-server."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from .client import ClientOptions, Resque
from .connection import RedisSettings
from .devserver import RedisServerProcess
from .failure import RedisBackend
from .job import JobRegistry
from .store.control import OperatorPruneOps
from .worker import Intervals, QueueSelector, Worker, WorkerSettings

Echo = Callable[[str], None]

DEMO_NAMESPACE = "resque-compat-demo"
"""The demo's own namespace: on a shared Redis it never touches the fleet's ``resque:``."""


def demo_registry(echo: Echo) -> JobRegistry:
    registry = JobRegistry()

    @registry.job("Archive", queue="file_serve")
    def archive(path: str, options: dict[str, Any]) -> None:
        echo(f"  [worker pid {os.getpid()}] Archive {path} {options}")

    @registry.job("Reports::Monthly", queue="reports")
    def monthly(year: int, month: int) -> None:
        echo(f"  [worker pid {os.getpid()}] Reports::Monthly {year}-{month:02d}")

    @registry.job("Flaky", queue="reports")
    def flaky(reason: str) -> None:
        raise RuntimeError(reason)

    return registry


@contextlib.contextmanager
def redis_for_demo(url: str | None, echo: Echo) -> Iterator[str]:
    if url:
        yield url
        return
    with RedisServerProcess() as server:
        echo(f"Started a private redis-server on port {server.port} (stopped at the end).")
        yield server.url


def run_demo(url: str | None, namespace: str | None, echo: Echo) -> dict[str, Any]:
    with redis_for_demo(url, echo) as redis_url:
        settings = RedisSettings.from_url(redis_url, namespace or DEMO_NAMESPACE)
        client = Resque(settings, ClientOptions(registry=demo_registry(echo)))
        try:
            if url is None:
                return _run_sample_jobs(client, echo)[0]
            return _run_on_shared_redis(client, echo)
        finally:
            client.close()


def _run_on_shared_redis(client: Resque, echo: Echo) -> dict[str, Any]:
    """On someone's Redis the demo says where it writes, and leaves the namespace as it found
    it: empty, so it deletes what it made; or already in use, so it deletes nothing."""
    settings = client.settings
    existing = client.keys()
    if existing:
        echo(
            f"Using Redis at {settings.display_url}, namespace {settings.namespace!r}, which "
            f"already holds {len(existing)} key(s): the demo adds to them and deletes nothing."
        )
        return _run_sample_jobs(client, echo)[0]
    echo(
        f"Using Redis at {settings.display_url}, namespace {settings.namespace!r} "
        "(its keys are deleted at the end)."
    )
    worker_id = None
    try:
        info, worker_id = _run_sample_jobs(client, echo)
    finally:
        _delete_demo_keys(client, worker_id)
        left = client.keys()
        echo(
            f"Deleted the demo's keys: namespace {settings.namespace!r} "
            + (f"still holds {left}." if left else "is empty again.")
        )
    return info


def _run_sample_jobs(client: Resque, echo: Echo) -> tuple[dict[str, Any], str]:
    """Enqueue the samples and work them off; Resque's info and the worker's id."""
    registry = client.options.registry
    _enqueue_samples(client, registry, echo)
    echo(f"Queued: {client.queue_sizes()}")
    echo("Running a Python worker until the queues are empty:")
    worker_settings = WorkerSettings(
        queues=QueueSelector.parse("file_serve,reports"), intervals=Intervals(interval=0)
    )
    worker = Worker(worker_settings, client.settings, registry=registry)
    worker.work()
    info = client.info()
    echo(f"Done. processed={info['processed']} failed={info['failed']} pending={info['pending']}")
    _show_failures(client, echo)
    return info, worker.id


def _delete_demo_keys(client: Resque, worker_id: str | None) -> None:
    """What the demo writes: its queues, the stats, the failed list, and the pruning lock
    its worker took at start (it would otherwise linger for a heartbeat interval)."""
    keys = client.settings.keys
    for queue in client.queues():
        client.remove_queue(queue)
    client.driver.run(RedisBackend(keys).clear())
    for stat in ("processed", "failed"):
        client.driver.run(client.ops.schema.stats.clear(stat))
    if worker_id is not None:
        client.driver.run(OperatorPruneOps(keys).release(worker_id))


def _show_failures(client: Resque, echo: Echo) -> None:
    backend = RedisBackend(client.settings.keys)
    for entry in client.driver.run(backend.entries()):
        record = entry.record
        if isinstance(record, dict):
            echo(
                f"Failed list: {record['payload']['class']} {record['exception']}: "
                f"{record['error']} (failed_at {record['failed_at']}, worker {record['worker']})"
            )


def _enqueue_samples(client: Resque, registry: JobRegistry, echo: Echo) -> None:
    archive = registry.lookup("Archive")
    client.enqueue(archive, "files/report.pdf", {"size": 42})
    client.enqueue_many("reports", "Reports::Monthly", [[2026, month] for month in (9, 10, 11)])
    client.enqueue_to("reports", "Flaky", "shows how a failure is recorded")
    echo("Enqueued Archive, 3 x Reports::Monthly and Flaky, as Ruby's Resque.enqueue would.")
