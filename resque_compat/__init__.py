"""resque-compat: Ruby Resque's Redis protocol in Python.

Python workers and producers that share a Redis with Ruby Resque 3.x: same keys, same
JSON bytes, same worker registry, so Ruby workers, Python workers and resque-web see one
fleet.
"""

from __future__ import annotations

from .client import ClientOptions, Resque
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

__version__ = "0.1.0"

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
