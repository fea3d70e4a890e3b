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


@retries.retry(limit=2)
@job("RetriedJob", queue="retry")
def retried_job(*args: Any) -> None:
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        raw = client.get(f"resque:{retry_key('RetriedJob', args)}")
    finally:
        client.close()
    counter = None if raw is None else text(raw)
    entry = {"runtime": "python", "args": list(args), "counter": counter}
    log("compat:attempts", entry)
    if not args or args[0] != "succeed":
        raise RuntimeError("attempt failed")


def _log_callback(status: StatusJob, callback: str, detail: str | None) -> None:
    current = status.status()
    entry = {"runtime": "python", "uuid": status.uuid, "callback": callback, "detail": detail}
    log("compat:callbacks", {**entry, "status": current.status if current else None})


def _on_success(status: StatusJob) -> None:
    _log_callback(status, "on_success", None)
    if status.options.get("outcome") == "callback_raises":
        raise RuntimeError("after success")


def _on_failure(status: StatusJob, error: BaseException | str | None) -> None:
    detail = f"error: {error}" if isinstance(error, BaseException) else error
    _log_callback(status, "on_failure", detail)


def _on_killed(status: StatusJob) -> None:
    _log_callback(status, "on_killed", None)


@statuses.job("CallbackJob", on_success=_on_success, on_failure=_on_failure, on_killed=_on_killed)
def callback_job(status: StatusJob) -> None:
    outcome = status.options.get("outcome")
    if outcome == "raise":
        raise ValueError("bad input")
    if outcome == "fail":
        status.failed(f"gave up on {ruby_to_s(status.options.get('item'))}")
    elif outcome == "tick":
        steps = int(status.options.get("steps", 200))
        for step in range(steps):
            status.at(step + 1, steps)
            time.sleep(float(status.options.get("pause", 0)))
    else:
        status.at(1, 1, "done")


def _log_attempt(class_name: str, args: tuple[Any, ...], key: str = "") -> None:
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        raw = client.get(f"resque:{key or retry_key(class_name, args)}")
    finally:
        client.close()
    counter = None if raw is None else text(raw)
    entry = {"runtime": "python", "class": class_name, "args": list(args), "counter": counter}
    log("compat:attempts", entry)


def _transient(error: BaseException, *_args: Any) -> bool:
    return "transient" in str(error)


@retries.retry(limit=3, retry_exceptions=(OSError,), retry_criteria=(_transient,))
@job("CriteriaJob", queue="retry")
def criteria_job(kind: str, *rest: Any) -> None:
    _log_attempt("CriteriaJob", (kind, *rest))
    raise RuntimeError(f"{kind} failure")


@retries.retry(limit=5, retry_args=lambda name, tries: [name, tries + 1])
@job("RetryArgsJob", queue="retry")
def retry_args_job(name: str, tries: int) -> None:
    _log_attempt("RetryArgsJob", (name, tries))
    if tries < 2:
        raise RuntimeError(f"try {tries} failed")


@retries.retry(retry_exceptions={RuntimeError: (0, 0, 0), OSError: 0})
@job("DelayListJob", queue="retry")
def delay_list_job(*args: Any) -> None:
    _log_attempt("DelayListJob", args)
    raise RuntimeError("always")


@retries.retry(limit=2, identifier=lambda first, *_rest: f"id {ruby_to_s(first)}")
@job("IdentifiedRetryJob", queue="retry")
def identified_retry_job(*args: Any) -> None:
    key = identified_retry_job.retrying.retry_key(args) if identified_retry_job.retrying else ""
    _log_attempt("IdentifiedRetryJob", args, key)
    raise RuntimeError("identified")


@retries.retry(limit=3, retry_args=lambda *_args: ["refuse"])
@job("RefusedRetryJob", queue="retry")
def refused_retry_job(*args: Any) -> None:
    _log_attempt("RefusedRetryJob", args)
    raise RuntimeError("refused retry")


@refused_retry_job.hook("before_enqueue")
def _refuse(*args: Any) -> bool:
    return not args or args[0] != "refuse"


@job("DelegateTarget", queue="retry")
def delegate_target(*args: Any) -> None:
    log("compat:attempts", {"runtime": "python", "class": "DelegateTarget", "args": list(args)})


@retries.retry(limit=2, delegate=delegate_target)
@job("DelegatingRetryJob", queue="retry")
def delegating_retry_job(*args: Any) -> None:
    _log_attempt("DelegatingRetryJob", args)
    raise RuntimeError("delegated")


@retries.retry(limit=2, delay=60)
@job("DelayedRetryJob", queue="retry")
def delayed_retry_job(*args: Any) -> None:
    _log_attempt("DelayedRetryJob", args)
    raise RuntimeError("delayed attempt failed")


@retries.retry(backoff=(0, 30, 90))
@job("BackoffJob", queue="retry")
def backoff_job(*args: Any) -> None:
    _log_attempt("BackoffJob", args)
    raise RuntimeError("backoff attempt failed")


@retries.retry(retry_exceptions={RuntimeError: (10, 20)})
@job("ExceptionDelayJob", queue="retry")
def exception_delay_job(*args: Any) -> None:
    _log_attempt("ExceptionDelayJob", args)
    raise RuntimeError("exception delay failed")


@retries.retry(limit=2)
@job("KilledRetriedJob", queue="retry")
def killed_retried_job(*args: Any) -> None:
    """Every attempt dies in the worker's child (SIGKILL): the retry hook runs in the worker."""
    _log_attempt("KilledRetriedJob", args)
    os.kill(os.getpid(), signal.SIGKILL)
