"""Python and node-resque (the real npm package) on one Redis. Runs in CI.

Jobs cross both ways with their arguments intact. Where node-resque deviates from Ruby
Resque, the tests assert what node actually does, so the deviation is documented and a
node-resque release that changes it shows up here (docs/compatibility.md lists them all).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from compat_tests.matrix import difference
from compat_tests.runtimes import (
    RuntimeProcess,
    node_enqueue,
    read_performed,
    requires_node,
    requires_ruby,
    run_node,
    run_ruby,
    start_node,
    wait_for_performed,
)
from resque_compat import Resque
from tests.workerproc import PythonWorker, text, wait_for

pytestmark = requires_node

HOST = socket.gethostname()

#: Arguments every runtime carries exactly: no integer above 2**53, no integral float.
MIXED_ARGS: list[Any] = [
    "mixed",
    1,
    -42,
    2**53,
    2.5,
    1.5e-07,
    "café ☕ 日本語 😀 \u2028",
    'quote " back\\slash for/ward </script>',
    None,
    True,
    False,
    [4, "5", [], {}],
    {"z": 1, "a": {"list": [None, 0.25]}},
]

#: A JS Date#toString, which node-resque writes where Ruby writes ISO 8601 or strftime forms.
JS_DATE = re.compile(r"^\w{3} \w{3} \d\d \d{4} \d\d:\d\d:\d\d GMT[+-]\d{4} \(.+\)$")


@pytest.fixture
def stack() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as processes:
        yield processes


def _registered(raw_redis: redis.Redis) -> set[str]:
    members: set[bytes] = raw_redis.smembers("resque:workers")  # type: ignore[assignment]
    return {member.decode() for member in members}


def _start_node_worker(
    stack: contextlib.ExitStack, raw_redis: redis.Redis, redis_url: str
) -> tuple[RuntimeProcess, str]:
    node = stack.enter_context(start_node("worker.js", redis_url, "compat", "--idle-exit", "60"))
    worker_id = f"{HOST}:{node.pid}:compat"
    wait_for(lambda: worker_id in _registered(raw_redis), 20, "the node worker to register")
    return node, worker_id


def test_node_worker_performs_a_python_enqueued_job(redis_url: str) -> None:
    with Resque.from_url(redis_url) as resque:
        resque.enqueue("RecordArgs", *MIXED_ARGS)

    done = run_node("worker.js", redis_url, "compat", "--max-jobs", "1", timeout=60)

    assert json.loads(done.stdout.splitlines()[-1])["succeeded"] == 1
    [record] = read_performed(redis_url)
    assert record["runtime"] == "node"
    assert difference(MIXED_ARGS, record["args"]) is None


def test_python_worker_performs_a_node_enqueued_job(redis_url: str, raw_redis: redis.Redis) -> None:
    node_enqueue(redis_url, "compat", "RecordArgs", MIXED_ARGS)
    [stored] = raw_redis.lrange("resque:queue:compat", 0, -1)
    # node's payload carries the queue too (Ruby writes class and args only).
    assert list(json.loads(stored)) == ["class", "queue", "args"]

    with PythonWorker(redis_url, "compat", "--interval", "0") as worker:
        assert worker.wait(60) == 0, worker.output()

    [record] = read_performed(redis_url)
    assert record["runtime"] == "python"
    assert difference(MIXED_ARGS, record["args"]) is None
    assert raw_redis.get("resque:stat:processed") == b"1"


def test_node_worker_hands_jobs_js_numbers(redis_url: str) -> None:
    """Deviation ``js-numbers``: what a node job receives for Ruby's exact numbers."""
    with Resque.from_url(redis_url) as resque:
        resque.enqueue("RecordArgs", 2**70, 9007199254740993, 3.0, -0.0, 1.0e20, 1.5e-07, 0.1)
    run_node("worker.js", redis_url, "compat", "--max-jobs", "1", timeout=60)

    [record] = read_performed(redis_url)
    node_saw = [1.1805916207174113e21, 9007199254740992, 3, 0, 100000000000000000000, 1.5e-07, 0.1]
    assert difference(node_saw, record["args"]) is None


def test_node_worker_registry_as_python_reads_it(
    redis_url: str, raw_redis: redis.Redis, stack: contextlib.ExitStack
) -> None:
    """Python lists a busy node worker, and its registry shows node's deviations: no
    heartbeat, a cjson-rebuilt job record with a JS date, unix seconds as the start time."""
    node, worker_id = _start_node_worker(stack, raw_redis, redis_url)
    with Resque.from_url(redis_url) as resque:
        resque.enqueue("Slow", 2, "node busy", 2**60, 1.0, "a/b")
        wait_for(lambda: raw_redis.exists(f"resque:worker:{worker_id}"), 20, "the job to start")
        workers, working = resque.workers(), resque.working()

    assert workers == [worker_id]
    [(busy_id, record)] = working.items()
    assert busy_id == worker_id
    assert set(record) == {"run_at", "queue", "worker", "payload"}
    assert JS_DATE.match(record["run_at"]), record["run_at"]
    assert (record["queue"], record["worker"]) == ("compat", f"{HOST}:{node.pid}")
    # cjson keeps 14 significant digits, writes 1.0 as 1 and escapes "/".
    assert record["payload"] == {
        "class": "Slow",
        "args": [2, "node busy", 1.1529215046068e18, 1, "a/b"],
    }
    assert b'"a\\/b"' in (raw_redis.get(f"resque:worker:{worker_id}") or b"")
    started = text(raw_redis.get(f"resque:worker:{worker_id}:started"))
    assert re.fullmatch(r"\d{10}", started), started
    assert not raw_redis.hexists("resque:workers:heartbeat", worker_id)
    assert raw_redis.exists(f"resque:worker:ping:{HOST}:{node.pid}")
    assert raw_redis.get("resque:connection_test_key") == b"ok"
    [done] = wait_for_performed(redis_url, 1, timeout=20)
    assert done["runtime"] == "node"


def _prune_with_python(redis_url: str) -> None:
    with PythonWorker(redis_url, "compat", "--interval", "0") as worker:
        assert worker.wait(60) == 0, worker.output()


def _prune_with_ruby(redis_url: str) -> None:
    run_ruby("worker.rb", redis_url, env={"QUEUE": "compat", "INTERVAL": "0"})


@pytest.mark.parametrize(
    "pruner", ["python", pytest.param("ruby", marks=requires_ruby)], ids=["python", "ruby"]
)
def test_pruning_unregisters_a_running_node_worker_on_the_same_queues(
    pruner: str, redis_url: str, raw_redis: redis.Redis, stack: contextlib.ExitStack
) -> None:
    """Deviation: node's process title is not ``resque-<version>: ...``, so a starting Ruby
    worker, and our worker that follows Ruby's rule, take the live node worker for dead.

    It keeps working, unregistered, invisible to resque-web.
    """
    node, worker_id = _start_node_worker(stack, raw_redis, redis_url)

    {"python": _prune_with_python, "ruby": _prune_with_ruby}[pruner](redis_url)

    assert node.alive()
    assert worker_id not in _registered(raw_redis)
    node_enqueue(redis_url, "compat", "RecordArgs", ["after pruning"])
    [record] = wait_for_performed(redis_url, 1, timeout=20)
    assert (record["runtime"], record["args"]) == ("node", ["after pruning"])
    assert worker_id not in _registered(raw_redis)
