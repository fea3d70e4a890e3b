"""Python twins of ``ruby_fixtures/plugins.rb`` (``--app compat_tests.plugin_jobs``).

Same class names and effects as the Ruby classes, so a plugin test can let either runtime
take a job. Effects go to plain lists: ``compat:status``, ``compat:locklog``,
``compat:attempts``, and ``compat:performed`` (through ``compat_tests.jobs.record``).
"""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import redis

from compat_tests.jobs import record
from resque_compat import RedisSettings, job
from resque_compat.plugins.base import ruby_to_s
from resque_compat.plugins.lock_timeout import LockTimeout
from resque_compat.plugins.loner import unique
from resque_compat.plugins.retry import Retry, retry_key
from resque_compat.plugins.status import StatusJob, StatusPlugin
from resque_compat.store.base import text


def redis_settings() -> RedisSettings:
    """Read when a job first needs Redis, in the worker's process, not at import."""
    return RedisSettings.from_url(os.environ["REDIS_URL"])


def log(key: str, entry: dict[str, Any]) -> None:
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        client.rpush(key, json.dumps(entry))
    finally:
        client.close()


statuses = StatusPlugin(redis_settings)


@statuses.job("StepsJob")
def steps_job(status: StatusJob) -> None:
    steps = int(status.options.get("steps", 3))
    for step in range(steps):
        time.sleep(float(status.options.get("pause", 0)))
        status.at(step + 1, steps, f"step {step + 1}")
    log("compat:status", {"runtime": "python", "uuid": status.uuid})


@unique()
@job("UniqueRecord", queue="compat")
def unique_record(*args: Any) -> None:
    record(*args)


@unique(ttl=300)
@job("UniqueWithTtl", queue="compat")
def unique_with_ttl(*args: Any) -> None:
    record(*args)


locks = LockTimeout(redis_settings)


def _lock_log(number: int, edge: str, key: str = "") -> None:
    entry: dict[str, Any] = {"runtime": "python", "n": number, "edge": edge, "t": time.time()}
    log("compat:locklog", {**entry, "key": key} if key else entry)


@locks.locked(timeout=60, requeue=True, identifier=lambda key, *_rest: ruby_to_s(key))
@job("LockedJob", queue="locked")
def locked_job(key: str, number: int, seconds: float) -> None:
    _lock_log(number, "start")
    time.sleep(float(seconds))
    _lock_log(number, "end", key)


@locks.locked()
@job("DefaultLocked", queue="locked")
def default_locked(*args: Any) -> None:
    record(*args)


retries = Retry(redis_settings)


def _log_attempt(class_name: str, args: tuple[Any, ...]) -> None:
    """Log the retry counter this attempt runs under, as the Ruby twins do."""
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        raw = client.get(f"resque:{retry_key(class_name, args)}")
    finally:
        client.close()
    counter = None if raw is None else text(raw)
    log("compat:attempts", {"runtime": "python", "args": list(args), "counter": counter})


@retries.retry(limit=2)
@job("RetriedJob", queue="retry")
def retried_job(*args: Any) -> None:
    _log_attempt("RetriedJob", args)
    if not args or args[0] != "succeed":
        raise RuntimeError("attempt failed")


@retries.retry(limit=2)
@job("KilledRetriedJob", queue="retry")
def killed_retried_job(*args: Any) -> None:
    """Every attempt dies in the worker's child (SIGKILL): the retry hook runs in the worker."""
    _log_attempt("KilledRetriedJob", args)
    os.kill(os.getpid(), signal.SIGKILL)
