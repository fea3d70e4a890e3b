"""The Python worker against the worker-side Ruby recordings.

Where the commands are the contract (registry, working on a job, done, failure, unregister,
prune), the test compares every write our worker makes to a Resque key, in order, with the
writes Ruby Resque 3.0 made, after the recordings' normalisation; and the keyspace Ruby left.

Where ours deliberately differs, the test says so and asserts the stronger behaviour:
- Reads are not compared: our reserve is one Lua script (it reads ``worker:<id>`` and
  ``pause-all-workers`` inside Redis), finishing a job and reserving the next is one script,
  and an idle worker blocks (BLMOVE) instead of polling. MONITOR shows the commands a script
  runs, so the writes inside it are compared like any other.
- The first heartbeat is written before the pruning lock is taken, not after: heartbeat
  writes are compared as a count, apart from the rest.
- A forked child never connects to Redis (no ``ping``); the parent writes its failure.
- Exception names and messages are Python's (``ZeroDivisionError: division by zero``), except
  Resque's own (``Resque::DirtyExit``...); they are compared through a table below.
- A payload that cannot run, and a dead worker whose record is not JSON, make Ruby's worker
  crash (losing the job) or abort its start; ours records them and goes on.
- ``worker_idle_heartbeat`` is timing-dependent in Ruby too: its titles, the repeated
  heartbeats and the final unregister are compared, not the number of poll cycles.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import redis

from compat_tests import reference as ref
from compat_tests.reference import CommandCapture, Recording
from resque_compat import Resque
from tests.workerproc import PythonWorker, text, wait_for

WRITES = {"sadd", "srem", "set", "del", "hset", "hdel", "rpush", "lpop", "incrby", "lset", "lrem"}
HEARTBEAT = "workers:heartbeat"


def resque_writes(commands: Iterable[ref.Command], prefix: str = "resque:") -> list[ref.Command]:
    """Writes to Resque keys, with failure records reduced to their contract fields."""
    kept = []
    for command in commands:
        name, key = str(command[0]), str(command[1]) if len(command) > 1 else ""
        if name not in WRITES or not key.startswith(prefix):
            continue
        if name == "hset" and key.endswith(HEARTBEAT):
            continue
        if name == "rpush" and key.endswith("failed"):
            command = [name, key, _contract_of_failure(command[2])]
        kept.append(command)
    return kept


def heartbeat_writes(commands: Iterable[ref.Command]) -> int:
    return sum(1 for c in commands if c[0] == "hset" and str(c[1]).endswith(HEARTBEAT))


def _contract_of_failure(value: ref.Value) -> str:
    record = json.loads(str(value))
    exception = record.get("exception", "")
    if not str(exception).startswith("Resque::"):
        record["exception"] = record["error"] = "<JOB ERROR>"
        record["backtrace"] = ["<BACKTRACE>"]  # Python's frames, not Ruby's
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def failures(raw_redis: redis.Redis) -> list[dict[str, Any]]:
    return [json.loads(item) for item in raw_redis.lrange("resque:failed", 0, -1)]


def run_worker(redis_url: str, queues: str, *args: str) -> int:
    with PythonWorker(redis_url, queues, "--interval", "0", *args) as worker:
        assert worker.wait() == 0, worker.output()
        return worker.pid


def compare_writes(
    recording: Recording,
    captured: list[ref.Command],
    pids: set[int],
    start: int = 0,
    end: int | None = None,
) -> None:
    normalizer = recording.normalizer(host=socket.gethostname(), pids=pids)
    actual = normalizer.commands(captured)
    expected = recording.commands[start:end]
    ref.assert_commands_equal(resque_writes(actual), resque_writes(expected))
    assert heartbeat_writes(actual) >= 1 and heartbeat_writes(expected) >= 1


@pytest.mark.parametrize(
    ("scenario", "mode"), [("worker_success", []), ("worker_success_nofork", ["--no-fork"])]
)
def test_worker_success(scenario: str, mode: list[str], redis_url: str) -> None:
    recording = ref.load(scenario)
    Resque.from_url(redis_url).enqueue_to(
        "file_serve", "FileServe", "files/report.pdf", {"size": 42}
    )
    with CommandCapture(redis_url) as capture:
        pid = run_worker(redis_url, "file_serve", *mode)
        keyspace = capture.dump_keyspace(normalizer=recording.normalizer(pids={pid}))
    keyspace = {key: entry for key, entry in keyspace.items() if key.startswith("resque:")}
    compare_writes(recording, capture.commands, {pid}, start=2)
    ref.assert_keyspace_equal(keyspace, recording.keys)


PYTHON_FAILURES = [
    ("ZeroDivJob", [10], "ZeroDivisionError", "division by zero"),
    ("NoSuchJob", [1, "two"], "UnknownJobError", "no Python job is registered as 'NoSuchJob'"),
    ("No::Such::Namespaced", [], "UnknownJobError", "'No::Such::Namespaced'"),
    ("ArityJob", [1, 2], "TypeError", "positional argument"),
]


def test_worker_failure(redis_url: str, raw_redis: redis.Redis) -> None:
    """The first worker of the recording: every failure kind, then the unregister."""
    recording = ref.load("worker_failure")
    resque = Resque.from_url(redis_url)
    resque.enqueue_to("file_serve", "ZeroDivJob", 10)
    resque.push("file_serve", {"class": "NoSuchJob", "args": [1, "two"]})
    resque.push("file_serve", {"class": "No::Such::Namespaced", "args": []})
    resque.enqueue_to("file_serve", "ArityJob", 1, 2)
    resque.enqueue_to("file_serve", "MessageJob")
    resque.enqueue_to("file_serve", "Deep::NestedJob")
    resque.enqueue_to("file_serve", "KilledJob")
    resque.push("file_serve", {"class": "OkJob"})
    resque.enqueue_to("file_serve", "OkJob", 1)
    first_worker_end = next(
        c for c in recording.calls if c.text.startswith("Resque::Failure.count")
    )
    with CommandCapture(redis_url) as capture:
        pid = run_worker(redis_url, "file_serve")
    compare_writes(recording, capture.commands, {pid}, 18, first_worker_end.first_command_index)
    records = failures(raw_redis)
    assert [r["payload"]["class"] for r in records] == [
        "ZeroDivJob",
        "NoSuchJob",
        "No::Such::Namespaced",
        "ArityJob",
        "MessageJob",
        "Deep::NestedJob",
        "KilledJob",
    ]
    for record, (name, args, exception, message) in zip(records, PYTHON_FAILURES, strict=False):
        assert record["payload"] == {"class": name, "args": args}
        assert record["exception"] == exception and message in record["error"]
    assert records[4]["error"] == 'bad café value\nsecond line "quoted"'
    assert records[6]["exception"] == "Resque::DirtyExit"
    assert raw_redis.get("resque:stat:failed") == b"6"
    assert raw_redis.get("resque:stat:processed") == b"9"


def test_malformed_payload_is_kept_where_ruby_loses_it(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """Ruby's worker raises during reserve, unregisters and loses the payload; ours records it."""
    raw_redis.sadd("resque:queues", "bad_json")
    raw_redis.rpush(
        "resque:queue:bad_json",
        b'{"class":"OkJob","args":[',
        b'{"class":"OkJob","args":["after the bad one"]}',
    )
    run_worker(redis_url, "bad_json")
    [record] = failures(raw_redis)
    assert record["payload"]["class"] == "ResqueCompat::UnreadablePayload"
    assert record["payload"]["args"][0] == '{"class":"OkJob","args":['
    assert record["exception"] == "PayloadError"
    assert raw_redis.llen("resque:queue:bad_json") == 0


def test_worker_signals(redis_url: str, raw_redis: redis.Redis) -> None:
    recording = ref.load("worker_signals")
    resque = Resque.from_url(redis_url)
    pids = set()
    with CommandCapture(redis_url) as capture:
        for job, signum in (("term", 15), ("quit", 3)):
            resque.enqueue_to("file_serve", "SlowJob", job)
            with PythonWorker(redis_url, "file_serve", "--interval", "0.1") as worker:
                worker_id = worker.wait_registered()
                key = f"resque:worker:{worker_id}"
                wait_for(lambda key=key: raw_redis.get(key), what="job start")  # type: ignore[misc]
                time.sleep(0.3)
                worker.signal(signum)
                assert worker.wait() == 0, worker.output()
                pids.add(worker.pid)
    compare_writes(recording, capture.commands, pids)
    [record] = failures(raw_redis)
    assert record["exception"] == "Resque::DirtyExit" and "SIGKILL (signal 9)" in record["error"]
    assert raw_redis.get("resque:stat:processed") == b"2"


def test_pause_all_workers(redis_url: str, raw_redis: redis.Redis) -> None:
    recording = ref.load("pause_all_workers")
    resque = Resque.from_url(redis_url)
    resque.enqueue_to("file_serve", "FileServe", 1)
    pids = set()
    with CommandCapture(redis_url) as capture:
        for value in ("true", " True\n", "TRUE", "yes", None):
            if value is None:
                capture.control.delete("resque:pause-all-workers")
                resque.enqueue_to("file_serve", "FileServe", 2)
            else:
                capture.control.set("resque:pause-all-workers", value)
            pids.add(run_worker(redis_url, "file_serve"))
            if value not in ("yes", None):
                assert resque.size("file_serve") == 1
    assert resque.size("file_serve") == 0
    normalizer = recording.normalizer(host=socket.gethostname(), pids=pids)
    actual = resque_writes(normalizer.commands(capture.commands))
    expected = [
        c for c in resque_writes(recording.commands[2:]) if c[1] != "resque:pause-all-workers"
    ]
    assert [c[:2] for c in actual] == [c[:2] for c in expected]


def test_queue_lists_lpop_order(redis_url: str, raw_redis: redis.Redis) -> None:
    """Jobs are taken in the recording's order, for a dynamic, a glob and a static list."""
    recording = ref.load("queue_lists")
    resque = Resque.from_url(redis_url)
    for queue, arg in [
        ("alpha", "a1"),
        ("low", "l1"),
        ("zebra", "z1"),
        ("critical", "c1"),
        ("file_b", "fb1"),
        ("high", "h1"),
        ("file_a", "fa1"),
        ("critical", "c2"),
        ("Beta", "B1"),
        ("file_a", "fa2"),
    ]:
        resque.enqueue_to(queue, "RecordArgs", arg)
    raw_redis.rpush("resque:queue:unlisted", '{"class":"RecordArgs","args":["u1"]}')
    with CommandCapture(redis_url) as capture:
        run_worker(redis_url, "critical,*,!low")
        resque.enqueue_to("file_a", "RecordArgs", "fa3")
        resque.enqueue_to("file_b", "RecordArgs", "fb2")
        resque.enqueue_to("files", "RecordArgs", "fs1")
        run_worker(redis_url, "file_*")
        resque.enqueue_to("high", "RecordArgs", "h2")
        run_worker(redis_url, "unlisted,high,nonexistent")
        run_worker(redis_url, "*")
    lpops = [c for c in capture.commands if c[0] == "lpop"]
    expected = [c for c in recording.commands if c[0] == "lpop"]
    successful = [json.loads(p)["args"][0] for p in raw_redis.lrange("compat:performed", 0, -1)]
    assert successful == [
        "c1",
        "c2",
        "B1",
        "a1",
        "fa1",
        "fa2",
        "fb1",
        "h1",
        "z1",
        "fa3",
        "fb2",
        "u1",
        "h2",
        "fs1",
        "l1",
    ]
    assert {c[1] for c in lpops} == {c[1] for c in expected}


def test_prune_dead_workers(redis_url: str, raw_redis: redis.Redis) -> None:
    recording = ref.load("prune_dead_workers")
    host = socket.gethostname()
    plant = [c for c in recording.commands[:20]]
    normalizer_values = {"<HOST>": host}
    for command in plant:
        args = [_fill(str(a), normalizer_values) for a in command]
        raw_redis.execute_command(*args)
    with CommandCapture(redis_url) as capture:
        pid = run_worker(redis_url, "file_serve")
    records = failures(raw_redis)
    assert [(r["worker"], r["exception"], r["error"]) for r in records] == [
        (
            "otherhost:4242:file_serve",
            "Resque::PruneDeadWorkerDirtyExit",
            "Worker otherhost:4242:file_serve did not gracefully exit while processing FileServe",
        ),
        (f"{host}:99999901:file_serve", "Resque::DirtyExit", "Job still being processed"),
    ]
    remaining = {text(m) for m in raw_redis.smembers("resque:workers")}
    assert remaining == {
        f"{host}:99999903:other_queue",
        "otherhost:4343:file_serve",
        "otherhost:4444:file_serve",
    }
    assert raw_redis.hkeys("resque:workers:heartbeat") == [b"otherhost:4343:file_serve"]
    normalizer = recording.normalizer(host=host, pids={pid})
    unregistered = {str(c[2]) for c in normalizer.commands(capture.commands) if c[0] == "srem"}
    expected = {str(c[2]) for c in recording.commands[20:71] if c[0] == "srem"}
    assert unregistered == expected


def _fill(text: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    if "<TIME_ISO8601>" in text:
        text = text.replace(
            "<TIME_ISO8601>", time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        )
    return text


def test_time_formats_in_a_non_utc_zone(redis_url: str, raw_redis: redis.Redis) -> None:
    recording = ref.load("time_formats_non_utc")
    Resque.from_url(redis_url).enqueue_to("file_serve", "Slow", 1, "tz")
    Resque.from_url(redis_url).enqueue_to("file_serve", "Failing")
    with PythonWorker(
        redis_url, "file_serve", "--interval", "0", env={"TZ": "America/New_York"}
    ) as worker:
        worker_id = worker.wait_registered()
        wait_for(lambda: raw_redis.get(f"resque:worker:{worker_id}"), what="job start")
        started = raw_redis.get(f"resque:worker:{worker_id}:started") or b""
        beat = raw_redis.hget("resque:workers:heartbeat", worker_id) or b""
        run_at = json.loads(raw_redis.get(f"resque:worker:{worker_id}") or b"{}")["run_at"]
        assert worker.wait() == 0, worker.output()
    assert text(started).endswith((" -0500", " -0400"))
    assert text(beat).endswith(("-05:00", "-04:00"))
    assert run_at.endswith("Z")
    [record] = failures(raw_redis)
    assert record["failed_at"].endswith((" EST", " EDT"))
    assert "<TIME_RUBY_TO_S>" in json.dumps(recording.data)
    assert os.environ.get("TZ") != "America/New_York"


def test_web_ui_reads_the_same_keyspace_mid_job(redis_url: str, raw_redis: redis.Redis) -> None:
    """What resque-web and Ruby's inspection API read while a worker is mid-job, after one
    failure: the keyspace the Python worker shows then is the one Ruby's showed."""
    recording = ref.load("web_ui_reads")
    resque = Resque.from_url(redis_url)
    resque.enqueue_to("file_serve", "Boom")
    resque.enqueue_to("file_serve", "FileServe", "busy")
    resque.enqueue_to("file_serve", "FileServe", "waiting")
    with PythonWorker(redis_url, "file_serve") as worker:
        worker_id = worker.wait_registered()
        wait_for(
            lambda: b"busy" in (raw_redis.get(f"resque:worker:{worker_id}") or b""),
            what="the busy job",
        )
        normalizer = recording.normalizer(host=socket.gethostname(), pids={worker.pid})
        mid_job = ref.dump_keyspace(raw_redis, normalizer=normalizer)
        worker.signal(15)
        assert worker.wait() == 0
    expected = recording.snapshot("mid_job")
    mid_job = {k: v for k, v in mid_job.items() if k.startswith("resque:")}
    _collapse_failure_details(mid_job)
    _collapse_failure_details(expected)
    ref.assert_keyspace_equal(mid_job, expected)


def _collapse_failure_details(keyspace: dict[str, Any]) -> None:
    """Python's exception text and frames differ from Ruby's by design (see module doc)."""
    failed = keyspace.get("resque:failed")
    if failed is not None:
        failed["value"] = [_contract_of_failure(v) for v in failed["value"]]


def test_a_dead_worker_with_a_bad_record_does_not_stop_startup(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """Ruby aborts every worker start on it (the dead entry stays, the job is never run);
    ours prunes the dead worker, keeps its unreadable record in a failure, and works."""
    recording = ref.load("prune_dead_workers_bad_payload")
    Resque.from_url(redis_url).enqueue_to("file_serve", "FileServe", 1)
    for command in recording.commands[2:6]:
        raw_redis.execute_command(*[str(arg) for arg in command])
    run_worker(redis_url, "file_serve")
    assert raw_redis.llen("resque:queue:file_serve") == 0
    assert raw_redis.smembers("resque:workers") == set()
    [record] = failures(raw_redis)
    assert record["exception"] == "Resque::PruneDeadWorkerDirtyExit"
    assert record["worker"] == "otherhost:4545:q1,q2"
    assert record["payload"]["class"] == "ResqueCompat::UnreadablePayload"
    assert record["payload"]["args"][0] == "not json at all"


def test_idle_heartbeats_pause_and_quit(redis_url: str, raw_redis: redis.Redis) -> None:
    """The idle half of worker_idle_heartbeat (timing-dependent in Ruby too): repeated
    heartbeats, USR2/CONT and pause-all-workers titles, QUIT's unregister."""
    recording = ref.load("worker_idle_heartbeat")
    titles = recording.observations["process_titles"]
    with (
        CommandCapture(redis_url) as capture,
        PythonWorker(
            redis_url, "file_serve", "--interval", "0.5", "--heartbeat-interval", "1"
        ) as worker,
    ):
        worker.wait_registered()
        seen = []
        for signum, key in ((0, "idle"), (12, "after_USR2"), (18, "after_CONT")):
            if signum:
                worker.signal(signum)
            wait_for(lambda key=key: _title(worker.pid) == titles[key], what=key)  # type: ignore[misc]
            seen.append(_title(worker.pid))
        capture.control.set("resque:pause-all-workers", "true")
        wait_for(lambda: _title(worker.pid) == titles["with_pause_all_workers"], what="paused")
        capture.control.delete("resque:pause-all-workers")
        time.sleep(1.5)
        worker.signal(3)
        assert worker.wait() == 0, worker.output()
    normalizer = recording.normalizer(host=socket.gethostname(), pids={worker.pid})
    actual = normalizer.commands(capture.commands)
    assert heartbeat_writes(actual) >= 3
    quit_call = next(c for c in recording.calls if "QUIT" in c.text)
    unregister = resque_writes(recording.commands[quit_call.first_command_index :])
    assert resque_writes(actual)[-len(unregister) :] == unregister


def _title(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
