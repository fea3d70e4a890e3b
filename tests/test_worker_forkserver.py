"""The fork server: after its first job, a forking worker forks no more.

Each job's child still runs exactly one job in a fresh fork, as Ruby's does; only its parent
changes, from the worker to the server (see ``resque_compat/worker/forkserver.py`` for why).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import redis

from resque_compat import Resque
from tests.workerproc import PythonWorker, wait_for


def _parents(raw_redis: redis.Redis) -> list[int]:
    return [json.loads(raw)["ppid"] for raw in raw_redis.lrange("compat:parents", 0, -1)]


def _server_of(worker_pid: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if command.startswith(f"resque-compat: fork server of {worker_pid}".encode()):
                return int(entry.name)
    return None


def test_children_after_the_first_come_from_the_fork_server(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    with Resque.from_url(redis_url) as resque:
        for number in range(5):
            resque.enqueue_to("compat", "RecordParent", number)
    with PythonWorker(redis_url, "compat", "--interval", "0") as worker:
        assert worker.wait() == 0, worker.output()
    parents = _parents(raw_redis)
    assert len(parents) == 5
    assert parents[0] == worker.pid
    server = parents[1]
    assert server != worker.pid and set(parents[1:]) == {server}
    assert raw_redis.get("resque:stat:processed") == b"5"


def test_the_server_is_titled_so_that_no_pruning_takes_it_for_a_worker(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    Resque.from_url(redis_url).enqueue_to("compat", "RecordArgs", "first")
    with PythonWorker(redis_url, "compat") as worker:
        wait_for(lambda: _server_of(worker.pid), what="the fork server")
        server = _server_of(worker.pid)
        assert server is not None
        title = Path(f"/proc/{server}/cmdline").read_bytes().split(b"\0")[0].decode()
        assert title == f"resque-compat: fork server of {worker.pid}"
        worker.signal(signal.SIGQUIT)
        assert worker.wait() == 0, worker.output()
    wait_for(lambda: not Path(f"/proc/{server}").exists(), what="the server to exit")


def test_a_killed_server_leaves_the_worker_forking_itself(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """The job running when the server dies still reports, and the worker forks from then on
    (a standby the server had forked already may still take one job, with init its parent)."""
    with Resque.from_url(redis_url) as resque:
        resque.enqueue_to("compat", "RecordArgs", "first")
        resque.enqueue_to("compat", "Slow", 1, "while the server dies")
    with PythonWorker(redis_url, "compat") as worker:
        wait_for(lambda: raw_redis.llen("compat:performed") == 1, what="the first job")
        wait_for(lambda: _server_of(worker.pid), what="the fork server")
        server = _server_of(worker.pid)
        assert server is not None
        os.kill(server, signal.SIGKILL)
        wait_for(lambda: raw_redis.llen("compat:performed") == 2, what="the slow job")
        with Resque.from_url(redis_url) as resque:
            for number in range(3):
                resque.enqueue_to("compat", "RecordParent", number)
        wait_for(lambda: raw_redis.llen("compat:parents") == 3, what="the later jobs")
        worker.signal(signal.SIGQUIT)
        assert worker.wait() == 0, worker.output()
        assert "the fork server failed" in worker.output()
    parents = _parents(raw_redis)
    assert server not in parents and parents[-2:] == [worker.pid, worker.pid]
    assert raw_redis.llen("resque:failed") == 0
