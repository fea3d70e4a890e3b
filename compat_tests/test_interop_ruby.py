"""Python and real Ruby Resque on one Redis: jobs, dequeue, inspection, workers, pruning.

The core tests take ``ruby_version`` and run against each of :data:`RUBY_VERSIONS` (3.0.0, 2.7.0,
1.27.4: the version matrix, tabled by ``compat_tests/versions.py``); the rest run on 3.0.0.

Every test here runs Ruby Resque itself (``requires_ruby``: skipped, saying why, where it is
not installed; run with ``RESQUE_RUBY_LIB=/path/to/resque/lib``). What Ruby is asked is
what an application, resque-web or a Ruby worker would ask, and the answers are compared
with what Python put in, value for value (and byte for byte where Ruby's own JSON can show
the bytes it received).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import redis

from compat_tests.matrix import difference
from compat_tests.runtimes import (
    PERFORMED_KEY,
    RUBY_RESQUE_VERSION,
    RuntimeProcess,
    read_performed,
    requires_ruby,
    ruby_eval,
    ruby_version_params,
    run_ruby,
    start_ruby,
    wait_for_performed,
)
from resque_compat import Resque, codec
from tests.workerproc import PythonWorker, text, wait_for

pytestmark = requires_ruby

HOST = socket.gethostname()
REFERENCE = Path(__file__).resolve().parent / "reference" / "enqueue_basic.json"
PRUNING_LOCK = "resque:pruning_dead_workers_in_progress"


@pytest.fixture
def stack() -> Iterator[contextlib.ExitStack]:
    """Stops every worker a test started (Ruby and Python), whatever the outcome."""
    with contextlib.ExitStack() as processes:
        yield processes


def _reference() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(REFERENCE.read_text())
    return loaded


def _args_bytes(document: bytes) -> bytes:
    """The ``[...]`` after ``"args":`` in a payload or a ``RecordArgs`` record (its last key)."""
    start = document.index(b'"args":') + len(b'"args":')
    if not document.endswith(b"}"):
        raise ValueError(f"not a JSON object: {document!r}")
    return document[start:-1]


def _raw_list(raw_redis: redis.Redis, key: str) -> list[bytes]:
    items: list[bytes] = raw_redis.lrange(key, 0, -1)  # type: ignore[assignment]
    return items


def _registered(raw_redis: redis.Redis) -> set[str]:
    members: set[bytes] = raw_redis.smembers("resque:workers")  # type: ignore[assignment]
    return {member.decode() for member in members}


def _start_ruby_worker(
    stack: contextlib.ExitStack, redis_url: str, queues: str, version: str | None = None
) -> RuntimeProcess:
    env = {"QUEUES": queues, "INTERVAL": "0.1"}
    proc = start_ruby("worker.rb", redis_url, env=env, version=version)
    return stack.enter_context(proc)


def _wait_registered(raw_redis: redis.Redis, worker_id: str, proc: RuntimeProcess) -> None:
    def registered() -> bool:
        if not proc.alive():
            raise AssertionError(f"worker {worker_id} exited: {proc.output()}")
        return worker_id in _registered(raw_redis)

    wait_for(registered, 30, f"{worker_id} to register")


def _dead_pid() -> int:
    """A pid that belonged to a process a moment ago and now belongs to none."""
    child = subprocess.Popen(["true"])
    child.wait()
    with contextlib.suppress(ProcessLookupError):
        os.kill(child.pid, 0)
        pytest.skip(f"pid {child.pid} was reused at once")
    return child.pid


def _plant_dead_local_worker(raw_redis: redis.Redis, queues: str) -> str:
    """A registered worker on this host whose process is gone: what pruning must remove."""
    worker_id = f"{HOST}:{_dead_pid()}:{queues}"
    raw_redis.sadd("resque:workers", worker_id)
    raw_redis.set(f"resque:worker:{worker_id}:started", "2026-01-01 00:00:00 +0000")
    return worker_id


# --------------------------------------------------------------------------------------------
# Python produces, Ruby consumes and inspects
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ruby_version", ruby_version_params())
def test_ruby_worker_performs_python_enqueued_jobs_with_exact_arguments(
    redis_url: str, raw_redis: redis.Redis, ruby_version: str
) -> None:
    """Every value type Ruby's own Resque.enqueue was recorded with, enqueued from Python.

    Ruby's ``RecordArgs`` writes ``JSON.generate`` of the arguments it received, so its record
    shows, byte for byte, the Ruby values Python's payload decoded into.
    """
    cases = _reference()["raw_examples"]["payloads_in_queue_order"]
    with Resque.from_url(redis_url) as resque:
        for case in cases:
            resque.enqueue_to("compat", "RecordArgs", *codec.decode(case["payload"])["args"])
    stored = _raw_list(raw_redis, "resque:queue:compat")
    for case, payload in zip(cases, stored, strict=True):
        assert _args_bytes(payload) == _args_bytes(case["payload"].encode()), case["case"]

    env = {"QUEUE": "compat", "INTERVAL": "0"}
    run_ruby("worker.rb", redis_url, env=env, timeout=90, version=ruby_version)

    records = _raw_list(raw_redis, PERFORMED_KEY)
    assert len(records) == len(cases)
    for case, payload, record in zip(cases, stored, records, strict=True):
        assert json.loads(record)["runtime"] == "ruby"
        assert _args_bytes(record) == _args_bytes(payload), case["case"]
        given = codec.decode(payload)["args"]
        assert difference(given, codec.decode(record)["args"]) is None, case["case"]


#: (name, Python arguments, the same arguments as a Ruby programmer writes them)
DEQUEUE_CASES: list[tuple[str, list[Any], str]] = [
    ("integers", [0, -42, 2**31, 2**64, -(2**70)], "[0, -42, 2**31, 2**64, -(2**70)]"),
    (
        "floats",
        [1.0, 0.1, 2.5, -0.0, 1.0e20, 100000000000000.0, 1.5e-07, 5.0e-324],
        "[1.0, 0.1, 2.5, -0.0, 1.0e20, 100000000000000.0, 1.5e-07, 5.0e-324]",
    ),
    (
        "unicode",
        ["café", "日本語", "emoji 😀👍🏽", "\u2028", "\u0000nul", "\u007f", "\ufeffbom"],
        r'["café", "日本語", "emoji 😀👍🏽", "\u2028", "\u0000nul", "\u007f", "\ufeffbom"]',
    ),
    (
        "escapes",
        ['"quoted"', "back\\slash", "for/ward", "tab\there", "new\nline", "</script>", "\b\f"],
        r'["\"quoted\"", "back\\slash", "for/ward", "tab\there", "new\nline", "</script>", "\b\f"]',
    ),
    (
        "nested",
        [{"a": 1, "b": {"c": [1, None, True]}}, [], {}, None, False],
        '[{"a" => 1, "b" => {"c" => [1, nil, true]}}, [], {}, nil, false]',
    ),
    ("symbols", ["sym", {"key": "value"}], '[:sym, {key: "value"}]'),
]


def test_ruby_dequeue_removes_python_enqueued_jobs(redis_url: str, raw_redis: redis.Redis) -> None:
    with Resque.from_url(redis_url) as resque:
        for _name, args, _ruby in DEQUEUE_CASES:
            resque.enqueue("RecordArgs", *args)
        resque.enqueue("RecordArgs", "kept")
    code = (
        "{"
        + ", ".join(
            f"{json.dumps(name)} => Resque.dequeue(RecordArgs, *{ruby})"
            for name, _args, ruby in DEQUEUE_CASES
        )
        + "}"
    )

    removed = ruby_eval(code, redis_url)

    assert removed == {name: 1 for name, _args, _ruby in DEQUEUE_CASES}
    assert _raw_list(raw_redis, "resque:queue:compat") == [
        b'{"class":"RecordArgs","args":["kept"]}'
    ]


def test_python_dequeue_removes_ruby_enqueued_jobs(redis_url: str, raw_redis: redis.Redis) -> None:
    code = "\n".join(f"Resque.enqueue(RecordArgs, *{ruby})" for _name, _a, ruby in DEQUEUE_CASES)
    ruby_eval(code + '\nResque.enqueue(RecordArgs, 1.0, "kept")', redis_url)

    with Resque.from_url(redis_url) as resque:
        removed = {name: resque.dequeue("RecordArgs", *args) for name, args, _r in DEQUEUE_CASES}
        # The integer 1 is not Ruby's 1.0: a one-byte difference removes nothing.
        near_miss = resque.dequeue("RecordArgs", 1, "kept")

    assert removed == {name: 1 for name, _args, _ruby in DEQUEUE_CASES}
    assert near_miss == 0
    assert _raw_list(raw_redis, "resque:queue:compat") == [
        b'{"class":"RecordArgs","args":[1.0,"kept"]}'
    ]


_RUBY_INSPECTION = """
Resque.enqueue_to("beta", RecordArgs, "from ruby", 2.5)
{
  "info" => Resque.info.reject { |key, _| key == :servers },
  "queues" => Resque.queues.sort,
  "queue_sizes" => Resque.queue_sizes,
  "sizes" => %w[alpha beta compat missing].to_h { |q| [q, Resque.size(q)] },
  "peek_one" => Resque.peek("alpha"),
  "peek_page" => Resque.peek("alpha", 1, 5),
  "peek_empty" => Resque.peek("missing"),
  "peek_empty_page" => Resque.peek("missing", 0, 5),
  "keys" => Resque.keys.sort,
  "workers" => Resque.workers.map(&:to_s).sort,
  "working" => Resque.working.map(&:to_s).sort,
}
"""


def test_ruby_and_python_inspection_agree(
    redis_url: str, raw_redis: redis.Redis, stack: contextlib.ExitStack
) -> None:
    """``info``, ``size``, ``peek``, ``queues``, ``keys`` read the same from both sides, with a
    live Python worker mid-job, a failure, processed jobs and queues filled by both."""
    resque = stack.enter_context(Resque.from_url(redis_url))
    resque.enqueue("Failing", "first")
    resque.enqueue("Slow", 5, "holds the worker")
    worker = stack.enter_context(PythonWorker(redis_url, "compat", "--interval", "1"))
    worker_id = worker.wait_registered()
    wait_for(lambda: b"Slow" in (raw_redis.get(f"resque:worker:{worker_id}") or b""), 15)
    resque.enqueue_many("alpha", "RecordArgs", [[n, {"n": n}] for n in range(4)])
    resque.enqueue_to("beta", "RecordArgs", "from python", 0.1)

    from_ruby = ruby_eval(_RUBY_INSPECTION, redis_url)
    from_python = {
        "info": {k: v for k, v in resque.info().items() if k != "servers"},
        "queues": sorted(resque.queues()),
        "queue_sizes": resque.queue_sizes(),
        "sizes": {q: resque.size(q) for q in ("alpha", "beta", "compat", "missing")},
        "peek_one": resque.peek("alpha"),
        "peek_page": resque.peek("alpha", 1, 5),
        "peek_empty": resque.peek("missing"),
        "peek_empty_page": resque.peek("missing", 0, 5),
        "keys": sorted(resque.keys()),
        "workers": sorted(resque.workers()),
        "working": sorted(resque.working()),
    }

    assert raw_redis.exists(f"resque:worker:{worker_id}"), "the Slow job ended during the reads"
    assert from_ruby == from_python
    assert from_python["info"] == {
        "pending": 6,
        "processed": 1,
        "queues": 3,
        "workers": 1,
        "working": 1,
        "failed": 1,
        "environment": "development",
    }
    assert from_python["peek_one"] == {"class": "RecordArgs", "args": [0, {"n": 0}]}
    assert from_python["working"] == [worker_id]


# --------------------------------------------------------------------------------------------
# Ruby produces, Python consumes; Ruby and Python workers side by side
# --------------------------------------------------------------------------------------------


def _recorded_enqueue_calls() -> list[str]:
    """Ruby's own ``Resque.enqueue(FileServe, ...)`` calls from the recording, as RecordArgs.

    Only the calls that returned true and need nothing but core Ruby (``Thing`` is a class
    of the recording's script).
    """
    calls = []
    for entry in _reference()["ruby_calls"]:
        call = entry.get("call", "")
        usable = entry.get("returned") == "true" and "Thing" not in call
        if usable and call.startswith("Resque.enqueue(FileServe"):
            calls.append(call.replace("Resque.enqueue(FileServe", "Resque.enqueue(RecordArgs"))
    return calls


@pytest.mark.parametrize("ruby_version", ruby_version_params())
def test_python_worker_performs_ruby_enqueued_jobs_with_exact_arguments(
    redis_url: str, raw_redis: redis.Redis, ruby_version: str
) -> None:
    calls = _recorded_enqueue_calls()
    assert len(calls) >= 15
    ruby_eval("\n".join(calls) + "\ntrue", redis_url, version=ruby_version)
    stored = _raw_list(raw_redis, "resque:queue:compat")
    assert len(stored) == len(calls)

    with PythonWorker(redis_url, "compat", "--interval", "0") as worker:
        assert worker.wait(90) == 0, worker.output()

    records = read_performed(redis_url)
    assert [record["runtime"] for record in records] == ["python"] * len(calls)
    for call, payload, record in zip(calls, stored, records, strict=True):
        sent = codec.decode(payload)["args"]
        assert difference(sent, record["args"]) is None, call
        # What the job received encodes back to the very bytes Ruby wrote.
        assert codec.encode(record["args"]) == _args_bytes(payload), call


_DESCRIBE_WORKER = """
id = ENV.fetch("WORKER_ID")
worker = Resque::Worker.find(id)
job = worker && worker.job
{
  "workers" => Resque.workers.map(&:to_s),
  "working" => Resque.working.map(&:to_s),
  "found" => !worker.nil?,
  "hostname" => worker && worker.hostname,
  "queues" => worker && worker.queues,
  "state" => worker && worker.state,
  "idle" => worker && worker.idle?,
  "job" => job,
  "processing" => worker && worker.processing,
  "run_at" => job && job["run_at"] && Time.parse(job["run_at"]).to_i,
  "started" => worker && worker.started,
  "started_at" => worker && Time.parse(worker.started).to_i,
  "processed" => worker && worker.processed,
  "failed" => worker && worker.failed,
  "heartbeat" => worker && worker.heartbeat && worker.heartbeat.to_i,
  "now" => Resque.redis.time[0],
  "info" => Resque.info.reject { |key, _| key == :servers },
  "failures" => Resque::Failure.all(0, 10),
}
"""

_RUBY_STARTED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}$")
_RUBY_FAILED_AT = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d [A-Z]{3,5}$")


def _describe(redis_url: str, worker_id: str, version: str) -> dict[str, Any]:
    env = {"WORKER_ID": worker_id}
    seen: dict[str, Any] = ruby_eval(_DESCRIBE_WORKER, redis_url, env=env, version=version)
    return seen


def _start_worker(
    kind: str, redis_url: str, stack: contextlib.ExitStack, version: str
) -> tuple[str, int]:
    if kind == "python":
        worker = stack.enter_context(PythonWorker(redis_url, "compat", "--interval", "0.5"))
        return worker.wait_registered(30), worker.pid
    env = {"QUEUE": "compat", "INTERVAL": "0.1"}
    proc = stack.enter_context(start_ruby("worker.rb", redis_url, env=env, version=version))
    client = redis.Redis.from_url(redis_url)
    try:
        _wait_registered(client, f"{HOST}:{proc.pid}:compat", proc)
    finally:
        client.close()
    return f"{HOST}:{proc.pid}:compat", proc.pid


def _assert_common(seen: dict[str, Any], worker_id: str) -> None:
    assert seen["found"]
    assert worker_id in seen["workers"]
    assert (seen["hostname"], seen["queues"]) == (HOST, ["compat"])
    assert _RUBY_STARTED.match(seen["started"]), seen["started"]
    assert abs(seen["now"] - seen["started_at"]) < 120
    assert seen["heartbeat"] is not None and abs(seen["now"] - seen["heartbeat"]) < 120


def _kind_by_version() -> list[Any]:
    """A Python worker under every Ruby version; the Ruby worker itself under the default."""
    python = [
        pytest.param("python", p.values[0], id=f"python-{p.id}", marks=p.marks)
        for p in ruby_version_params()
    ]
    return [*python, pytest.param("ruby", RUBY_RESQUE_VERSION, id="ruby")]


@pytest.mark.parametrize(("kind", "ruby_version"), _kind_by_version())
def test_ruby_describes_the_worker_idle_busy_and_after_a_failure(
    kind: str,
    ruby_version: str,
    redis_url: str,
    raw_redis: redis.Redis,
    stack: contextlib.ExitStack,
) -> None:
    """What resque-web shows (Ruby's Worker API) is the same for a Python and a Ruby worker,
    and the same under each Ruby Resque version."""
    worker_id, _pid = _start_worker(kind, redis_url, stack, ruby_version)

    idle = _describe(redis_url, worker_id, ruby_version)
    _assert_common(idle, worker_id)
    assert (idle["state"], idle["idle"], idle["job"]) == ("idle", True, {})
    assert (idle["processed"], idle["failed"], idle["working"]) == (0, 0, [])

    with Resque.from_url(redis_url) as resque:
        resque.enqueue("Slow", 5, "mid-job")
        wait_for(lambda: raw_redis.exists(f"resque:worker:{worker_id}"), 15, "the job to start")
        busy = _describe(redis_url, worker_id, ruby_version)
        assert raw_redis.exists(f"resque:worker:{worker_id}"), "the job ended during the reads"
        wait_for_performed(redis_url, 1, timeout=20)
        resque.enqueue("Failing", 7)
        wait_for(lambda: raw_redis.llen("resque:failed") == 1, 20, "the failure")
        wait_for(lambda: not raw_redis.exists(f"resque:worker:{worker_id}"), 20, "idle again")
    after = _describe(redis_url, worker_id, ruby_version)

    _assert_common(busy, worker_id)
    assert (busy["state"], busy["idle"], busy["working"]) == ("working", False, [worker_id])
    assert list(busy["job"]) == ["queue", "run_at", "payload"]
    assert busy["job"]["queue"] == "compat"
    assert busy["job"]["payload"] == {"class": "Slow", "args": [5, "mid-job"]}
    assert busy["processing"] == busy["job"]
    assert abs(busy["now"] - busy["run_at"]) < 60
    assert busy["info"]["working"] == 1

    _assert_common(after, worker_id)
    assert (after["state"], after["job"], after["working"]) == ("idle", {}, [])
    assert (after["processed"], after["failed"]) == (2, 1)
    [failure] = after["failures"]
    assert list(failure) == [
        "failed_at", "payload", "exception", "error", "backtrace", "worker", "queue"
    ]  # fmt: skip
    assert _RUBY_FAILED_AT.match(failure["failed_at"]), failure["failed_at"]
    assert failure["payload"] == {"class": "Failing", "args": [7]}
    assert (failure["exception"], failure["error"]) == ("RuntimeError", "boom")
    assert (failure["worker"], failure["queue"]) == (worker_id, "compat")
    assert isinstance(failure["backtrace"], list) and failure["backtrace"]
    assert {k: after["info"][k] for k in ("processed", "failed", "workers")} == {
        "processed": 2,
        "failed": 1,
        "workers": 1,
    }


@pytest.mark.parametrize("ruby_version", ruby_version_params())
def test_ruby_wildcard_worker_leaves_a_live_python_worker_alone(
    redis_url: str, raw_redis: redis.Redis, stack: contextlib.ExitStack, ruby_version: str
) -> None:
    """Ruby's pruning with ``QUEUE=*`` checks every worker on the host against ``ps``: the
    Python worker, busy with a job, must pass as a live Resque process."""
    python = stack.enter_context(PythonWorker(redis_url, "compat", "--interval", "0.5"))
    python_id = python.wait_registered(30)
    with Resque.from_url(redis_url) as resque:
        resque.enqueue("Slow", 5, "python busy")
    wait_for(lambda: raw_redis.exists(f"resque:worker:{python_id}"), 15, "the job to start")
    dead_id = _plant_dead_local_worker(raw_redis, "compat")
    raw_redis.delete(PRUNING_LOCK)  # the Python worker took it at startup

    ruby = _start_ruby_worker(stack, redis_url, "*", ruby_version)
    _wait_registered(raw_redis, f"{HOST}:{ruby.pid}:*", ruby)

    assert dead_id not in _registered(raw_redis), "Ruby's pruning did not run"
    assert python_id in _registered(raw_redis)
    assert raw_redis.exists(f"resque:worker:{python_id}")
    assert ruby.stop(signal.SIGQUIT) == 0
    [slow] = wait_for_performed(redis_url, 1, timeout=20)
    assert (slow["runtime"], slow["args"]) == ("python", [5, "python busy"])
    with Resque.from_url(redis_url) as resque:
        resque.enqueue("RecordArgs", "after ruby left")
    records = wait_for_performed(redis_url, 2, timeout=20)
    assert (records[1]["runtime"], records[1]["args"]) == ("python", ["after ruby left"])
    assert python_id in _registered(raw_redis)
    assert raw_redis.llen("resque:failed") == 0


def _rehost(raw_redis: redis.Redis, worker_id: str, heartbeat_age: int) -> str:
    """Move a dead worker's registry entries to another host, heartbeat ``heartbeat_age`` s old."""
    _host, pid, queues = worker_id.split(":", 2)
    moved = f"deadhost.example:{pid}:{queues}"
    for suffix in ("", ":started"):
        raw_redis.rename(f"resque:worker:{worker_id}{suffix}", f"resque:worker:{moved}{suffix}")
    raw_redis.srem("resque:workers", worker_id)
    raw_redis.sadd("resque:workers", moved)
    seconds, _micro = raw_redis.time()
    beat = datetime.fromtimestamp(seconds - heartbeat_age, timezone.utc)
    raw_redis.hdel("resque:workers:heartbeat", worker_id)
    raw_redis.hset("resque:workers:heartbeat", moved, beat.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    return moved


@pytest.mark.parametrize("ruby_version", ruby_version_params())
@pytest.mark.parametrize("kind", ["python", "ruby"])
def test_ruby_prunes_a_dead_worker_with_an_old_heartbeat_on_another_host(
    kind: str,
    ruby_version: str,
    redis_url: str,
    raw_redis: redis.Redis,
    stack: contextlib.ExitStack,
) -> None:
    """A worker killed mid-job, its heartbeat 6 minutes old: a starting Ruby worker records
    its job as ``Resque::PruneDeadWorkerDirtyExit``, for a Python worker as for a Ruby one."""
    with Resque.from_url(redis_url) as resque:
        resque.enqueue("Slow", 60, "never finishes")
    if kind == "python":
        python = PythonWorker(redis_url, "compat", "--interval", "0.5")
        with python:
            worker_id = python.wait_registered(30)
            wait_for(lambda: raw_redis.exists(f"resque:worker:{worker_id}"), 15, "the job")
        # leaving the block SIGKILLs the worker's whole process group
    else:
        ruby = _start_ruby_worker(stack, redis_url, "compat", ruby_version)
        worker_id = f"{HOST}:{ruby.pid}:compat"
        wait_for(lambda: raw_redis.exists(f"resque:worker:{worker_id}"), 30, "the job")
        ruby.kill_now()
    in_flight = codec.decode(raw_redis.get(f"resque:worker:{worker_id}") or b"")
    dead_id = _rehost(raw_redis, worker_id, heartbeat_age=360)
    raw_redis.delete(PRUNING_LOCK)

    env = {"QUEUE": "other", "INTERVAL": "0"}
    run_ruby("worker.rb", redis_url, env=env, version=ruby_version)

    [failure] = [json.loads(raw) for raw in _raw_list(raw_redis, "resque:failed")]
    # Resque 1.27's PruneDeadWorkerDirtyExit message is the bare worker id; 2.x added the text.
    error = f"Worker {dead_id} did not gracefully exit while processing Slow"
    if ruby_version.startswith("1."):
        error = dead_id
    assert {k: failure[k] for k in ("payload", "exception", "error", "worker", "queue")} == {
        "payload": {"class": "Slow", "args": [60, "never finishes"]},
        "exception": "Resque::PruneDeadWorkerDirtyExit",
        "error": error,
        "worker": dead_id,
        "queue": "compat",
    }
    assert in_flight["payload"] == failure["payload"]
    assert failure["backtrace"] == []
    assert dead_id not in _registered(raw_redis)
    assert not raw_redis.exists(f"resque:worker:{dead_id}", f"resque:worker:{dead_id}:started")
    assert not raw_redis.hexists("resque:workers:heartbeat", dead_id)


def _queues_by_version() -> list[Any]:
    """``compat`` under every Ruby version, ``*`` under the default one."""
    compat = [
        pytest.param("compat", p.values[0], id=f"compat-{p.id}", marks=p.marks)
        for p in ruby_version_params()
    ]
    return [*compat, pytest.param("*", RUBY_RESQUE_VERSION, id="*")]


@pytest.mark.parametrize(("python_queues", "ruby_version"), _queues_by_version())
def test_python_worker_never_prunes_a_live_ruby_worker(
    python_queues: str,
    ruby_version: str,
    redis_url: str,
    raw_redis: redis.Redis,
    stack: contextlib.ExitStack,
) -> None:
    ruby = _start_ruby_worker(stack, redis_url, "compat", ruby_version)
    ruby_id = f"{HOST}:{ruby.pid}:compat"
    _wait_registered(raw_redis, ruby_id, ruby)
    ruby_eval('Resque.enqueue(Slow, 5, "ruby busy")', redis_url, version=ruby_version)
    wait_for(lambda: raw_redis.exists(f"resque:worker:{ruby_id}"), 15, "the Ruby job to start")
    dead_id = _plant_dead_local_worker(raw_redis, "compat")
    raw_redis.delete(PRUNING_LOCK)  # the Ruby worker took it at startup

    python = stack.enter_context(PythonWorker(redis_url, python_queues, "--interval", "0.5"))
    python.wait_registered(30)

    assert dead_id not in _registered(raw_redis), "the Python worker's pruning did not run"
    assert ruby_id in _registered(raw_redis)
    assert raw_redis.exists(f"resque:worker:{ruby_id}")
    python.signal(signal.SIGQUIT)
    assert python.wait(20) == 0, python.output()
    [slow] = wait_for_performed(redis_url, 1, timeout=20)
    assert (slow["runtime"], slow["args"]) == ("ruby", [5, "ruby busy"])
    ruby_eval('Resque.enqueue(RecordArgs, "after python left")', redis_url, version=ruby_version)
    records = wait_for_performed(redis_url, 2, timeout=20)
    assert (records[1]["runtime"], records[1]["args"]) == ("ruby", ["after python left"])
    assert ruby_id in _registered(raw_redis)
    assert raw_redis.llen("resque:failed") == 0


JOB_COUNT = 1000


def test_ruby_and_python_workers_share_1000_jobs(
    redis_url: str, raw_redis: redis.Redis, stack: contextlib.ExitStack
) -> None:
    """Both workers on the same two queues, jobs from both producers: none lost, none twice."""
    ruby = _start_ruby_worker(stack, redis_url, "compat,other")
    python = stack.enter_context(PythonWorker(redis_url, "compat,other", "--interval", "0.5"))
    _wait_registered(raw_redis, f"{HOST}:{ruby.pid}:compat,other", ruby)
    python.wait_registered(30)
    half = JOB_COUNT // 2

    with Resque.from_url(redis_url) as resque:
        for queue, parity in (("compat", 0), ("other", 1)):
            arg_lists = [[n, "python"] for n in range(parity, half, 2)]
            resque.enqueue_many(queue, "RecordArgs", arg_lists)
    ruby_eval(
        f"({half}...{JOB_COUNT}).each {{ |n| "
        'Resque.enqueue_to(n.even? ? "compat" : "other", RecordArgs, n, "ruby") }; true',
        redis_url,
    )
    wait_for_performed(redis_url, JOB_COUNT, timeout=100)
    assert ruby.stop(signal.SIGQUIT) == 0
    python.signal(signal.SIGQUIT)
    assert python.wait(20) == 0, python.output()

    records = read_performed(redis_url)
    ids = [record["args"][0] for record in records]
    assert len(ids) == JOB_COUNT, "a job ran twice" if len(set(ids)) < len(ids) else ids
    assert sorted(ids) == list(range(JOB_COUNT))
    by_runtime = {name: sum(r["runtime"] == name for r in records) for name in ("ruby", "python")}
    assert by_runtime["ruby"] > 0 and by_runtime["python"] > 0, by_runtime
    assert int(text(raw_redis.get("resque:stat:processed"))) == JOB_COUNT
    assert raw_redis.llen("resque:failed") == 0
    assert raw_redis.llen("resque:queue:compat") == raw_redis.llen("resque:queue:other") == 0
