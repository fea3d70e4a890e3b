"""Where a benchmark run happens: the machine, the CPU placement, the private redis-server.

Absolute figures swing with CPU placement (a Redis round trip on loopback costs about 20 µs
when client and server run on different CPUs and more than twice that when they share one),
so the placement is chosen once per run, applied to every process, and reported with the
figures. By default redis-server is pinned to the first CPU (Redis's own ``server_cpulist``)
and every client (this process, the workers, Ruby, node) to the others.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import redis

from resque_compat.devserver import RedisServerProcess
from resque_compat.keys import Keys

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
NODE_MODULES = REPO_ROOT / "compat_tests" / "node" / "node_modules"
#: Ruby Resque 3.0.0 in the shared source trees beside the checkout (CI and project machines).
SHARED_RESQUE_LIB = REPO_ROOT.parent / "shared" / "ruby" / "resque-3.0.0" / "lib"
PLACEMENTS = ("split", "shared", "none")


@dataclass(frozen=True)
class Placement:
    """Which CPUs redis-server and the clients may use (None: wherever the OS puts them)."""

    mode: str
    server_cpus: tuple[int, ...] | None
    client_cpus: tuple[int, ...] | None
    all_cpus: tuple[int, ...]

    @classmethod
    def choose(cls, mode: str) -> Placement:
        """``split``: server on the first CPU, clients on the rest; ``shared``: all on the
        first CPU; ``none``: no pinning. ``split`` needs two CPUs and falls back to none."""
        available = tuple(sorted(os.sched_getaffinity(0)))
        if mode == "none" or shutil.which("taskset") is None:
            return cls("none", None, None, available)
        if mode == "shared":
            return cls("shared", available[:1], available[:1], available)
        if len(available) < 2:
            return cls("none", None, None, available)
        return cls("split", available[:1], available[1:], available)

    @property
    def shares_cpu(self) -> bool | None:
        """Whether client and server run on one CPU (None: not pinned, the OS decides)."""
        if self.server_cpus is None or self.client_cpus is None:
            return None
        return bool(set(self.server_cpus) & set(self.client_cpus))

    def server_args(self) -> list[str]:
        """redis-server options pinning its threads (Redis >= 6: ``server_cpulist``)."""
        if self.server_cpus is None:
            return []
        cpus = cpu_list(self.server_cpus)
        return ["--server_cpulist", cpus, "--bio_cpulist", cpus]

    def pin(self, command: Sequence[str], cpus: Sequence[int] | None = None) -> list[str]:
        """``command`` run under ``taskset`` on ``cpus`` (default: the client CPUs)."""
        chosen = self.client_cpus if cpus is None else tuple(cpus)
        if chosen is None or self.mode == "none":
            return list(command)
        return ["taskset", "-c", cpu_list(chosen), *command]

    def pin_self(self) -> None:
        """Move this process (and so every child it starts) onto the client CPUs."""
        if self.client_cpus is not None:
            os.sched_setaffinity(0, self.client_cpus)

    def describe(self) -> str:
        if self.server_cpus is None or self.client_cpus is None:
            return f"not pinned (the OS schedules everything on CPUs {cpu_list(self.all_cpus)})"
        sharing = "share a CPU" if self.shares_cpu else "run on different CPUs"
        return (
            f"{self.mode}: redis-server on CPU {cpu_list(self.server_cpus)}, clients on CPU "
            f"{cpu_list(self.client_cpus)} (client and server {sharing}); "
            f"multi-process worker runs may use CPUs {cpu_list(self.all_cpus)}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "server_cpus": self.server_cpus,
            "client_cpus": self.client_cpus,
            "all_cpus": self.all_cpus,
            "client_and_server_share_a_cpu": self.shares_cpu,
            "description": self.describe(),
        }


def cpu_list(cpus: Sequence[int]) -> str:
    return ",".join(str(cpu) for cpu in cpus)


class BenchServer:
    """A private redis-server for one run, pinned as the placement says."""

    def __init__(self, placement: Placement) -> None:
        self.process = RedisServerProcess(extra_args=placement.server_args())
        self.keys = Keys()

    def __enter__(self) -> BenchServer:
        self.process.start()
        self.client = redis.Redis(port=self.process.port)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.client.close()
        self.process.close()

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def port(self) -> int:
        return self.process.port

    def flush(self) -> None:
        self.client.flushall()

    def pid(self) -> int:
        return int(self.client.info("server")["process_id"])

    def cpus(self) -> list[int]:
        """The CPUs redis-server's main thread may actually run on (checked, not assumed)."""
        return sorted(os.sched_getaffinity(self.pid()))

    def version(self) -> str:
        return str(self.client.info("server")["redis_version"])


@dataclass(frozen=True)
class Runtimes:
    """Which baselines can run here: Ruby Resque (from RESQUE_RUBY_LIB), node-resque."""

    ruby_lib: str | None
    node: bool
    reasons: dict[str, str] = field(default_factory=dict)

    @classmethod
    def detect(cls, want_ruby: bool = True, want_node: bool = True) -> Runtimes:
        reasons: dict[str, str] = {}
        ruby_lib = _ruby_lib(reasons) if want_ruby else None
        if not want_ruby:
            reasons["ruby"] = "left out (--no-ruby)"
        node = want_node and _node_available(reasons)
        if not want_node:
            reasons["node"] = "left out (--no-node)"
        return cls(ruby_lib, node, reasons)

    @property
    def ruby(self) -> bool:
        return self.ruby_lib is not None


def _ruby_lib(reasons: dict[str, str]) -> str | None:
    """Resque's lib/ from RESQUE_RUBY_LIB, else the shared source tree beside the checkout,
    ``""`` for an installed resque gem, else None."""
    if shutil.which("ruby") is None:
        reasons["ruby"] = "ruby is not on PATH"
        return None
    lib = os.environ.get("RESQUE_RUBY_LIB", "")
    if lib and (Path(lib) / "resque.rb").is_file():
        return str(Path(lib).resolve())
    if not lib and (SHARED_RESQUE_LIB / "resque.rb").is_file():
        return str(SHARED_RESQUE_LIB.resolve())
    if not lib and _resque_gem_installed():
        return ""
    reasons["ruby"] = (
        "Ruby Resque not found: set RESQUE_RUBY_LIB to Resque's lib/ directory "
        "or install the resque gem"
    )
    return None


def _resque_gem_installed() -> bool:
    probe = ["ruby", "-e", 'require "resque"']
    try:
        return subprocess.run(probe, capture_output=True, timeout=60, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _node_available(reasons: dict[str, str]) -> bool:
    if shutil.which("node") is None:
        reasons["node"] = "node is not on PATH"
        return False
    if not (NODE_MODULES / "node-resque").is_dir():
        reasons["node"] = "node-resque is not installed (npm ci --prefix compat_tests/node)"
        return False
    return True


def machine_info(server: BenchServer, runtimes: Runtimes) -> dict[str, Any]:
    """What produced the figures: hardware, versions of everything measured."""
    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "loadavg_at_start": list(os.getloadavg()),
        "python": sys.version.split()[0],
        "redis_py": metadata.version("redis"),
        "hiredis": _package_version("hiredis"),
        "redis_server": server.version(),
        "ruby": _command_version(["ruby", "-e", "print RUBY_VERSION"]) if runtimes.ruby else None,
        "ruby_resque": _ruby_resque_version(runtimes.ruby_lib),
        "node": _command_version(["node", "--version"]) if runtimes.node else None,
        "node_resque": _node_package_version("node-resque") if runtimes.node else None,
    }


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else "unknown"


def _memory_gib() -> float | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    found = re.search(r"^MemTotal:\s+(\d+) kB", text, re.MULTILINE)
    return round(int(found.group(1)) / 1024 / 1024, 1) if found else None


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _command_version(command: list[str]) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def _ruby_resque_version(lib: str | None) -> str | None:
    if lib is None:
        return None
    if not lib:
        return _command_version(["ruby", "-e", 'require "resque"; print Resque::VERSION'])
    version_file = Path(lib) / "resque" / "version.rb"
    found = re.search(r"VERSION\s*=\s*['\"]([^'\"]+)", _read(version_file))
    return found.group(1) if found else None


def _node_package_version(name: str) -> str | None:
    found = re.search(r'"version":\s*"([^"]+)"', _read(NODE_MODULES / name / "package.json"))
    return found.group(1) if found else None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
