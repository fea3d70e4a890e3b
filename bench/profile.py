"""``python -m bench.profile``: where a Python worker's time goes, sampled with py-spy.

    pip install py-spy                       # bench-only; not a dependency of resque-compat
    python -m bench.profile                  # no-fork worker, 20,000 no-op jobs
    python -m bench.profile --fork --idle    # forking parent, waiting time included

The worker is started and left to go idle first, py-spy attaches to it, then the jobs are
pushed and py-spy stops once they are all processed: start-up is not in the profile. It
prints the functions with the most samples on top of the stack (self) and anywhere in it
(total), and the CPU time the worker and redis-server used meanwhile, which says which of
the two bounds the run. ``--keep DIR`` keeps py-spy's raw collapsed stacks and a flame graph.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .env import BenchServer, Placement, Runtimes
from .measure import noop_payload, push_atomically, wait_processed
from .procs import PYTHON, BenchError, Workers, WorkerSpec

_FRAME_LINE = re.compile(r":\d+\)$")
_FRAME_FILE = re.compile(r"\((?P<path>[^:)]+)")
WAITING = ("_HiredisParser.read_from_socket", "select (", "Child.wait (")
"""Leaf frames that are a process waiting (for Redis's reply, for a child), not computing."""


@dataclass
class Profile:
    """Samples per function, on top of the stack (self) and anywhere in it (total)."""

    own: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    packages: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    waiting: int = 0

    @property
    def computing(self) -> int:
        return self.samples - self.waiting


def parse_collapsed(text: str) -> Profile:
    """py-spy's raw (collapsed) output: waiting samples counted apart, the rest by function
    and by the package of the function on top (``redis``, ``resque_compat``, ``json``...)."""
    profile = Profile()
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = [_FRAME_LINE.sub(")", frame) for frame in stack.split(";")[1:]]
        if not frames or not count_text.isdigit():
            continue
        count = int(count_text)
        profile.samples += count
        if frames[-1].startswith(WAITING):
            profile.waiting += count
            continue
        profile.own[frames[-1]] += count
        profile.packages[_package(frames[-1])] += count
        for frame in set(frames):
            profile.total[frame] += count
    return profile


def _package(frame: str) -> str:
    found = _FRAME_FILE.search(frame)
    path = found.group("path") if found else frame
    return path.split("/")[0] if "/" in path else path.removesuffix(".py")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its waited-for children) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def record(args: argparse.Namespace, raw_path: Path) -> tuple[float, float, float]:
    """Run the jobs under py-spy; returns (seconds, worker CPU s, redis-server CPU s)."""
    placement = Placement.choose(args.placement)
    placement.pin_self()
    spec = WorkerSpec(PYTHON, fork=args.fork)
    with BenchServer(placement) as server:
        server.flush()
        with Workers(spec, server.url, Runtimes(None, False), placement) as workers:
            workers.wait_ready()
            spy = _start_py_spy(workers.main_pid(), raw_path, args)
            time.sleep(1.0)
            worker_cpu, redis_cpu = cpu_seconds(workers.main_pid()), cpu_seconds(server.pid())
            started = time.monotonic()
            push_atomically(server.client, [noop_payload(i) for i in range(args.jobs)])
            wait_processed(server.client, args.jobs, 60 + args.jobs / 20)
            elapsed = time.monotonic() - started
            worker_cpu = cpu_seconds(workers.main_pid()) - worker_cpu
            redis_cpu = cpu_seconds(server.pid()) - redis_cpu
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
    return elapsed, worker_cpu, redis_cpu


def _start_py_spy(pid: int, raw_path: Path, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    command = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "-o", str(raw_path)]
    command += ["--rate", str(args.rate), "--nonblocking"]
    if args.idle:
        command.append("--idle")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def report(raw_path: Path, top: int, figures: tuple[float, float, float], jobs: int) -> None:
    elapsed, worker_cpu, redis_cpu = figures
    profile = parse_collapsed(raw_path.read_text())
    print(f"{jobs} jobs in {elapsed:.2f} s: {jobs / elapsed:,.0f} jobs/s")
    print(
        f"CPU used meanwhile: worker (with its job children) {worker_cpu:.2f} s "
        f"({100 * worker_cpu / elapsed:.0f}%), "
        f"redis-server {redis_cpu:.2f} s ({100 * redis_cpu / elapsed:.0f}%)"
    )
    wall, worker, server = (1e6 * elapsed / jobs, 1e6 * worker_cpu / jobs, 1e6 * redis_cpu / jobs)
    print(f"per job: {wall:.0f} µs; worker CPU {worker:.0f} µs, redis-server CPU {server:.0f} µs")
    share = 100 * profile.waiting / max(1, profile.samples)
    print(f"\n{profile.samples} samples, {share:.0f}% waiting (for Redis or a child)")
    computing = max(1, profile.computing)
    print("\nthe rest by package (self):")
    for package, count in profile.packages.most_common(8):
        print(f"  {100 * count / computing:5.1f}%  {package}")
    print(f"\nthe rest, top {top} by self (on top of the stack):")
    for frame, count in profile.own.most_common(top):
        print(f"  {100 * count / computing:5.1f}%  {frame}")
    print(f"\nthe rest, top {top} by total (anywhere in the stack; the common root left out):")
    below_root = [(f, n) for f, n in profile.total.most_common() if n < profile.computing]
    for frame, count in below_root[:top]:
        print(f"  {100 * count / computing:5.1f}%  {frame}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--fork", action="store_true", help="profile the forking parent")
    parser.add_argument("--idle", action="store_true", help="include time spent waiting")
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--placement", choices=("split", "shared", "none"), default="split")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the raw stacks here")
    args = parser.parse_args(argv)
    if shutil.which("py-spy") is None:
        print("py-spy not found: pip install py-spy", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as scratch:
        raw_path = Path(scratch) / "profile.txt"
        try:
            figures = record(args, raw_path)
        except BenchError as error:
            print(f"profile failed: {error}", file=sys.stderr)
            return 1
        report(raw_path, args.top, figures, args.jobs)
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            mode = "fork" if args.fork else "nofork"
            shutil.copy(raw_path, args.keep / f"profile-{mode}.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
