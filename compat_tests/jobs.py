"""Every Python job the tests run, in one importable module (``--app compat_tests.jobs``).

They mirror ``ruby_fixtures/jobs.rb`` and the node rig's jobs: same class names, same
effect (``RecordArgs`` appends ``{"runtime": "python", "pid": ..., "args": [...]}`` to the
plain list ``compat:performed``), so a test can check which runtime ran a job.
"""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import redis

from resque_compat import DontPerform, JobRegistry, job
from resque_compat.job import default_registry

PERFORMED_KEY = "compat:performed"
registry: JobRegistry = default_registry


#: Where ``record`` writes when set: a Redis apart from the one under test, so that what ran
#: survives that one's failover (tests/test_sentinel.py). Ruby's jobs.rb reads it too.
LEDGER_ENV = "COMPAT_LEDGER_URL"


def record(*args: Any, runtime: str = "python") -> None:
    """Append to ``compat:performed`` on a connection of this process (forks get their own)."""
    client = redis.Redis.from_url(os.environ.get(LEDGER_ENV) or os.environ["REDIS_URL"])
    try:
        entry = {"runtime": runtime, "pid": os.getpid(), "args": list(args)}
        client.rpush(PERFORMED_KEY, json.dumps(entry))
    finally:
        client.close()


@job("RecordArgs", queue="compat")
def record_args(*args: Any) -> None:
    record(*args)


@job("RecordParent", queue="compat")
def record_parent(*args: Any) -> None:
    """Which process forked this job's child (``compat:parents``)."""
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        entry = {"pid": os.getpid(), "ppid": os.getppid(), "args": list(args)}
        client.rpush("compat:parents", json.dumps(entry))
    finally:
        client.close()


@job("Failing", queue="compat")
def failing(*_args: Any) -> None:
    raise RuntimeError("boom")


@job("Slow", queue="compat")
def slow(seconds: float = 1, *rest: Any) -> None:
    time.sleep(float(seconds))
    record(seconds, *rest)


@job("Noop", queue="compat")
def noop(*_args: Any) -> None:
    return None


@job("FileServe", queue="file_serve")
def file_serve(*args: Any) -> None:
    """Records its arguments; ``FileServe("busy")`` first stays mid-job for 30 s, as the
    web_ui_reads recording's job did while resque-web looked at its worker."""
    if args == ("busy",):
        time.sleep(30)
    record(*args)


@job("ZeroDivJob", queue="file_serve")
def zero_div(number: int) -> float:
    return number / 0


@job("ArityJob", queue="file_serve")
def arity(one: Any) -> None:
    record(one)


@job("KilledJob", queue="file_serve")
def killed() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@job("KilledWithHook", queue="compat")
class KilledWithHook:
    """Dies in its child (SIGKILL); its on_failure hook, run by the worker, records what it
    was given (Ruby's parent runs it through ``job.fail(DirtyExit)``)."""

    queue = "compat"

    @staticmethod
    def perform(*_args: Any) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    @staticmethod
    def on_failure_record(error: BaseException, *args: Any) -> None:
        record("on_failure", getattr(error, "ruby_name", type(error).__name__), *args)


@job("OkJob", queue="file_serve")
def ok(*args: Any) -> None:
    record(*args)


@job("Skipped", queue="compat")
class Skipped:
    """A class-form job whose before_perform hook skips it (Resque::Job::DontPerform)."""

    queue = "compat"

    @staticmethod
    def perform(*args: Any) -> None:
        record("performed", *args)

    @staticmethod
    def before_perform_skip(*_args: Any) -> None:
        raise DontPerform("skipped on purpose")


@job("SlowJob", queue="file_serve")
def slow_job(label: str) -> None:
    """The recordings' SlowJob: long enough for a signal to arrive while it runs."""
    time.sleep(1.5)
    record(label)


@job("MessageJob", queue="file_serve")
def message_job() -> None:
    raise ValueError('bad café value\nsecond line "quoted"')


class CustomError(Exception):
    """An exception raised without a message (Ruby then uses the class name)."""


@job("Deep::NestedJob", queue="file_serve")
def nested_job() -> None:
    raise CustomError


@job("Boom", queue="file_serve")
def boom() -> None:
    raise RuntimeError("boom")
