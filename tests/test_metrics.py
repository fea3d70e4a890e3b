"""``resque-compat metrics`` run as an operator runs it: a server scraped over HTTP.

The exposition text is read back with prometheus_client's own parser, so what is checked
is what Prometheus would store.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from compat_tests.runtimes import requires_ruby, start_ruby
from compat_tests.scheduler_rig import (
    lock_holder,
    scheduler_eval,
    start_ruby_scheduler,
    wait_until,
)
from resque_compat import Resque
from resque_compat.devserver import RedisServerProcess, free_port
from tests.workerproc import REPO_ROOT, PythonWorker, text, wait_for

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


UNSET = {
    "REDIS_URL",
    "RESQUE_NAMESPACE",
    "METRICS_PORT",
    "METRICS_ADDRESS",
    "RESQUE_SCHEDULER_MASTER_LOCK_PREFIX",
}
"""Variables a developer's shell may carry that would change what the command reads."""


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def metrics_command(redis_url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "resque_compat", "--redis", redis_url, "metrics", *args]


def run_once(redis_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        metrics_command(redis_url, "--once"),
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO_ROOT,
        env=cli_env(),
        check=False,
    )


def samples(exposition: str) -> Samples:
    """Every sample by (name, sorted labels)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def scrape(url: str) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers["Content-Type"], response.read().decode()


class MetricsServer:
    """``resque-compat metrics --port P`` in its own process, stopped with SIGTERM."""

    def __init__(self, redis_url: str, port: int) -> None:
        self.port = port
        self.process = subprocess.Popen(
            metrics_command(redis_url, "--port", str(port), "--address", "127.0.0.1"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
            env=cli_env(),
        )
        assert self.process.stdout is not None
        self.banner = self.process.stdout.readline()
        self.stderr = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def stop(self) -> int:
        """SIGTERM, then the exit status; what it wrote to stderr is kept in ``stderr``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            _, self.stderr = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, self.stderr = self.process.communicate()
        return self.process.returncode


@pytest.fixture
def metrics_server(redis_url: str) -> Iterator[MetricsServer]:
    server = MetricsServer(redis_url, free_port())
    yield server
    server.stop()


def wait_until_running_slow(raw_redis: redis.Redis, worker_id: str) -> None:
    def busy() -> bool:
        record = raw_redis.get(f"resque:worker:{worker_id}")
        return record is not None and json.loads(record)["payload"]["class"] == "Slow"

    wait_for(busy, 20, f"{worker_id} to run Slow")


# --- a Python worker, scraped over HTTP -----------------------------------------------------


def test_http_scrape_reads_redis_at_scrape_time(
    redis_url: str, raw_redis: redis.Redis, metrics_server: MetricsServer
) -> None:
    client = Resque.from_url(redis_url)
    client.enqueue_to("compat", "Failing", 1)
    client.enqueue_to("compat", "Slow", 20)
    client.enqueue_many("mail", "Noop", [[i] for i in range(4)])
    assert metrics_server.banner == (
        f"resque-compat metrics: serving {metrics_server.url} for {redis_url} "
        "(namespace 'resque')\n"
    )
    with PythonWorker(redis_url, "compat") as worker:
        worker_id = worker.wait_registered()
        wait_until_running_slow(raw_redis, worker_id)
        content_type, text = scrape(metrics_server.url)
        assert content_type.startswith("text/plain")
        first = samples(text)
        assert first[("resque_up", ())] == 1
        assert first[("resque_queue_size", (("queue", "compat"),))] == 0
        assert first[("resque_queue_size", (("queue", "mail"),))] == 4
        assert first[("resque_pending_jobs", ())] == 4
        assert first[("resque_jobs_processed_total", ())] == 1
        assert first[("resque_jobs_failed_total", ())] == 1
        assert first[("resque_workers", ())] == 1
        assert first[("resque_workers_working", ())] == 1
        assert first[("resque_workers_stale", ())] == 0
        assert 0 <= first[("resque_longest_running_job_seconds", ())] < 20
        assert first[("resque_failed_list_length", (("list", "failed"),))] == 1
        assert first[("resque_paused", ())] == 0

        # The next scrape sees what changed meanwhile: nothing is cached.
        client.enqueue_many("mail", "Noop", [[i] for i in range(3)])
        raw_redis.set("resque:pause-all-workers", "true")
        second = samples(scrape(metrics_server.url)[1])
        assert second[("resque_queue_size", (("queue", "mail"),))] == 7
        assert second[("resque_paused", ())] == 1
    assert metrics_server.stop() == 0, metrics_server.stderr


def test_scrapes_report_redis_down_as_resque_up_zero() -> None:
    """The exporter keeps serving when Redis is unreachable; the scrape says so, and the log
    says when that starts and when it ends, once each (not once per scrape)."""
    port = free_port()
    server = MetricsServer(f"redis://127.0.0.1:{port}/0", free_port())
    try:
        assert samples(scrape(server.url)[1]) == {("resque_up", ()): 0}
        assert samples(scrape(server.url)[1]) == {("resque_up", ()): 0}
        with RedisServerProcess(port=port):
            assert samples(scrape(server.url)[1])[("resque_up", ())] == 1
    finally:
        assert server.stop() == 0
    assert server.stderr.count("WARNING: Redis unavailable (") == 1, server.stderr
    assert f"at redis://127.0.0.1:{port}/0; resque_up is 0 until it answers" in server.stderr
    assert server.stderr.count("Redis is back after") == 1, server.stderr


# --- --once ---------------------------------------------------------------------------------


def test_once_counts_stale_workers_and_multi_queue_failure_lists(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """Ruby-shaped keys only: a stale Ruby worker, a busy one, RedisMultiQueue lists."""
    now = time.time()
    stale, busy = "old-host:1:*", "vm:24354:file_serve"
    raw_redis.sadd("resque:workers", stale, busy)
    raw_redis.hset(
        "resque:workers:heartbeat",
        mapping={
            stale: time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - 301)),
            busy: time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - 5)),
        },
    )
    run_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 90))
    raw_redis.set(
        f"resque:worker:{busy}",
        json.dumps(
            {"queue": "file_serve", "run_at": run_at, "payload": {"class": "X", "args": []}}
        ),
    )
    raw_redis.sadd("resque:failed_queues", "file_serve_failed")
    raw_redis.rpush("resque:file_serve_failed", "{}", "{}")
    raw_redis.set("resque:stat:processed", 2**40)
    done = run_once(redis_url)
    assert done.returncode == 0, done.stderr
    found = samples(done.stdout)
    assert found[("resque_workers", ())] == 2
    assert found[("resque_workers_working", ())] == 1
    assert found[("resque_workers_stale", ())] == 1
    assert 90 <= found[("resque_longest_running_job_seconds", ())] < 100
    assert found[("resque_failed_list_length", (("list", "failed"),))] == 0
    assert found[("resque_failed_list_length", (("list", "file_serve_failed"),))] == 2
    assert found[("resque_jobs_processed_total", ())] == 2**40
    assert found[("resque_jobs_failed_total", ())] == 0
    assert not any(name == "resque_queue_size" for name, _ in found)


@requires_ruby
def test_once_with_real_ruby_and_python_workers(redis_url: str, raw_redis: redis.Redis) -> None:
    client = Resque.from_url(redis_url)
    client.enqueue_to("ruby_only", "Slow", 20)
    client.enqueue_to("compat", "Slow", 20)
    client.enqueue_to("compat", "Noop")
    env = {"QUEUE": "ruby_only", "INTERVAL": "0.1"}
    with start_ruby("worker", redis_url, env=env) as ruby, PythonWorker(redis_url, "compat") as py:
        python_id = py.wait_registered()
        wait_for(lambda: len(raw_redis.smembers("resque:workers")) == 2, 30, "both workers")
        members = [text(m) for m in raw_redis.smembers("resque:workers")]
        [ruby_id] = [m for m in members if m != python_id]
        assert ruby_id.split(":")[1] == str(ruby.pid)
        wait_until_running_slow(raw_redis, ruby_id)
        wait_until_running_slow(raw_redis, python_id)
        done = run_once(redis_url)
    assert done.returncode == 0, done.stderr
    found = samples(done.stdout)
    assert found[("resque_workers", ())] == 2
    assert found[("resque_workers_working", ())] == 2
    assert found[("resque_workers_stale", ())] == 0
    assert found[("resque_queue_size", (("queue", "compat"),))] == 1
    assert found[("resque_queue_size", (("queue", "ruby_only"),))] == 0


def test_once_on_an_idle_fleet_reports_no_running_job(redis_url: str) -> None:
    """No worker busy (the usual state of an empty Redis): the longest runtime is 0; nothing
    delayed and no scheduler: no next due time, no lock holder, nothing overdue."""
    done = run_once(redis_url)
    assert done.returncode == 0, done.stderr
    found = samples(done.stdout)
    assert found[("resque_up", ())] == 1
    assert found[("resque_workers_working", ())] == 0
    assert found[("resque_longest_running_job_seconds", ())] == 0
    assert found[("resque_delayed_jobs", ())] == 0
    assert found[("resque_delayed_timestamps", ())] == 0
    assert found[("resque_delayed_overdue_seconds", ())] == 0
    assert found[("resque_scheduler_master_held", ())] == 0
    absent = {
        "resque_delayed_next_due_timestamp_seconds",
        "resque_scheduler_master_info",
        "resque_scheduler_master_lock_ttl_seconds",
    }
    assert not absent & {name for name, _ in found}


# --- delayed jobs and the scheduler -------------------------------------------------------


@requires_ruby
def test_once_reports_delayed_jobs_and_a_ruby_master(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """Jobs delayed by Ruby and by Python, while a real resque-scheduler 5.0 is master."""
    at = int(time.time()) + 3600
    scheduler_eval(
        f"Resque.enqueue_at(Time.at({at}), RecordArgs, 1)\n"
        f"Resque.enqueue_at(Time.at({at + 60}), RecordArgs, 2)\ntrue",
        redis_url,
    )
    with Resque.from_url(redis_url) as client:
        client.enqueue_at_with_queue("compat", at, "RecordArgs", 3)
    with start_ruby_scheduler(redis_url) as ruby:
        holder = wait_until(lambda: lock_holder(raw_redis), 30, "Ruby's scheduler to be master")
        done = run_once(redis_url)
    assert done.returncode == 0, done.stderr
    assert holder.endswith(f":{ruby.pid}")
    found = samples(done.stdout)
    assert found[("resque_delayed_jobs", ())] == 3
    assert found[("resque_delayed_timestamps", ())] == 2
    assert found[("resque_delayed_next_due_timestamp_seconds", ())] == at
    assert found[("resque_delayed_overdue_seconds", ())] == 0
    assert found[("resque_scheduler_master_held", ())] == 1
    assert found[("resque_scheduler_master_info", (("holder", holder),))] == 1
    assert 170 <= found[("resque_scheduler_master_lock_ttl_seconds", ())] <= 180


def test_once_reports_how_overdue_jobs_are_when_no_scheduler_moves_them(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """What a dead scheduler leaves: a job 90 s past due (Ruby's bytes), and a lock that is
    still held until it expires (prefixed: the master found with ``--scheduler-lock-prefix``)."""
    due = int(time.time()) - 90
    payload = b'{"class":"Archive","args":["a.pdf"],"queue":"files"}'
    raw_redis.rpush(f"resque:delayed:{due}", payload)
    raw_redis.sadd(b"resque:timestamps:" + payload, f"delayed:{due}")
    raw_redis.zadd("resque:delayed_queue_schedule", {str(due): due})
    raw_redis.set("resque:resque:blue:resque_scheduler_master_lock", "gone-box:31", ex=60)
    done = run_once(redis_url)
    assert done.returncode == 0, done.stderr
    found = samples(done.stdout)
    assert found[("resque_delayed_next_due_timestamp_seconds", ())] == due
    assert 90 <= found[("resque_delayed_overdue_seconds", ())] < 100
    assert found[("resque_scheduler_master_held", ())] == 0

    done = subprocess.run(
        metrics_command(redis_url, "--once"),
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO_ROOT,
        env={**cli_env(), "RESQUE_SCHEDULER_MASTER_LOCK_PREFIX": "blue"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = samples(done.stdout)
    assert found[("resque_scheduler_master_held", ())] == 1
    assert found[("resque_scheduler_master_info", (("holder", "gone-box:31"),))] == 1
    assert 50 <= found[("resque_scheduler_master_lock_ttl_seconds", ())] <= 60


def test_once_exits_1_when_redis_is_unreachable() -> None:
    done = run_once(f"redis://127.0.0.1:{free_port()}/0")
    assert done.returncode == 1
    assert samples(done.stdout) == {("resque_up", ()): 0}
    assert "Error: cannot read Redis at redis://127.0.0.1:" in done.stderr


# --- errors an operator can make ------------------------------------------------------------


def test_missing_prometheus_client_is_a_clear_error(redis_url: str) -> None:
    """As on an install without the ``metrics`` extra: importing prometheus_client fails."""
    hide_and_run = (
        "import sys; sys.modules['prometheus_client'] = None; "
        "from resque_compat.cli import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", hide_and_run, "--redis", redis_url, "metrics", "--once"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO_ROOT,
        env=cli_env(),
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == (
        "Error: resque-compat metrics needs the prometheus_client library: "
        "pip install 'resque-compat[metrics]'\n"
    )


def test_a_port_in_use_is_a_clear_error(redis_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            metrics_command(redis_url, "--port", str(port), "--address", "127.0.0.1"),
            capture_output=True,
            text=True,
            timeout=30,
            cwd=REPO_ROOT,
            env=cli_env(),
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}: ")
