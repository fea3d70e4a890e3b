"""resque-loner 1.2.1: unique jobs, ``loners:queue:<q>:job:<md5>``.

Owns the loner marker (round trips in ``store.plugins.LonerOps``). Ruby's
``Resque::Plugins::UniqueJob`` makes ``Resque.enqueue`` of a job a no-op while the same
class and arguments are already queued on that queue; the worker deletes the marker when it
takes the job. Here a Python job opts in with :func:`unique`, after which Python enqueues
check and write the marker exactly as Ruby does (check, then ``SADD``/``RPUSH``/``SET`` in
one MULTI), so Ruby and Python producers of the same class see each other's jobs.

The digest is ``UniqueJob.redis_key``: the payload encoded and decoded again (the round
trip a job makes through Redis), each top-level hash argument turned into its sorted list
of ``[key, value]`` pairs (nested hashes left as they are), then the MD5 of
``{"class": C, "args": [...]}`` as Resque encodes it (``store.plugins``, since the client's
``dequeue``, ``destroy`` and ``remove_queue`` clear markers as loner's hooks do in Ruby).

>>> @unique(ttl=3600)
... @job("Digest", queue="mail")
... def digest(user_id): ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import codec
from ..errors import EncodeError
from ..job import JobSpec, Payload, PayloadError
from ..keys import Keys
from ..store.base import Operation
from ..store.plugins import LonerOps, loner_args_digest, loner_payload_digest


def loner_digest(
    class_name: str, args: Sequence[Any], style: codec.JsonStyle = codec.JsonStyle.JSON_GEM
) -> str:
    """The ``<md5>`` of the loner key, as ``UniqueJob.redis_key`` computes it."""
    return payload_digest(codec.encode_payload(class_name, args, style), style)


def payload_digest(payload: bytes, style: codec.JsonStyle = codec.JsonStyle.JSON_GEM) -> str:
    """The digest of a payload as it was (or will be) queued."""
    return loner_payload_digest(payload, style)


def marker_left(payload: Payload | PayloadError, deleted_at_reserve: str) -> str:
    """The digest of a taken job's marker that the worker still has to delete when the job
    finishes ('' for none): the reserve script deletes it itself only for classes the worker
    has seen marked before, and only when the payload's own bytes are what Ruby digests.

    Ruby's loner deletes the marker of a unique class's job when a worker takes it. A Python
    worker does not know which classes are unique in Ruby, so it deletes the marker of every
    job it takes (a job whose class is not unique has none). Computed before the job runs,
    which could change its arguments.
    """
    if not isinstance(payload, Payload):
        return ""
    try:
        digest = loner_args_digest(payload.class_name, payload.args)
    except EncodeError:
        return ""
    return "" if digest == deleted_at_reserve else digest


def loner_key(keys: Keys, queue: str, class_name: str, args: Sequence[Any]) -> str:
    return keys.loner(queue, loner_digest(class_name, args))


def clear(keys: Keys, queue: str, class_name: str, args: Sequence[Any]) -> Operation[int]:
    """Delete a taken job's marker, as Ruby's ``Job.reserve`` does for unique jobs.

    The worker does not call this: its reserve and finish scripts delete the marker in the
    round trip they make anyway (see :func:`marker_left`).
    """
    return LonerOps(keys).clear(queue, loner_digest(class_name, args))


def clear_queue(keys: Keys, queue: str) -> Operation[int]:
    """Every marker of a queue, as Ruby's ``Resque.remove_queue`` does with loner loaded."""
    return LonerOps(keys).clear_queue(queue)


def queued(keys: Keys, queue: str, class_name: str, args: Sequence[Any]) -> Operation[bool]:
    """Ruby's ``Resque.enqueued_in?(queue, klass, *args)`` for a unique job."""
    return LonerOps(keys).queued(queue, loner_digest(class_name, args))


def unique(ttl: int = -1) -> Callable[[JobSpec], JobSpec]:
    """Make a registered job unique while queued; ``ttl`` is Ruby's ``@loner_ttl`` (seconds
    the marker lives, -1 for as long as the job is queued)."""

    def push(
        keys: Keys, queue: str, class_name: str, args: Sequence[Any], payload: bytes
    ) -> Operation[bool]:
        digest = payload_digest(payload)
        return LonerOps(keys).push_unique(queue, payload, digest, ttl)

    def apply(spec: JobSpec) -> JobSpec:
        spec.pusher = push
        return spec

    return apply
