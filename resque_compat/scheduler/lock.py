"""resque-scheduler's master lock, held under the value Ruby writes (``host:pid``)."""

from __future__ import annotations

import os
import socket

from ..store import SyncDriver
from ..store.mover import MoverOps


def lock_value() -> str:
    """``host:pid`` as ``Lock::Base#value`` builds it: the host name resolved to its canonical
    name (getaddrinfo, then getnameinfo), the plain host name if that fails."""
    host = socket.gethostname()
    try:
        address = socket.getaddrinfo(host, "http")[0][4]
        host = socket.getnameinfo(address[:2], 0)[0]
    except OSError:
        pass
    return f"{host}:{os.getpid()}"


class MasterLock:
    """Taken with SETNX, kept by renewing its TTL on every pass of the loop, as Ruby does.

    Whoever holds it moves jobs; it expires ``timeout`` seconds after its holder's last renewal,
    so a dead master is replaced within the lock timeout (plus one interval).
    """

    def __init__(self, driver: SyncDriver, mover: MoverOps, timeout: int) -> None:
        self.driver = driver
        self.mover = mover
        self.timeout = timeout
        self.value = lock_value()

    def hold(self) -> bool:
        """Take the lock if it is free, renew it if it is ours; True while we are master."""
        return self.driver.run(self.mover.take_or_keep_lock(self.value, self.timeout))

    def release(self) -> bool:
        """Give it up only if it is still ours (Ruby's ``release_master_lock``)."""
        return self.driver.run(self.mover.release_lock(self.value))
