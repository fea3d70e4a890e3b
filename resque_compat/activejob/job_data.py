"""The job-data hash ``ActiveJob::Base#serialize`` writes, and the Resque payload around it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as _timezone
from typing import Any

from .encode import serialize_arguments
from .values import GlobalID, RubyTime
from .wire import (
    JOB_WRAPPER_CLASS,
    NANO_ENQUEUED_AT_SINCE,
    ActiveJobArgumentError,
    format_time,
    parse_time,
    parse_version,
)


def format_enqueued_at(dt: datetime, rails_version: str = "6.1") -> str:
    """``enqueued_at`` as Rails writes it: ``Time.now.utc.iso8601`` before 7.1 (seconds, ``Z``),
    ``iso8601(9)`` from 7.1 on. Ruby truncates the fraction; so does this."""
    if dt.utcoffset() is None:
        raise ActiveJobArgumentError(f"enqueued_at must be an aware datetime, got {dt!r}")
    nanos = getattr(dt, "nanosecond", 0)
    utc = RubyTime.from_datetime(dt.astimezone(_timezone.utc), nanosecond=nanos)
    digits = 9 if parse_version(rails_version) >= NANO_ENQUEUED_AT_SINCE else 0
    return format_time(utc, digits=digits)


def parse_enqueued_at(value: object) -> RubyTime:
    """``enqueued_at`` (or 7.1's ``scheduled_at``) read back, in either form Rails writes."""
    parsed, nanos = parse_time(value)
    return RubyTime.from_datetime(parsed, nanosecond=nanos)


@dataclass(frozen=True)
class JobDataOptions:
    """Everything about one job besides its class and arguments: where it goes, what Rails
    records about it, and which Rails reads it.

    ``job_id`` defaults to a new random UUID, ``enqueued_at`` to now. ``timezone`` is the
    Rails zone name (``Time.zone.name``: ``"UTC"``, ``"Tokyo"``) the job will perform in.
    ``rails_version``, ``symbol_keys`` and ``globalid_for`` are those of
    :func:`~resque_compat.activejob.serialize_arguments`. ``scheduled_at`` is part of job
    data only from Rails 7.1.
    """

    queue: str
    priority: int | None = None
    job_id: str | None = None
    locale: str = "en"
    timezone: str = "UTC"
    enqueued_at: datetime | None = None
    rails_version: str = "6.1"
    symbol_keys: bool = False
    globalid_for: Callable[[Any], GlobalID | None] | None = None
    provider_job_id: str | None = None
    executions: int = 0
    exception_executions: Mapping[str, int] | None = None
    scheduled_at: datetime | None = None

    def __post_init__(self) -> None:
        _check_job_fields(self.queue, self.priority, self.executions)


def build_job_data(
    job_class: str, args: Sequence[Any], kwargs: Mapping[str, Any] | None, options: JobDataOptions
) -> dict[str, Any]:
    """The job-data hash ``ActiveJob::Base#serialize`` writes, keys in Rails' order.

    Rails 6.1 and 7.0 write eleven keys ending with ``enqueued_at`` (whole seconds);
    7.1 and later write ``enqueued_at`` with 9 fraction digits and add ``scheduled_at``
    (``None`` unless given).
    """
    if not isinstance(job_class, str) or not job_class:
        raise ActiveJobArgumentError(f"job_class must be a class name, got {job_class!r}")
    arguments = serialize_arguments(
        args,
        kwargs,
        rails_version=options.rails_version,
        symbol_keys=options.symbol_keys,
        globalid_for=options.globalid_for,
    )
    when = options.enqueued_at if options.enqueued_at is not None else datetime.now(_timezone.utc)
    data: dict[str, Any] = {
        "job_class": job_class,
        "job_id": options.job_id if options.job_id is not None else str(uuid.uuid4()),
        "provider_job_id": options.provider_job_id,
        "queue_name": options.queue,
        "priority": options.priority,
        "arguments": arguments,
        "executions": options.executions,
        "exception_executions": dict(options.exception_executions or {}),
        "locale": options.locale,
        "timezone": options.timezone,
        "enqueued_at": format_enqueued_at(when, options.rails_version),
    }
    data.update(_scheduled_at(options))
    return data


def _scheduled_at(options: JobDataOptions) -> dict[str, Any]:
    """7.1's ``scheduled_at`` key; older Rails has none, and no way to say it."""
    if parse_version(options.rails_version) >= NANO_ENQUEUED_AT_SINCE:
        when = options.scheduled_at
        return {
            "scheduled_at": None
            if when is None
            else format_enqueued_at(when, options.rails_version)
        }
    if options.scheduled_at is not None:
        raise ActiveJobArgumentError(
            "scheduled_at is part of job data only from Rails 7.1; older Rails schedules "
            "through resque-scheduler's delayed queue, outside the job data"
        )
    return {}


def _check_job_fields(queue: object, priority: object, executions: object) -> None:
    if not isinstance(queue, str) or not queue:
        raise ActiveJobArgumentError(f"queue must be a queue name, got {queue!r}")
    if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)):
        raise ActiveJobArgumentError(f"priority must be an int or None, got {priority!r}")
    if not isinstance(executions, int) or isinstance(executions, bool) or executions < 0:
        raise ActiveJobArgumentError(f"executions must be a count, got {executions!r}")


def wrap_job_data(job_data: Mapping[str, Any]) -> dict[str, Any]:
    """The Resque payload Rails' adapter enqueues: ``class`` then ``args``, no ``wrapped``."""
    return {"class": JOB_WRAPPER_CLASS, "args": [dict(job_data)]}
