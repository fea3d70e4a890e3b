"""Python handlers for the Rails jobs of ``ruby_fixtures/activejob_jobs.rb`` and the recording.

A worker started with ``--app compat_tests.activejob_handlers`` performs ActiveJob jobs with
these. Each handler that succeeds appends to ``compat:performed`` (see ``compat_tests.jobs``)
one entry whose single argument is ``{"job": ..., "values": <pickled (args, kwargs)>,
"context": {...}}``: the pickle keeps the exact Python types a handler received (a
``SymbolKeysDict`` is not a ``dict`` there), which JSON would lose; :func:`received` reads it.
"""

from __future__ import annotations

import base64
import os
import pickle
from dataclasses import dataclass
from typing import Any

import redis

from resque_compat.activejob import GlobalID, activejob, current_job, globalid_locator

from .jobs import record

GLOBALID_APP = "refapp"
#: Person ids the locator treats as deleted records.
MISSING_PERSON_ID = "404"
#: While this plain key is unset, ``FlakyJob`` fails.
FLAKY_SWITCH = "compat:activejob:flaky_ok"


@dataclass(frozen=True)
class Person:
    """The recording's GlobalID model (``gid://refapp/Person/<id>``)."""

    id: int

    def to_global_id(self) -> GlobalID:
        return GlobalID.create(GLOBALID_APP, "Person", self.id)


@globalid_locator("Person")
def find_person(gid: GlobalID) -> Person | None:
    if gid.model_id == MISSING_PERSON_ID:
        return None
    return Person(int(gid.model_id))


def _record(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    job = current_job()
    context = {
        "job_id": job.job_id,
        "queue_name": job.queue_name,
        "priority": job.priority,
        "executions": job.executions,
        "exception_executions": dict(job.exception_executions),
        "locale": job.locale,
        "timezone": job.timezone,
        "enqueued_at": None if job.enqueued_at is None else job.enqueued_at.isoformat(),
    }
    values = base64.b64encode(pickle.dumps((list(args), kwargs))).decode()
    record({"job": job.job_class, "values": values, "context": context})


def received(entry: dict[str, Any]) -> tuple[str, list[Any], dict[str, Any], dict[str, Any]]:
    """A ``compat:performed`` entry of these handlers: job class, args, kwargs, context."""
    [performed] = entry["args"]
    args, kwargs = pickle.loads(base64.b64decode(performed["values"]))  # written by _record
    return performed["job"], args, kwargs, performed["context"]


@activejob("ArgsJob", queue="default")
def args_job(*args: Any, **kwargs: Any) -> None:
    _record(args, kwargs)


@activejob("MailerishJob", queue="mailers")
def mailerish_job(*args: Any, **kwargs: Any) -> None:
    _record(args, kwargs)


@activejob("FailingJob", queue="critical")
def failing_job(arg: str) -> None:
    raise ValueError(f"boom {arg}")


@activejob("RetryingJob")
def retrying_job() -> None:
    raise ZeroDivisionError("divided by 0")


@activejob("FlakyJob", queue="default")
def flaky_job(*args: Any, **kwargs: Any) -> None:
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        ready = client.exists(FLAKY_SWITCH)
    finally:
        client.close()
    if not ready:
        raise RuntimeError(f"not yet ({current_job().executions})")
    _record(args, kwargs)
