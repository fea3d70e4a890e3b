"""Run ``resque-compat work`` as a user would: a separate process, real signals, real Redis."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

import redis

REPO_ROOT = Path(__file__).resolve().parent.parent


def text(value: bytes | str | None) -> str:
    """A redis-py reply as str (its type hints allow bytes, str or None)."""
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


def wait_for(condition: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")


class PythonWorker:
    """``python -m resque_compat work --app compat_tests.jobs ...`` in its own session."""

    def __init__(
        self, redis_url: str, queues: str, *args: str, env: dict[str, str] | None = None
    ) -> None:
        self.redis_url = redis_url
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the worker
            prefix="pyworker-", suffix=".log", delete=False
        )
        command = [
            sys.executable,
            "-m",
            "resque_compat",
            "work",
            *(["--queues", queues] if queues else []),
            "--app",
            "compat_tests.jobs",
            *args,
        ]
        full_env = {k: v for k, v in os.environ.items() if k not in _WORKER_VARS}
        full_env.update({"REDIS_URL": redis_url, "PYTHONPATH": str(REPO_ROOT)})
        full_env.update(env or {})
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=full_env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_ids(self) -> list[str]:
        client = redis.Redis.from_url(self.redis_url, decode_responses=True)
        try:
            members = [text(m) for m in client.smembers("resque:workers")]
            return [m for m in members if m.split(":")[1] == str(self.pid)]
        finally:
            client.close()

    def wait_registered(self, timeout: float = 15.0) -> str:
        wait_for(self.worker_ids, timeout, "the worker to register")
        return self.worker_ids()[0]

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def wait(self, timeout: float = 20.0) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired as error:
            raise AssertionError(f"worker did not exit; log:\n{self.output()}") from error

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(10)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def __enter__(self) -> PythonWorker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


_WORKER_VARS: Sequence[str] = (
    "QUEUE",
    "QUEUES",
    "INTERVAL",
    "COUNT",
    "PIDFILE",
    "BACKGROUND",
    "VERBOSE",
    "VVERBOSE",
    "LOGGING",
    "FORK_PER_JOB",
    "TERM_CHILD",
    "RESQUE_TERM_TIMEOUT",
    "RESQUE_PRE_SHUTDOWN_TIMEOUT",
    "GRACEFUL_TERM",
    "RESQUE_PROCLINE_PREFIX",
    "REDIS_URL",
    "JOBS_PER_FORK",
    "MINUTES_PER_FORK",
    "RESQUE_MEM_THRESHOLD",
    "DISABLE_MULTI_JOBS_PER_FORK",
)
