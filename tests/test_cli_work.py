"""``resque-compat work`` as an operator uses it: Ruby's environment variables and options."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import redis

from resque_compat import Resque
from tests.workerproc import PythonWorker, text, wait_for


def performed(raw_redis: redis.Redis) -> list[list[object]]:
    return [json.loads(item)["args"] for item in raw_redis.lrange("compat:performed", 0, -1)]


def test_ruby_environment_variables(redis_url: str, raw_redis: redis.Redis) -> None:
    """QUEUE, INTERVAL=0, FORK_PER_JOB=false, VERBOSE and RESQUE_PROCLINE_PREFIX, Ruby-style."""
    Resque.from_url(redis_url).enqueue_to("compat", "RecordArgs", "env")
    env = {
        "QUEUE": "compat",
        "INTERVAL": "0",
        "FORK_PER_JOB": "false",
        "VERBOSE": "1",
        "RESQUE_PROCLINE_PREFIX": "myapp ",
    }
    with PythonWorker(redis_url, "", env=env) as worker:
        assert worker.wait() == 0, worker.output()
        output = worker.output()
    [entry] = raw_redis.lrange("compat:performed", 0, -1)
    assert json.loads(entry)["pid"] == worker.pid  # no fork: performed in the worker itself
    assert "*** got: (Job{compat} | RecordArgs)" in output


def test_count_supervises_several_workers(redis_url: str, raw_redis: redis.Redis) -> None:
    with PythonWorker(redis_url, "compat", "--count", "2") as supervisor:
        wait_for(lambda: len(raw_redis.smembers("resque:workers")) == 2, what="two workers")
        ids = {text(m) for m in raw_redis.smembers("resque:workers")}
        assert len({worker_id.split(":")[1] for worker_id in ids}) == 2
        resque = Resque.from_url(redis_url)
        resque.enqueue_many("compat", "RecordArgs", [[i] for i in range(20)])
        wait_for(lambda: len(performed(raw_redis)) == 20, what="all jobs")
        supervisor.signal(signal.SIGQUIT)
        assert supervisor.wait() == 0, supervisor.output()
    assert raw_redis.smembers("resque:workers") == set()
    assert sorted(args[0] for args in performed(raw_redis)) == list(range(20))  # type: ignore[type-var]


def test_pidfile(redis_url: str, tmp_path: Path) -> None:
    pidfile = tmp_path / "worker.pid"
    with PythonWorker(redis_url, "compat", "--pidfile", str(pidfile)) as worker:
        worker.wait_registered()
        assert pidfile.read_text() == str(worker.pid)
        worker.signal(signal.SIGTERM)
        assert worker.wait() == 0


def test_no_queue_is_refused(redis_url: str) -> None:
    with PythonWorker(redis_url, "") as worker:
        assert worker.wait() != 0
        assert "QUEUES" in worker.output() or "queue" in worker.output().lower()


def hooks_run(raw_redis: redis.Redis) -> list[tuple[str, int]]:
    entries = [text(e).split() for e in raw_redis.lrange("compat:hooks", 0, -1)]
    return [(name, int(pid)) for name, pid in entries]


def test_worker_hooks_run_where_and_when_ruby_runs_them(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    Resque.from_url(redis_url).enqueue_to("compat", "RecordArgs", "hooked")
    with PythonWorker(redis_url, "compat", "--app", "compat_tests.hooks_app") as worker:
        wait_for(lambda: performed(raw_redis), what="the job")
        wait_for(lambda: ("queue_empty", worker.pid) in hooks_run(raw_redis), what="queue_empty")
        worker.signal(signal.SIGUSR2)
        wait_for(lambda: ("before_pause", worker.pid) in hooks_run(raw_redis), what="pause")
        worker.signal(signal.SIGCONT)
        wait_for(lambda: ("after_pause", worker.pid) in hooks_run(raw_redis), what="resume")
        worker.signal(signal.SIGQUIT)
        assert worker.wait() == 0, worker.output()
    names = [name for name, _ in hooks_run(raw_redis)]
    assert names[:3] == ["before_first_fork", "before_fork", "after_fork"]
    assert names[-2:] == ["shutdown", "worker_exit"]
    after_fork_pid = dict(hooks_run(raw_redis))["after_fork"]
    assert after_fork_pid != worker.pid  # in the forked child, like Ruby
    assert json.loads(raw_redis.lindex("compat:performed", 0) or b"")["pid"] == after_fork_pid
