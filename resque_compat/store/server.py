"""Questions about the Redis server itself, not the Resque schema on it."""

from __future__ import annotations

from ..connection import CLUSTER_REFUSAL
from ..errors import ConfigurationError
from .base import Operation, one


def cluster_enabled() -> Operation[bool]:
    """Whether the server runs in cluster mode (``INFO cluster``: ``cluster_enabled:1``)."""
    reply = yield one(("INFO", "cluster"))
    info = reply if isinstance(reply, dict) else {}
    return bool(int(info.get("cluster_enabled", 0)))


def refuse_cluster() -> Operation[None]:
    """Raise :class:`ConfigurationError` with the reason when the server is a cluster node.

    A cluster node answers Resque's multi-key commands with CLUSTERDOWN or CROSSSLOT, which
    says nothing about why; a worker asks once at start and says it plainly instead.
    """
    if (yield from cluster_enabled()):
        raise ConfigurationError(CLUSTER_REFUSAL)
