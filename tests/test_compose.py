"""The docker-compose demo: its shape (no Docker engine here), then its programs for real.

This machine cannot run containers, so ``docker-compose.yml`` is checked as data: the
services a user expects, how each is built, that each talks to the ``redis`` service and
waits for it, and that every file the Dockerfiles copy exists. The programs the containers
run (the Ruby Rakefile and resque-web rackup file, the Python jobs and producer) are then run
directly, against the suite's Redis, exactly as the containers start them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import redis
import yaml

from compat_tests.runtimes import (
    RESQUE_WORKER_ENV_VARS,
    RUBY_RESQUE_VERSION,
    RuntimeProcess,
    requires_ruby,
    ruby_resque_lib,
)
from resque_compat.devserver import free_port
from tests.workerproc import REPO_ROOT, PythonWorker, text, wait_for

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
RUBY_DIR = REPO_ROOT / "docker" / "ruby"
PYTHON_DIR = REPO_ROOT / "docker" / "python"
EXPECTED_SERVICES = {"redis", "ruby-worker", "resque-web", "python-worker", "producer", "metrics"}


def services() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(document, dict)
    found: dict[str, dict[str, Any]] = document["services"]
    return found


def build_of(service: dict[str, Any]) -> tuple[Path, Path]:
    """The build context and Dockerfile of a service, as Compose resolves them."""
    build = service["build"]
    if isinstance(build, str):
        build = {"context": build}
    context = (REPO_ROOT / build["context"]).resolve()
    return context, context / build.get("dockerfile", "Dockerfile")


def copy_sources(dockerfile: Path) -> list[str]:
    """The source paths of every COPY instruction (JSON and shell forms, no flags used)."""
    sources: list[str] = []
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY "):
            words = line.split()[1:]
            assert not any(w.startswith("--") for w in words), line
            sources += words[:-1]
    return sources


# --- shape ----------------------------------------------------------------------------------


def test_the_services_a_user_expects() -> None:
    found = services()
    assert set(found) == EXPECTED_SERVICES
    assert found["redis"]["image"].startswith("redis:7")
    assert "redis-cli" in found["redis"]["healthcheck"]["test"]
    for name in EXPECTED_SERVICES - {"redis"}:
        assert "build" in found[name] and "image" not in found[name], name
    assert found["resque-web"]["ports"] == ["5678:5678"]
    assert found["metrics"]["ports"] == ["9457:9457"]
    assert found["ruby-worker"]["environment"]["QUEUE"] == "ruby"
    assert found["ruby-worker"]["command"] == ["bundle", "exec", "rake", "resque:work"]
    assert found["python-worker"]["command"][:4] == ["resque-compat", "work", "--queues", "python"]


def test_every_program_uses_the_redis_service_and_waits_for_it() -> None:
    for name, service in services().items():
        if name == "redis":
            continue
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0", name
        assert service["depends_on"]["redis"] == {"condition": "service_healthy"}, name
        assert service["init"] is True, f"{name}: PID 1 must forward SIGTERM"


def test_every_file_the_images_need_exists() -> None:
    for name, service in services().items():
        if "build" not in service:
            continue
        context, dockerfile = build_of(service)
        assert dockerfile.is_file(), f"{name}: {dockerfile}"
        for source in copy_sources(dockerfile):
            assert (context / source).exists(), f"{name}: COPY {source} (context {context})"
    ignore = (PYTHON_DIR / "Dockerfile.dockerignore").read_text().splitlines()
    for source in copy_sources(PYTHON_DIR / "Dockerfile"):
        kept = source.rstrip("/")
        assert any(line.rstrip("/") == f"!{kept}" for line in ignore), source
    assert (RUBY_DIR / "resque_web.ru").is_file()
    assert (PYTHON_DIR / "producer.py").is_file()
    assert (PYTHON_DIR / "demo_jobs.py").is_file()


def test_the_ruby_image_runs_the_resque_version_python_workers_claim() -> None:
    """Process titles carry the version, and Ruby's pruning looks for its own: keep them equal."""
    gemfile = (RUBY_DIR / "Gemfile").read_text()
    assert f'gem "resque", "{RUBY_RESQUE_VERSION}"' in gemfile
    help_text = subprocess.run(
        [sys.executable, "-m", "resque_compat", "work", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    ).stdout
    assert re.search(
        rf"--resque-version TEXT.*\[default:\s+{re.escape(RUBY_RESQUE_VERSION)}\]", help_text, re.S
    )


# --- the programs, run as the containers run them -----------------------------------------


def ruby_env(redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in RESQUE_WORKER_ENV_VARS}
    lib = ruby_resque_lib()
    if lib:  # a source checkout; the Docker image has the gem instead
        env["RUBYLIB"] = lib
    env.update({"REDIS_URL": redis_url, **extra})
    return env


def http_get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())
    except OSError:
        return None


@requires_ruby
def test_the_demo_runs_both_ways_and_resque_web_shows_both_workers(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    rake = ["rake", "-f", str(RUBY_DIR / "Rakefile"), "resque:work"]
    web_port = free_port()
    rackup = ["rackup", "-o", "127.0.0.1", "-p", str(web_port), str(RUBY_DIR / "resque_web.ru")]
    with (
        RuntimeProcess.launch(
            rake, ruby_env(redis_url, QUEUE="ruby", INTERVAL="0.1"), RUBY_DIR
        ) as ruby,
        RuntimeProcess.launch(rackup, ruby_env(redis_url), RUBY_DIR) as web,
        demo_worker(redis_url) as py,
    ):
        python_id = py.wait_registered()
        assert run_producer(redis_url, 5).splitlines()[-1] == "producer: round 5 enqueued"
        # 5 RubyEcho, 5 PythonEcho from Python, 5 from Ruby, 1 Unreliable.
        wait_for(lambda: raw_redis.get("resque:stat:processed") == b"16", 60, "16 jobs processed")
        wait_for(lambda: http_get(f"http://127.0.0.1:{web_port}/workers"), 30, "resque-web")
        workers_page = http_get(f"http://127.0.0.1:{web_port}/workers")
        members = [text(m) for m in raw_redis.smembers("resque:workers")]
        ruby_ids = [m for m in members if m != python_id]
        ruby_out = ruby.output()[0]
        python_out = py.output()
        web.stop()
    assert workers_page is not None
    assert len(ruby_ids) == 1 and ruby_ids[0].split(":")[1] == str(ruby.pid)
    for worker_id in (python_id, ruby_ids[0]):
        assert worker_id in workers_page, f"resque-web does not list {worker_id}"
    for round_number in range(1, 6):
        assert f"RubyEcho {round_number}: hello from python" in ruby_out
        assert f"PythonEcho {round_number}: hello from python" in python_out
        assert f"PythonEcho {round_number}: hello from ruby" in python_out
    [failure] = [json.loads(raw) for raw in raw_redis.lrange("resque:failed", 0, -1)]
    assert failure["payload"] == {"class": "Unreliable", "args": [5]}
    assert (failure["exception"], failure["worker"]) == ("RuntimeError", python_id)
    assert raw_redis.llen("resque:queue:ruby") == raw_redis.llen("resque:queue:python") == 0


def run_producer(redis_url: str, rounds: int) -> str:
    done = subprocess.run(
        [
            sys.executable,
            str(PYTHON_DIR / "producer.py"),
            "--rounds",
            str(rounds),
            "--interval",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "REDIS_URL": redis_url, "PYTHONPATH": str(REPO_ROOT)},
        check=True,
    )
    return done.stdout


def demo_worker(redis_url: str) -> PythonWorker:
    python_path = os.pathsep.join([str(REPO_ROOT), str(PYTHON_DIR)])
    return PythonWorker(redis_url, "python", "--app", "demo_jobs", env={"PYTHONPATH": python_path})


def test_the_python_side_of_the_demo(redis_url: str, raw_redis: redis.Redis) -> None:
    """Without Ruby: the producer's jobs for Ruby wait in ``ruby`` as Ruby reads them."""
    with demo_worker(redis_url) as py:
        py.wait_registered()
        assert run_producer(redis_url, 5).splitlines()[-1] == "producer: round 5 enqueued"
        wait_for(lambda: raw_redis.get("resque:stat:processed") == b"6", 30, "6 jobs processed")
        output = py.output()
    for round_number in range(1, 6):
        assert f"PythonEcho {round_number}: hello from python" in output
    assert raw_redis.lrange("resque:queue:ruby", 0, 1) == [
        b'{"class":"RubyEcho","args":[1,"hello from python"]}',
        b'{"class":"RubyEcho","args":[2,"hello from python"]}',
    ]
    assert raw_redis.get("resque:stat:failed") == b"1"
