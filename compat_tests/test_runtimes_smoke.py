"""The cross-runtime rig works: real Ruby Resque and node-resque run jobs on the test Redis.

These tests check the rig, not ``resque_compat``: if they fail, every interop test built on
``compat_tests.runtimes`` would fail for reasons unrelated to the Python implementation.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from compat_tests import runtimes
from compat_tests.runtimes import (
    RUBY_RESQUE_VERSION,
    ProcessReaper,
    RuntimeProcess,
    RuntimeProcessError,
    node_enqueue,
    node_info,
    read_performed,
    requires_node,
    requires_ruby,
    ruby_eval,
    ruby_resque_lib,
    ruby_skip_reason,
    run_node,
    run_ruby,
    start_node,
    start_ruby,
    wait_for_performed,
)

HOST = socket.gethostname()


@pytest.fixture
def reaper() -> Iterator[ProcessReaper]:
    """Stops every process a test started, whatever the test's outcome."""
    processes = ProcessReaper()
    yield processes
    processes.stop_all()


def wait_until(condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def queue_payloads(raw_redis: redis.Redis, queue: str) -> list[object]:
    items: list[bytes] = raw_redis.lrange(f"resque:queue:{queue}", 0, -1)  # type: ignore[assignment]
    return [json.loads(item) for item in items]


def process_title(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()


def registered_workers(raw_redis: redis.Redis) -> set[str]:
    members: set[bytes] = raw_redis.smembers("resque:workers")  # type: ignore[assignment]
    return {member.decode() for member in members}


# --------------------------------------------------------------------------------------------
# Ruby
# --------------------------------------------------------------------------------------------


def test_ruby_skip_reason_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a usable RESQUE_RUBY_LIB (and no gem) the skip reason says what to set."""
    monkeypatch.setenv("RESQUE_RUBY_LIB", "/nonexistent/resque/lib")
    monkeypatch.setattr(runtimes, "SHARED_RESQUE_LIB", Path("/nonexistent/shared/resque/lib"))
    if ruby_resque_lib() == "":
        pytest.skip("the resque gem is installed, so Ruby Resque is found without the variable")
    reason = ruby_skip_reason()
    assert reason is not None
    assert "RESQUE_RUBY_LIB" in reason


@requires_ruby
def test_ruby_enqueue_and_ruby_worker(redis_url: str, raw_redis: redis.Redis) -> None:
    assert ruby_eval('Resque.enqueue(RecordArgs, 1, "x", {"k" => [nil, 2.5]})', redis_url) is True
    assert queue_payloads(raw_redis, "compat") == [
        {"class": "RecordArgs", "args": [1, "x", {"k": [None, 2.5]}]}
    ]

    # INTERVAL=0: Resque's worker exits as soon as its queues are empty.
    run_ruby("worker.rb", redis_url, env={"QUEUE": "compat", "INTERVAL": "0"}, timeout=60)

    [record] = read_performed(redis_url)
    assert record["runtime"] == "ruby"
    assert record["args"] == [1, "x", {"k": [None, 2.5]}]
    info = ruby_eval("Resque.info", redis_url)
    assert (info["pending"], info["processed"], info["failed"], info["workers"]) == (0, 1, 0, 0)


@requires_ruby
def test_ruby_failing_job_is_recorded_as_failure(redis_url: str) -> None:
    ruby_eval("Resque.enqueue(Failing, 7)", redis_url)
    run_ruby(
        "worker.rb", redis_url, env={"QUEUES": "compat", "INTERVAL": "0", "FORK_PER_JOB": "false"}
    )
    [failure] = ruby_eval("Resque::Failure.all(0, 10)", redis_url)
    assert failure["exception"] == "RuntimeError"
    assert failure["error"] == "boom"
    assert failure["payload"] == {"class": "Failing", "args": [7]}
    assert failure["queue"] == "compat"


@requires_ruby
def test_ruby_worker_runs_with_real_process_title(
    redis_url: str, raw_redis: redis.Redis, reaper: ProcessReaper
) -> None:
    worker = reaper.add(
        start_ruby("worker.rb", redis_url, env={"QUEUE": "compat", "INTERVAL": "0.1"})
    )
    worker_id = f"{HOST}:{worker.pid}:compat"
    wait_until(lambda: worker_id in registered_workers(raw_redis), what="worker registration")
    # Resque's own procline: what its dead-worker pruning greps `ps` for.
    title = f"resque-{RUBY_RESQUE_VERSION}: Waiting for compat"
    wait_until(lambda: process_title(worker.pid) == title, what=f"process title {title!r}")
    assert worker_id in ruby_eval("Resque.workers.map(&:to_s)", redis_url)

    ruby_eval("Resque.enqueue(RecordArgs, 2)", redis_url)
    [record] = wait_for_performed(redis_url, 1)
    assert record["args"] == [2]
    assert record["pid"] != worker.pid  # FORK_PER_JOB defaults to true: a child performed it

    assert worker.stop(signal.SIGQUIT) == 0
    assert worker_id not in registered_workers(raw_redis)


@requires_ruby
def test_ruby_eval_reads_stdin_and_keeps_stdout_clean(redis_url: str) -> None:
    """Output printed by the evaluated code must not corrupt the JSON result."""
    assert ruby_eval('puts "noise"; [Resque.size("compat"), :sym, nil]', redis_url) == [
        0,
        "sym",
        None,
    ]
    assert ruby_eval("MultiJson.adapter.to_s", redis_url) == "MultiJson::Adapters::JsonGem"


@requires_ruby
def test_ruby_oj_adapter_is_pinned_when_asked(redis_url: str) -> None:
    try:
        adapter = ruby_eval("MultiJson.adapter.to_s", redis_url, json_adapter="oj")
    except RuntimeProcessError as error:
        if error.returncode == 3:
            pytest.skip("the oj gem is not installed")
        raise
    assert adapter == "MultiJson::Adapters::Oj"


@requires_ruby
def test_ruby_error_shows_output(redis_url: str) -> None:
    with pytest.raises(RuntimeProcessError) as raised:
        ruby_eval('raise ArgumentError, "no such thing"', redis_url)
    assert "no such thing" in str(raised.value)
    assert "ArgumentError" in str(raised.value)


# --------------------------------------------------------------------------------------------
# node
# --------------------------------------------------------------------------------------------


def _node_summary(output: str) -> dict[str, object]:
    summary: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    return summary


@requires_node
def test_node_enqueue_and_node_worker(redis_url: str, raw_redis: redis.Redis) -> None:
    node_enqueue(redis_url, "compat", "RecordArgs", [1, "x", {"k": [None, 2.5]}])
    # node-resque adds the queue name to the payload (Ruby Resque writes class and args only).
    assert queue_payloads(raw_redis, "compat") == [
        {"class": "RecordArgs", "queue": "compat", "args": [1, "x", {"k": [None, 2.5]}]}
    ]
    assert raw_redis.smembers("resque:queues") == {b"compat"}

    done = run_node("worker.js", redis_url, "compat", "--max-jobs", "1", timeout=60)

    summary = _node_summary(done.stdout)
    assert summary["succeeded"] == 1
    assert summary["stopped_by"] == "max-jobs"
    [record] = read_performed(redis_url)
    assert record["runtime"] == "node"
    assert record["args"] == [1, "x", {"k": [None, 2.5]}]
    assert registered_workers(raw_redis) == set()  # it unregistered itself


@requires_node
def test_node_failing_job_and_info(redis_url: str) -> None:
    node_enqueue(redis_url, "compat", "Failing", [7])
    run_node("worker.js", redis_url, "compat", "--max-jobs", "1")
    info = node_info(redis_url)
    assert info["failedCount"] == 1
    [failure] = info["failed"]
    assert (failure["exception"], failure["error"], failure["queue"]) == ("Error", "boom", "compat")
    # node-resque counts a failure only in stat:failed (Ruby Resque too); its per-worker
    # counters are deleted when the worker stops.
    assert info["stats"] == {"failed": "1"}


@requires_node
def test_node_worker_idles_out_and_stops_on_sigterm(
    redis_url: str, raw_redis: redis.Redis, reaper: ProcessReaper
) -> None:
    started = time.monotonic()
    done = run_node("worker.js", redis_url, "compat", "--idle-exit", "0.5", timeout=30)
    assert _node_summary(done.stdout)["stopped_by"] == "idle-exit"
    assert time.monotonic() - started < 20

    worker: RuntimeProcess = reaper.add(
        start_node("worker.js", redis_url, "compat,other", "--idle-exit", "60")
    )
    worker_id = f"{HOST}:{worker.pid}:compat,other"
    wait_until(lambda: worker_id in registered_workers(raw_redis), what="node worker registration")
    assert worker.stop(signal.SIGTERM) == 0
    assert _node_summary(worker.output()[0])["stopped_by"] == "SIGTERM"
    assert worker_id not in registered_workers(raw_redis)


# --------------------------------------------------------------------------------------------
# Across runtimes
# --------------------------------------------------------------------------------------------


@requires_ruby
@requires_node
def test_node_enqueues_ruby_performs(redis_url: str) -> None:
    node_enqueue(redis_url, "compat", "RecordArgs", ["from node", 3])
    run_ruby("worker.rb", redis_url, env={"QUEUE": "compat", "INTERVAL": "0"})
    [record] = read_performed(redis_url)
    assert (record["runtime"], record["args"]) == ("ruby", ["from node", 3])


@requires_ruby
@requires_node
def test_ruby_enqueues_node_performs(redis_url: str) -> None:
    ruby_eval('Resque.enqueue(RecordArgs, "from ruby", 4)', redis_url)
    run_node("worker.js", redis_url, "compat", "--max-jobs", "1")
    [record] = read_performed(redis_url)
    assert (record["runtime"], record["args"]) == ("node", ["from ruby", 4])
