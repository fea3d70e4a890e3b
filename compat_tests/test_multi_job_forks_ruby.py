"""Ruby's view of a Python worker whose child runs many jobs (JOBS_PER_FORK).

What ``Resque::Worker#job``, ``working``, ``processing``, the per-worker counters and Ruby's
pruning see must be what they see of a fork-per-job worker: the job the child is running,
recorded under the worker's id, and a live worker that is never pruned.
"""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path
from typing import Any

import redis

from compat_tests.runtimes import requires_ruby, ruby_eval
from resque_compat import Resque
from tests.workerproc import PythonWorker, wait_for

pytestmark = requires_ruby

VIEW = """
w = Resque::Worker.find(%s)
{ "job" => w.job, "working" => w.working?, "state" => w.state.to_s,
  "working_ids" => Resque::Worker.working.map(&:to_s), "queue" => w.processing["queue"],
  "processed" => w.processed, "failed" => w.failed, "beating" => !w.heartbeat.nil? }
"""


def _title(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()


def _running_slow(raw_redis: redis.Redis, worker_id: str) -> bool:
    record = raw_redis.get(f"resque:worker:{worker_id}")
    return isinstance(record, bytes) and b'"Slow"' in record


def test_ruby_sees_the_childs_job_as_the_workers(redis_url: str, raw_redis: redis.Redis) -> None:
    with Resque.from_url(redis_url) as resque:
        resque.enqueue_to("compat", "RecordArgs", 0)
        resque.enqueue_to("compat", "Slow", 3, "slow")
    with PythonWorker(redis_url, "compat", env={"JOBS_PER_FORK": "10"}) as worker:
        worker_id = worker.wait_registered()
        wait_for(lambda: _running_slow(raw_redis, worker_id), what="Slow running")
        view: dict[str, Any] = ruby_eval(VIEW % json.dumps(worker_id), redis_url)
        found = re.search(r"Forked (\d+) at \d+$", _title(worker.pid))
        assert found, _title(worker.pid)
        child_title = _title(int(found.group(1)))
        raw_redis.delete("resque:pruning_dead_workers_in_progress")
        after_prune = ruby_eval(
            'Resque::Worker.new("compat").prune_dead_workers; Resque::Worker.all.map(&:to_s)',
            redis_url,
        )
        wait_for(lambda: raw_redis.llen("compat:performed") == 2, what="Slow done")
        worker.signal(signal.SIGQUIT)
        assert worker.wait() == 0, worker.output()
    assert view["job"]["payload"] == {"class": "Slow", "args": [3, "slow"]}
    assert view["job"]["queue"] == "compat"
    assert {k: view[k] for k in ("working", "state", "working_ids", "queue")} == {
        "working": True,
        "state": "working",
        "working_ids": [worker_id],
        "queue": "compat",
    }
    assert (view["processed"], view["failed"], view["beating"]) == (1, 0, True)
    assert re.fullmatch(r"resque-3\.0\.0: Processing compat since \d+ \[Slow\]", child_title)
    assert after_prune == [worker_id]
    assert ruby_eval("[Resque.info[:processed], Resque::Worker.all.size]", redis_url) == [2, 0]
