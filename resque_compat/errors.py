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


class ReplicationError(ResqueCompatError):
    """Fewer replicas than ``wait_replicas`` acknowledged an enqueue within the timeout.

    The job *is* on the master (it may run), but a failover before a replica copies it loses
    it: the producer decides whether to retry (and risk a duplicate) or to give up.
    """

    def __init__(self, message: str, acknowledged: int) -> None:
        super().__init__(message)
        self.acknowledged = acknowledged


class NoClassError(ResqueCompatError, ValueError):
    """A job was enqueued without a class name (Resque::NoClassError)."""


class UnknownJobError(ResqueCompatError, LookupError):
    """A payload names a class that no Python job is registered under."""


class DontPerform(ResqueCompatError):
    """Raised by a before_perform hook to skip the job (Resque::Job::DontPerform)."""
