"""The job an ActiveJob handler runs, read from its job data and reachable via ``current_job()``.

Job metadata is read through :func:`current_job` (a context variable) rather than an extra
argument, so a Rails keyword argument of any name reaches the handler untouched.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from ..errors import ResqueCompatError
from .job_data import parse_enqueued_at
from .wire import ActiveJobArgumentError


class InvalidJobDataError(ResqueCompatError, ValueError):
    """A JobWrapper payload whose argument is not ActiveJob's job data."""


@dataclass(frozen=True)
class ActiveJobContext:
    """The job a handler is running, as Rails' job instance would describe it.

    ``executions`` counts this run, as Rails' ``executions`` does inside ``perform``: 1 for
    a job performed for the first time (the job data holds the runs before). ``enqueued_at``
    and ``scheduled_at`` are parsed; ``locale`` and ``timezone`` are None when the job data
    has none (Rails then uses its own defaults). ``job_data`` is the hash as it arrived.
    """

    job_class: str
    job_id: str | None
    queue_name: str | None
    priority: int | None
    executions: int
    exception_executions: Mapping[str, int]
    locale: str | None
    timezone: str | None
    enqueued_at: datetime | None
    scheduled_at: datetime | None
    provider_job_id: str | None
    job_data: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_job_data(cls, job_data: Mapping[str, Any]) -> ActiveJobContext:
        """Read the metadata; a field of the wrong type is an :class:`InvalidJobDataError`."""
        executions = _optional(job_data, "executions", int) or 0
        return cls(
            job_class=_required_str(job_data, "job_class"),
            job_id=_optional(job_data, "job_id", str),
            queue_name=_optional(job_data, "queue_name", str),
            priority=_optional(job_data, "priority", int),
            executions=executions + 1,
            exception_executions=_optional(job_data, "exception_executions", dict) or {},
            locale=_optional(job_data, "locale", str),
            timezone=_optional(job_data, "timezone", str),
            enqueued_at=_optional_time(job_data, "enqueued_at"),
            scheduled_at=_optional_time(job_data, "scheduled_at"),
            provider_job_id=_optional(job_data, "provider_job_id", str),
            job_data=job_data,
        )


_T = TypeVar("_T")


def _optional(job_data: Mapping[str, Any], key: str, kind: type[_T]) -> _T | None:
    value = job_data.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InvalidJobDataError(f"job data {key!r} must be {kind.__name__}, got {value!r}")
    return value


def _required_str(job_data: Mapping[str, Any], key: str) -> str:
    value = _optional(job_data, key, str)
    if not value:
        raise InvalidJobDataError(f"job data has no {key!r}: {dict(job_data)!r}")
    return value


def _optional_time(job_data: Mapping[str, Any], key: str) -> datetime | None:
    value = job_data.get(key)
    if value is None:
        return None
    try:
        return parse_enqueued_at(value)
    except ActiveJobArgumentError as error:
        raise InvalidJobDataError(f"job data {key!r} is not an ISO 8601 time: {value!r}") from error


_current_job: contextvars.ContextVar[ActiveJobContext] = contextvars.ContextVar(
    "resque_compat_activejob"
)


def current_job() -> ActiveJobContext:
    """The ActiveJob job the calling handler runs (LookupError outside a handler)."""
    try:
        return _current_job.get()
    except LookupError:
        raise LookupError(
            "current_job() is only available while an ActiveJob handler runs"
        ) from None


@contextlib.contextmanager
def bind_current_job(context: ActiveJobContext) -> Iterator[None]:
    """Make ``context`` what :func:`current_job` returns while the handler runs."""
    token = _current_job.set(context)
    try:
        yield
    finally:
        _current_job.reset(token)
