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
from .worker import Intervals, QueueSelector, Worker, WorkerSettings

Echo = Callable[[str], None]


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
        settings = RedisSettings.from_url(redis_url, namespace or "resque-compat-demo")
        registry = demo_registry(echo)
        client = Resque(settings, ClientOptions(registry=registry))
        _enqueue_samples(client, registry, echo)
        echo(f"Queued: {client.queue_sizes()}")
        echo("Running a Python worker until the queues are empty:")
        worker_settings = WorkerSettings(
            queues=QueueSelector.parse("file_serve,reports"), intervals=Intervals(interval=0)
        )
        Worker(worker_settings, settings, registry=registry).work()
        info = client.info()
        echo(
            f"Done. processed={info['processed']} failed={info['failed']} pending={info['pending']}"
        )
        _show_failures(client, echo)
        client.close()
        return info


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
