"""The README's first command works: the demo runs end to end on a private redis-server."""

from __future__ import annotations

import subprocess
import sys

import redis

from tests.workerproc import REPO_ROOT

PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"


def run_demo(redis_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "resque_compat", "demo"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={"PATH": PATH, "PYTHONPATH": str(REPO_ROOT), "REDIS_URL": redis_url},
    )


def test_demo_enqueues_and_works_off_sample_jobs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "resque_compat", "demo"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "PYTHONPATH": str(REPO_ROOT)},
    )
    assert "Started a private redis-server" in result.stdout
    assert "Archive files/report.pdf {'size': 42}" in result.stdout
    assert "Done. processed=5 failed=1 pending=0" in result.stdout
    assert "Failed list: Flaky RuntimeError: shows how a failure is recorded" in result.stdout


def test_demo_on_a_shared_redis_names_its_namespace_and_deletes_its_keys(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    raw_redis.set("resque:stat:processed", 7)  # a real fleet's keys: never touched
    result = run_demo(redis_url)
    first = result.stdout.splitlines()[0]
    assert first == (
        f"Using Redis at {redis_url}, namespace 'resque-compat-demo' "
        "(its keys are deleted at the end)."
    )
    assert "Done. processed=5 failed=1 pending=0" in result.stdout
    assert result.stdout.endswith(
        "Deleted the demo's keys: namespace 'resque-compat-demo' is empty again.\n"
    )
    assert raw_redis.keys() == [b"resque:stat:processed"]


def test_demo_leaves_a_namespace_that_was_in_use_alone(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    raw_redis.set("resque-compat-demo:mine", "x")
    result = run_demo(redis_url)
    assert "already holds 1 key(s): the demo adds to them and deletes nothing" in result.stdout
    assert raw_redis.exists("resque-compat-demo:stat:processed")
    assert raw_redis.get("resque-compat-demo:mine") == b"x"
