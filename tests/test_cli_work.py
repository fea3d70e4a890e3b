"""``resque-compat work`` as an operator uses it: Ruby's environment variables and options."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import click
import pytest
import redis

from resque_compat import Resque
from resque_compat.cli.work import work
from resque_compat.devserver import free_port
from tests.workerproc import REPO_ROOT, PythonWorker, text, wait_for

ENTRY_POINT = "from resque_compat.cli import main\nmain()\n"
"""What the ``resque-compat`` console script runs. A script's own folder, not the current
one, heads ``sys.path``, so ``--app`` finds a module in the current folder only if the
command puts it there (``python -m`` would hide the difference)."""


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


def run_console_script(
    tmp_path: Path, redis_url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``resque-compat ARGS`` as installed, run from ``tmp_path/project``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "resque-compat"
    script.write_text(ENTRY_POINT)
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    variables = {k: v for k, v in os.environ.items() if k not in {"QUEUE", "QUEUES", "RESQUE_APP"}}
    variables.update({"REDIS_URL": redis_url, "PYTHONPATH": str(REPO_ROOT), **(env or {})})
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=project,
        env=variables,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_app_is_imported_from_the_current_folder_as_the_readme_says(
    redis_url: str, raw_redis: redis.Redis, tmp_path: Path
) -> None:
    """``QUEUE=file_serve resque-compat work --app myapp.jobs`` next to ``myapp/jobs.py``."""
    package = tmp_path / "project" / "myapp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "jobs.py").write_text(
        "from resque_compat import job\n"
        "import redis, os\n"
        "@job('Archive', queue='file_serve')\n"
        "def archive(path: str, options: dict) -> None:\n"
        "    redis.Redis.from_url(os.environ['REDIS_URL']).rpush('archived', path)\n"
    )
    Resque.from_url(redis_url).enqueue_to("file_serve", "Archive", "files/report.pdf", {"size": 1})
    done = run_console_script(
        tmp_path,
        redis_url,
        "work",
        "--app",
        "myapp.jobs",
        env={"QUEUE": "file_serve", "INTERVAL": "0"},
    )
    assert done.returncode == 0, done.stderr
    assert raw_redis.lrange("archived", 0, -1) == [b"files/report.pdf"]


def test_worker_says_who_it_is_when_it_starts_without_verbose(
    redis_url: str, tmp_path: Path
) -> None:
    secret_url = redis_url.replace("redis://", "redis://:hunter2@")
    client = redis.Redis.from_url(redis_url)
    client.config_set("requirepass", "hunter2")
    try:
        done = run_console_script(
            tmp_path, secret_url, "work", "-q", "file_serve,reports", "--interval", "0", "--no-fork"
        )
    finally:
        redis.Redis.from_url(secret_url).config_set("requirepass", "")
        client.close()
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    display_url = secret_url.replace("hunter2", "***")
    assert line.startswith("resque-compat worker ")
    assert line.endswith(
        f":file_serve,reports started: queues file_serve,reports, no fork, "
        f"Redis {display_url} (namespace resque)"
    )
    assert "hunter2" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("args", "url", "phrase"),
    [
        (["--app", "nosuch.jobs"], None, "Error: cannot import --app nosuch.jobs: No module named"),
        ([], "refused", "Connection refused"),
        ([], "redis://:abc/0", "Error: bad port in Redis URL 'redis://:abc/0'"),
        ([], "http://localhost:6379/0", "Error: unsupported Redis URL scheme"),
        ([], "redis://localhost:6379/x", "Error: bad database 'x'"),
    ],
)
def test_user_mistakes_end_in_one_line_and_a_non_zero_exit(
    redis_url: str, tmp_path: Path, args: list[str], url: str | None, phrase: str
) -> None:
    if url == "refused":
        url = f"redis://127.0.0.1:{free_port()}/0"
    done = run_console_script(tmp_path, url or redis_url, "work", "-q", "compat", *args)
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert phrase in line


def test_every_work_option_says_what_it_does() -> None:
    undocumented = [
        param.name for param in work.params if isinstance(param, click.Option) and not param.help
    ]
    assert undocumented == []
