"""The version matrix's own tests: what only shows per Ruby Resque version (3.0.0, 2.7.0, 1.27.4).

The core interop tests are parametrised by ``ruby_version`` where they live
(``test_interop_ruby.py``, ``test_failure_ruby.py``); this module adds what has no 3.0-only
counterpart: each version's resque-web over a Python worker that is idle, has failed a job, and
is busy; a Python worker pruning a dead Ruby worker of each version; and the differences between
versions, each asserted as the version's actual behaviour. ``python -m compat_tests.versions``
runs all of it and writes the table in docs/compatibility.md.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from compat_tests.resque_web import ResqueWeb
from compat_tests.runtimes import (
    RuntimeProcessError,
    ruby_eval,
    ruby_version_params,
    start_ruby,
)
from compat_tests.test_interop_ruby import PRUNING_LOCK, _rehost
from compat_tests.versions import BEGIN, END, Collector, render, write_table
from resque_compat import Resque
from resque_compat.keys import Keys
from tests.workerproc import PythonWorker, wait_for

HOST = socket.gethostname()
KEYS = Keys()
VERSIONS = ruby_version_params()


@pytest.fixture
def stack() -> Iterator[contextlib.ExitStack]:
    """Stops every process a test started (Ruby, Python, resque-web), whatever the outcome."""
    with contextlib.ExitStack() as processes:
        yield processes


# --------------------------------------------------------------------------------------------
# resque-web of each version over a Python worker
# --------------------------------------------------------------------------------------------


def web_pages(worker_id: str) -> list[str]:
    """Overview, workers, one worker, working, failed, one queue and the stats pages."""
    return [
        "/overview",
        "/workers",
        f"/workers/{worker_id}",
        "/working",
        "/failed",
        "/queues/compat",
        "/stats/resque",
        "/stats/redis",
        "/stats/keys",
    ]


def sweep(web: ResqueWeb, worker_id: str) -> dict[str, str]:
    """Each page answers 200 with no error page (``page`` asserts both); their text by path."""
    return {path: web.page(path).words() for path in web_pages(worker_id)}


@pytest.mark.parametrize("ruby_version", VERSIONS)
def test_resque_web_shows_an_idle_a_failed_and_a_busy_python_worker(
    ruby_version: str, redis_url: str, raw_redis: redis.Redis, stack: contextlib.ExitStack
) -> None:
    web = stack.enter_context(ResqueWeb.start(redis_url, version=ruby_version))
    worker = stack.enter_context(PythonWorker(redis_url, "compat", "--interval", "0.2"))
    worker_id = worker.wait_registered(30)
    _host, pid, _queues = worker_id.split(":", 2)

    idle = sweep(web, worker_id)
    assert pid in idle["/workers"], idle["/workers"]
    assert "Waiting for" in idle[f"/workers/{worker_id}"]

    resque = stack.enter_context(Resque.from_url(redis_url))
    resque.enqueue("Failing", 7)
    wait_for(lambda: raw_redis.llen("resque:failed") == 1, 20, "the failure")
    failed = sweep(web, worker_id)
    assert "Failing" in failed["/failed"] and "boom" in failed["/failed"], failed["/failed"]
    assert "RuntimeError" in failed["/failed"]

    resque.enqueue("Slow", 60, "busy")
    wait_for(lambda: raw_redis.exists(KEYS.worker(worker_id)), 20, "the job to start")
    busy = sweep(web, worker_id)
    assert "Slow" in busy["/working"] and pid in busy["/working"], busy["/working"]
    assert "Slow" in busy[f"/workers/{worker_id}"]


# --------------------------------------------------------------------------------------------
# Pruning: a dead Ruby worker of each version, pruned by Python
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ruby_version", VERSIONS)
def test_python_prunes_a_dead_ruby_worker_with_an_old_heartbeat(
    ruby_version: str, redis_url: str, raw_redis: redis.Redis, stack: contextlib.ExitStack
) -> None:
    """A Ruby worker of this version killed mid-job, heartbeat 6 minutes old, on another host:
    a starting Python worker fails its job as ``Resque::PruneDeadWorkerDirtyExit`` (with
    Resque 3.x's message, under every version) and that version's Failure API reads it."""
    ruby_eval('Resque.enqueue(Slow, 60, "never finishes")', redis_url, version=ruby_version)
    env = {"QUEUE": "compat", "INTERVAL": "0.1"}
    ruby = stack.enter_context(start_ruby("worker.rb", redis_url, env=env, version=ruby_version))
    worker_id = f"{HOST}:{ruby.pid}:compat"
    wait_for(lambda: raw_redis.exists(KEYS.worker(worker_id)), 30, "the Ruby job to start")
    ruby.kill_now()
    dead_id = _rehost(raw_redis, worker_id, heartbeat_age=360)
    raw_redis.delete(PRUNING_LOCK)

    with PythonWorker(redis_url, "other", "--interval", "0") as python:
        assert python.wait(30) == 0, python.output()

    [record] = ruby_eval("Resque::Failure.all(0, 10)", redis_url, version=ruby_version)
    assert {k: record[k] for k in ("payload", "exception", "error", "worker", "queue")} == {
        "payload": {"class": "Slow", "args": [60, "never finishes"]},
        "exception": "Resque::PruneDeadWorkerDirtyExit",
        "error": f"Worker {dead_id} did not gracefully exit while processing Slow",
        "worker": dead_id,
        "queue": "compat",
    }
    assert not raw_redis.sismember("resque:workers", dead_id)
    assert not raw_redis.exists(KEYS.worker(dead_id), f"resque:worker:{dead_id}:started")
    assert ruby_eval("Resque.workers.size", redis_url, version=ruby_version) == 0


# --------------------------------------------------------------------------------------------
# Where the versions differ
# --------------------------------------------------------------------------------------------

_CONNECT_BY_URL = """
begin
  Resque.redis = ENV.fetch("PLAIN_URL")
  Resque.redis.ping
rescue NoMethodError => e
  "NoMethodError: #{e.name}"
end
"""


@pytest.mark.parametrize("ruby_version", VERSIONS)
def test_resque_1_needs_the_host_port_db_form_with_redis_rb_4(
    ruby_version: str, redis_url: str
) -> None:
    """Resque 1.27 hands a ``redis://`` URL to ``Redis.connect``, gone from redis-rb 4.8: the
    URL form fails there and ``boot.rb`` passes ``host:port:db`` instead. 2.x and 3.x take it."""
    env = {"PLAIN_URL": redis_url}
    answer = ruby_eval(_CONNECT_BY_URL, redis_url, env=env, version=ruby_version)
    expected = "NoMethodError: connect" if ruby_version.startswith("1.") else "PONG"
    assert answer == expected
    plain = redis_url.removeprefix("redis://").replace("/", ":")
    works = f'Resque.redis = "{plain}"; Resque.redis.ping'
    assert ruby_eval(works, redis_url, version=ruby_version) == "PONG"


@pytest.mark.parametrize("ruby_version", VERSIONS)
def test_resque_1_reports_the_redis_url_in_info_servers(ruby_version: str, redis_url: str) -> None:
    """``Resque.info[:servers]``: 1.27 names the URL, 2.x and 3.x the namespace's ``inspect``."""
    [server] = ruby_eval("Resque.info[:servers]", redis_url, version=ruby_version)
    if ruby_version.startswith("1."):
        assert server == redis_url
    else:
        assert server.startswith("<Redis::Namespace") and redis_url in server


@pytest.mark.parametrize("ruby_version", VERSIONS)
def test_only_resque_3_takes_backoff_keywords_in_worker_work(
    ruby_version: str, redis_url: str
) -> None:
    """``Worker#work(interval, min_interval:, max_interval:, backoff_interval:)`` is 3.x;
    2.x and 1.x take the interval alone (``ruby_fixtures/worker.rb`` calls each its way)."""
    keywords = ruby_eval(
        "Resque::Worker.instance_method(:work).parameters"
        ".select { |kind, _| kind == :key }.map(&:last)",
        redis_url,
        version=ruby_version,
    )
    expected = ["min_interval", "max_interval", "backoff_interval"]
    assert sorted(keywords) == (sorted(expected) if ruby_version.startswith("3.") else [])


def test_an_unknown_version_tree_is_an_error_not_a_silent_default(redis_url: str) -> None:
    """Asking for a version the shared trees lack fails loudly instead of running another."""
    with pytest.raises(RuntimeProcessError):
        ruby_eval("Resque::VERSION", redis_url, version="0.0.0")


@pytest.mark.parametrize("ruby_version", VERSIONS)
def test_each_version_runs_its_own_tree(ruby_version: str, redis_url: str) -> None:
    """The rig really loads the version asked for (a wrong tree would pass everything else)."""
    assert ruby_eval("Resque::VERSION", redis_url, version=ruby_version) == ruby_version


def test_the_version_table_counts_outcomes_and_replaces_only_its_block(tmp_path: Path) -> None:
    """``python -m compat_tests.versions``'s table, from outcomes as pytest reports them."""
    collector = Collector()
    collector.outcomes[
        ("2.7.0", "test_resque_web_shows_an_idle_a_failed_and_a_busy_python_worker")
    ] = ["passed"]
    collector.outcomes[("1.27.4", "test_ruby_requeues_and_removes_python_failures")] = [
        "passed",
        "failed",
    ]
    table = render(collector)
    rows = {line.split(" | ")[0]: line.split(" | ") for line in table.splitlines()[2:]}
    assert rows["| 2.7.0"][5] == "pass (1)"
    assert rows["| 1.27.4"][4] == "**FAIL** (1 of 2)"
    assert rows["| 3.0.0"][1] == "not run"
    doc = tmp_path / "compatibility.md"
    doc.write_text(f"before\n{BEGIN}\nold table\n{END}\nafter\n")
    write_table(table, doc)
    assert doc.read_text() == f"before\n{BEGIN}\n{table}\n{END}\nafter\n"
