"""A real Sentinel deployment on loopback: a master, a replica, three Sentinels, a ledger.

Started by ``tests/test_sentinel.py`` for each failover it runs (a failover changes roles, so a
topology is used once). The ledger is a separate plain Redis where jobs record that they ran
(``COMPAT_LEDGER_URL``), so what ran survives whatever the failover loses. Every process is
stopped when the ``with`` block ends, a failing test included.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis

from resque_compat.devserver import RedisServerProcess, free_port

SERVICE = "mymaster"


class SentinelProcess:
    """``redis-server <conf> --sentinel`` watching :data:`SERVICE` on ``master_port``."""

    def __init__(self, directory: Path, master_port: int) -> None:
        self.port = free_port()
        self.config = directory / f"sentinel-{self.port}.conf"
        self.config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {directory}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {master_port} 2\n"
            f"sentinel down-after-milliseconds {SERVICE} 1000\n"
            f"sentinel failover-timeout {SERVICE} 2000\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
        )
        self._process = subprocess.Popen(
            ["redis-server", str(self.config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True)

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()


class SentinelRig:
    """The deployment; :attr:`url` is what workers, producer and Ruby are given."""

    def __init__(self) -> None:
        self.master = RedisServerProcess()
        self.replica = RedisServerProcess(
            extra_args=["--replicaof", "127.0.0.1", str(self.master.port)]
        )
        self.ledger = RedisServerProcess()
        self.sentinels: list[SentinelProcess] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def start(self) -> None:
        for server in (self.ledger, self.master, self.replica):
            server.start()
        self.sentinels = [SentinelProcess(self.master.directory, self.master.port) for _ in "abc"]
        self.wait_for(self._ready, 20, "the replica in sync and three Sentinels agreeing")

    def _ready(self) -> bool:
        with contextlib.suppress(redis.RedisError):
            replica = redis.Redis(port=self.replica.port, decode_responses=True)
            linked = replica.info("replication").get("master_link_status") == "up"
            replica.close()
            with self.sentinels[0].client() as sentinel:
                state = sentinel.sentinel_master(SERVICE)
            return bool(linked and state["num-other-sentinels"] == 2 and state["num-slaves"] == 1)
        return False

    def master_port(self) -> int:
        """The master's port as the Sentinels now say (the test's view, not the library's)."""
        with self.sentinels[0].client() as sentinel:
            _host, port = sentinel.sentinel_get_master_addr_by_name(SERVICE)
        return int(port)

    def master_client(self) -> redis.Redis:
        return redis.Redis(port=self.master_port())

    def ledger_client(self) -> redis.Redis:
        return redis.Redis(port=self.ledger.port)

    def wait_promoted(self, old_port: int, timeout: float = 30) -> float:
        """Block until the Sentinels name a new master; the monotonic time they first did."""
        self.wait_for(lambda: self.master_port() != old_port, timeout, "the promotion")
        return time.monotonic()

    @staticmethod
    def wait_for(condition: object, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if callable(condition) and condition():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    def stop(self) -> None:
        for sentinel in self.sentinels:
            sentinel.stop()
        for server in (self.replica, self.master, self.ledger):
            server.close()

    def __enter__(self) -> SentinelRig:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
