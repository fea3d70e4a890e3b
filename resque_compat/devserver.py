"""A private, throwaway ``redis-server`` for the demo and the test suite.

The demo must run on a machine that has nothing but what it installs, and the tests must
never touch a Redis someone else uses: both start their own server on a free loopback port,
with persistence off, in a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from .errors import ConfigurationError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServerProcess:
    """A ``redis-server`` child process on 127.0.0.1, stopped and cleaned up on exit."""

    def __init__(
        self,
        port: int | None = None,
        extra_args: Sequence[str] = (),
        executable: str = "redis-server",
    ) -> None:
        found = shutil.which(executable)
        if found is None:
            raise ConfigurationError(
                f"{executable} not found: install it (Debian: apt-get install redis-server)"
            )
        self.executable = found
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.directory = Path(tempfile.mkdtemp(prefix="resque-compat-redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        args = [
            self.executable,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            *self.extra_args,
        ]
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_until_ready(timeout)

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise ConfigurationError(f"redis-server exited with {self._process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise ConfigurationError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (failover tests stop and kill it)."""
        return self._process.pid if self._process is not None else None

    def kill(self) -> None:
        """SIGKILL the server: a crash, with no chance to flush or hand over (failover tests)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> RedisServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
