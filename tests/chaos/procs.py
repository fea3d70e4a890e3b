"""Worker processes the chaos tests start, kill piecewise (parent or job child) and reap.

A worker runs in its own session, so that at the end its whole group (a job child whose
parent was killed included) can be killed while the leader is still unreaped and its
group id cannot belong to anyone else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compat_tests.runtimes import RESQUE_WORKER_ENV_VARS, RuntimeProcess

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def python_worker_command(queues: str, *args: str) -> list[str]:
    """``resque-compat work`` as a user runs it, with the chaos jobs loaded."""
    return [
        sys.executable,
        "-m",
        "resque_compat",
        "work",
        "--queues",
        queues,
        "--app",
        "tests.chaos.jobs",
        *args,
    ]


def worker_env(redis_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Our environment without a developer's Resque variables, pointed at ``redis_url``."""
    env = {k: v for k, v in os.environ.items() if k not in RESQUE_WORKER_ENV_VARS}
    env.update({"REDIS_URL": redis_url, "PYTHONPATH": str(REPO_ROOT)})
    env.update(extra or {})
    return env


def children_of(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (a forking worker's job child), read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may itself hold spaces or parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (``VmRSS`` of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError(f"no VmRSS for pid {pid}")


def cmdline(pid: int) -> str:
    """What ``ps`` shows for ``pid``: its process title, arguments joined by spaces."""
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()


class WorkerProcess:
    """A Python or Ruby worker process in its own session, its output in ``log_path``."""

    def __init__(self, popen: subprocess.Popen[Any], log_path: Path | None = None) -> None:
        self.popen = popen
        self.log_path = log_path

    @classmethod
    def python(
        cls,
        queues: str,
        args: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
    ) -> WorkerProcess:
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                python_worker_command(queues, *args),
                cwd=REPO_ROOT,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(popen, log_path)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        """Still running (a zombie counts as dead); never reaps, so the pid stays ours."""
        if self.popen.returncode is not None:
            return False
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return False
        return info is None

    def children(self) -> list[int]:
        """Its children and theirs: a forking worker's job children are its fork server's."""
        if not self.alive():
            return []
        found = children_of(self.pid)
        return found + [pid for child in found for pid in children_of(child)]

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def output(self) -> str:
        if isinstance(self.popen, RuntimeProcess):
            out, err = self.popen.output()
            return out + err
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout)

    def finish(self) -> int:
        """SIGKILL the whole group (orphaned job children too), then reap the leader."""
        if isinstance(self.popen, RuntimeProcess):
            return self.popen.stop(signal.SIGKILL, timeout=0)
        if self.popen.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        return self.popen.wait(10)


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:])
