"""The library's exception hierarchy.

Every error the library raises on purpose derives from ``ResqueCompatError`` so that an
application can catch "anything resque-compat refused" in one place, apart from the
network errors redis-py raises.
"""

from __future__ import annotations

import redis


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


class DirtyExit(ResqueCompatError, RuntimeError):
    """A job's process ended without finishing it (Resque::DirtyExit, a RuntimeError there).

    The worker raises nothing: it passes one to the job's ``on_failure`` hooks when the
    child running the job was killed or exited, as Ruby's parent does with ``job.fail``, so
    that a plugin such as resque-retry can tell this case apart (its attempt counter lives in
    Redis, not in the dead child).
    """

    ruby_name = "Resque::DirtyExit"


class PruneDeadWorkerDirtyExit(DirtyExit):
    """A worker whose heartbeat stopped held this job (Resque::PruneDeadWorkerDirtyExit, a
    DirtyExit there too): what the pruning worker passes to the job's ``on_failure`` hooks."""

    ruby_name = "Resque::PruneDeadWorkerDirtyExit"


class WritesRefused(ResqueCompatError, redis.exceptions.ResponseError):
    """Redis is up but refuses writes. What the call wrote is in the message: nothing, or
    the commands of the refused round trip that went through (``through``; a pipeline is not
    a transaction), or ``earlier`` round trips with writes that came before it.

    Raised by the store's drivers in place of redis-py's error, so that it still is one
    (``except redis.ResponseError`` code keeps working) and ``str()`` says what Redis said
    and what to do. A worker, the scheduler and the long-running commands wait it out; a
    producer or a one-shot command gets it.
    """

    hint = "retry when Redis accepts writes again"

    def __init__(self, reply: str, through: tuple[str, ...] = (), earlier: int = 0) -> None:
        self.reply = reply
        """Redis's words, its error code first (``OOM command not allowed ...``)."""
        self.through = through
        self.earlier = earlier
        effects = [f"{earlier} earlier round trip(s) with writes went through"] if earlier else []
        effects += [f"{', '.join(through)} went through"] if through else []
        effect = "; ".join(effects) or "nothing was written"
        super().__init__(f"Redis refuses writes: {reply} ({effect}; {self.hint})")

    def after(self, earlier: int) -> WritesRefused:
        """The same refusal, as the ``earlier``-th round trip of a call (itself if first)."""
        return type(self)(self.reply, self.through, earlier) if earlier else self


class OutOfMemory(WritesRefused, redis.exceptions.OutOfMemoryError):
    """``OOM``: Redis is at ``maxmemory`` with the ``noeviction`` policy."""

    hint = "retry when it has room"


class ReadOnlyReplica(WritesRefused, redis.exceptions.ReadOnlyError):
    """``READONLY``: this Redis is a replica, as a client may briefly see after a failover."""

    hint = "retry when it is promoted, or connect to the master"


class CannotPersist(WritesRefused):
    """``MISCONF``: Redis refuses writes because it failed to save to disk."""

    hint = "retry when Redis can save again"
