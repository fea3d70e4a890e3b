"""resque-compat: Ruby Resque's Redis protocol in Python.

Python workers and producers that share a Redis with Ruby Resque 3.x: same keys, same
JSON bytes, same worker registry, so Ruby workers, Python workers and resque-web see one
fleet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .codec import JsonStyle
from .connection import RedisSettings
from .errors import (
    ConfigurationError,
    DecodeError,
    DirtyExit,
    DontPerform,
    EncodeError,
    NoClassError,
    NoQueueError,
    ResqueCompatError,
    UnknownJobError,
)
from .job import JobRegistry, JobSpec, Payload, default_registry, job

if TYPE_CHECKING:
    from .client import ClientOptions, Resque

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``Resque`` and ``ClientOptions`` are imported when first used: the producer client
    brings ActiveJob, delayed jobs and schedules with it, which a worker that only runs
    jobs never needs (a fifth of its start-up time)."""
    if name in ("Resque", "ClientOptions"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ClientOptions",
    "ConfigurationError",
    "DecodeError",
    "DirtyExit",
    "DontPerform",
    "EncodeError",
    "JobRegistry",
    "JobSpec",
    "JsonStyle",
    "NoClassError",
    "NoQueueError",
    "Payload",
    "RedisSettings",
    "Resque",
    "ResqueCompatError",
    "UnknownJobError",
    "default_registry",
    "job",
]
