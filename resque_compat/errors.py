"""The library's exception hierarchy.

Every error the library raises on purpose derives from ``ResqueCompatError`` so that an
application can catch "anything resque-compat refused" in one place, apart from the
network errors redis-py raises.
"""

from __future__ import annotations


class ResqueCompatError(Exception):
    """Base of every error raised on purpose by resque-compat."""


class ConfigurationError(ResqueCompatError, ValueError):
    """A setting (Redis URL, namespace, queue list, ...) cannot be used."""


class EncodeError(ResqueCompatError, ValueError):
    """A value cannot be written as JSON that Ruby Resque would also have written.

    Raised before anything is sent to Redis, so a refused enqueue leaves no trace.
    """


class DecodeError(ResqueCompatError, ValueError):
    """Bytes read from Redis are not a JSON document.

    The raw bytes are kept so that the caller can record them (in a failure record,
    say) instead of losing them.
    """

    def __init__(self, message: str, raw: bytes) -> None:
        super().__init__(message)
        self.raw = raw


class NoQueueError(ResqueCompatError, ValueError):
    """A job was enqueued without a queue and none could be inferred (Resque::NoQueueError)."""


class NoClassError(ResqueCompatError, ValueError):
    """A job was enqueued without a class name (Resque::NoClassError)."""


class UnknownJobError(ResqueCompatError, LookupError):
    """A payload names a class that no Python job is registered under."""


class DontPerform(ResqueCompatError):
    """Raised by a before_perform hook to skip the job (Resque::Job::DontPerform)."""


class DirtyExit(ResqueCompatError, RuntimeError):
    """A job's process ended without finishing it (Resque::DirtyExit, a RuntimeError there).

    The worker raises nothing: it passes one to the job's ``on_failure`` hooks when the
    child running the job was killed or exited, as Ruby's parent does with ``job.fail``, so
    that a plugin such as resque-retry can tell this case apart (its attempt counter lives in
    Redis, not in the dead child).
    """

    ruby_name = "Resque::DirtyExit"
