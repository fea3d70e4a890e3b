"""The processes a benchmark measures: workers and producers of each runtime.

Every worker runs as its user would run it (``python -m resque_compat work``, a Ruby
``Resque::Worker#work``, a node-resque ``Worker``) in its own session, pinned to the client
CPUs, with its output in a log file that an error message quotes. Workers are stopped the
way an operator stops them (QUIT for Resque, TERM for node-resque) and killed if they hang.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import redis

from resque_compat.keys import Keys

from .env import BENCH_DIR, REPO_ROOT, Placement, Runtimes
from .jobs import QUEUE

PYTHON, RUBY, NODE = "python", "ruby", "node"
STOP_TIMEOUT = 15.0

# Worker settings a shell may carry; a benchmark sets its own and inherits none of these.
_WORKER_ENV = frozenset(
    {
        "QUEUE",
        "QUEUES",
        "INTERVAL",
        "COUNT",
        "FORK_PER_JOB",
        "VERBOSE",
        "VVERBOSE",
        "LOGGING",
        "BACKGROUND",
        "PIDFILE",
        "TERM_CHILD",
        "JOBS_PER_FORK",
        "MINUTES_PER_FORK",
    }
)


class BenchError(RuntimeError):
    """A benchmark could not produce its figure (a process died, a wait timed out...)."""


@dataclass(frozen=True)
class WorkerSpec:
    """Which worker to run: runtime, fork per job or not, how many processes."""

    runtime: str
    fork: bool
    processes: int = 1
    poll_interval: float = 0.1
    """Ruby's INTERVAL / node-resque's timeout: how long an idle worker sleeps between polls.
    (The Python worker blocks on Redis instead of polling; the option does not apply.)"""
    jobs_per_fork: int | None = None
    """Python only: JOBS_PER_FORK (resque-multi-job-forks), jobs run by one forked child."""

    @property
    def label(self) -> str:
        mode = "fork" if self.fork else "no-fork"
        if self.runtime == NODE:
            mode = "in-process"
        if self.jobs_per_fork is not None:
            mode = f"{self.jobs_per_fork} jobs/fork"
        return f"{self.runtime} {mode} x{self.processes}"


class Proc:
    """A child process in its own session, its stdout and stderr in a temporary log."""

    def __init__(self, command: list[str], env: dict[str, str], name: str) -> None:
        self.name = name
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the process
            prefix=f"bench-{name}-", suffix=".log", delete=False
        )
        self.popen = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self, tail: int = 3000) -> str:
        return Path(self.log.name).read_text(errors="replace")[-tail:]

    def stop(self, signum: int) -> None:
        """Ask it to stop; kill its whole process group if it is still there after a while."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)
            try:
                self.popen.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(STOP_TIMEOUT)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def base_env(redis_url: str, runtimes: Runtimes) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _WORKER_ENV}
    python_path = [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
    env.update({"REDIS_URL": redis_url, "PYTHONPATH": os.pathsep.join(python_path)})
    if runtimes.ruby_lib:
        env["RESQUE_RUBY_LIB"] = runtimes.ruby_lib
    return env


def worker_command(spec: WorkerSpec) -> tuple[list[str], dict[str, str]]:
    """The command line and extra environment of one worker process of ``spec``."""
    if spec.runtime == PYTHON:
        command = [sys.executable, "-m", "resque_compat", "work", "--queues", QUEUE]
        command += ["--app", "bench.jobs", "--fork" if spec.fork else "--no-fork"]
        extra = {} if spec.jobs_per_fork is None else {"JOBS_PER_FORK": str(spec.jobs_per_fork)}
        return [*command, "--count", str(spec.processes)], extra
    if spec.runtime == RUBY:
        env = {"QUEUE": QUEUE, "INTERVAL": str(spec.poll_interval)}
        if not spec.fork:
            env["FORK_PER_JOB"] = "false"
        return ["ruby", str(BENCH_DIR / "ruby" / "worker.rb")], env
    if spec.runtime == NODE:
        poll_ms = str(round(spec.poll_interval * 1000))
        return ["node", str(BENCH_DIR / "node" / "worker.js"), poll_ms], {}
    raise ValueError(f"unknown runtime {spec.runtime!r}")


class Workers:
    """The worker processes of one spec, started together and ready before measuring.

    A Python spec is one ``resque-compat work --count N`` process (it forks the N workers);
    Ruby and node specs are N separate processes, as their users run them.
    """

    def __init__(
        self,
        spec: WorkerSpec,
        redis_url: str,
        runtimes: Runtimes,
        placement: Placement,
        cpus: Sequence[int] | None = None,
        settle: float = 0.3,
    ) -> None:
        self.spec = spec
        self.settle = settle
        self.client = redis.Redis.from_url(redis_url)
        command, extra = worker_command(spec)
        env = {**base_env(redis_url, runtimes), **extra}
        copies = 1 if spec.runtime == PYTHON else spec.processes
        self.procs = [Proc(placement.pin(command, cpus), env, spec.runtime) for _ in range(copies)]

    def __enter__(self) -> Workers:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until all workers registered in the ``workers`` set, then a moment to go idle."""
        deadline = time.monotonic() + timeout
        while int(self.client.scard(Keys().workers())) < self.spec.processes:
            self.check_alive()
            if time.monotonic() > deadline:
                raise BenchError(f"{self.spec.label}: not registered after {timeout}s")
            time.sleep(0.02)
        time.sleep(self.settle)

    def check_alive(self) -> None:
        for proc in self.procs:
            if not proc.alive():
                raise BenchError(
                    f"{self.spec.label} exited with {proc.popen.returncode}:\n{proc.output()}"
                )

    def main_pid(self) -> int:
        return self.procs[0].pid

    def stop(self) -> None:
        signum = signal.SIGTERM if self.spec.runtime == NODE else signal.SIGQUIT
        for proc in self.procs:
            proc.stop(signum)
        self.client.close()


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    found: dict[str, int] = {}
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


def run_enqueue_script(
    runtime: str,
    count: int,
    pad_bytes: int,
    redis_url: str,
    runtimes: Runtimes,
    placement: Placement,
) -> float:
    """Run Ruby's or node's one-by-one enqueue script; its rate in jobs/s (boot excluded)."""
    if runtime == RUBY:
        command = ["ruby", str(BENCH_DIR / "ruby" / "enqueue.rb"), str(count), str(pad_bytes)]
    else:
        command = ["node", str(BENCH_DIR / "node" / "enqueue.js"), str(count), str(pad_bytes)]
    done = subprocess.run(
        placement.pin(command),
        cwd=REPO_ROOT,
        env=base_env(redis_url, runtimes),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"{runtime} enqueue failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return float(report["count"]) / float(report["seconds"])
