"""The operator CLI run as an operator runs it: ``python -m resque_compat ...`` with
``REDIS_URL`` set, against the suite's real redis-server, with failures made by a real
worker and workers that really run, die, or live on "other hosts".

Every command is run at least once as a subprocess; the many cheap variants (each refusal,
each filter) go through click's ``CliRunner`` in this process, which runs the same code
and still talks to the same real Redis. Every refusal is checked to leave the keyspace
exactly as it was.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from click.testing import CliRunner

from compat_tests.reference import dump_keyspace
from compat_tests.runtimes import requires_ruby, ruby_eval, run_ruby, start_ruby
from resque_compat.cli import main
from resque_compat.connection import RedisSettings
from resque_compat.devserver import free_port
from resque_compat.failure import (
    Failure,
    RedisBackend,
    RedisMultiQueueBackend,
)
from resque_compat.keys import Keys
from resque_compat.store import SyncDriver
from resque_compat.timefmt import heartbeat as heartbeat_stamp
from resque_compat.timefmt import local_now
from tests.workerproc import REPO_ROOT, PythonWorker, text, wait_for

HOST = socket.gethostname()
KEYS = Keys()
CLEARED_VARIABLES = (
    "REDIS_URL",
    "RESQUE_NAMESPACE",
    "FAILURE_BACKEND",
    "RESQUE_JSON_STYLE",
    "RESQUE_PRUNE_INTERVAL",
    "RAILS_ENV",
    "RACK_ENV",
)


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


def run_cli(redis_url: str, *args: str, env: Mapping[str, str] | None = None) -> Done:
    """``python -m resque_compat ARGS`` in a child process, ``REDIS_URL`` pointing at Redis."""
    full_env = {k: v for k, v in os.environ.items() if k not in CLEARED_VARIABLES}
    full_env.update({"REDIS_URL": redis_url, "PYTHONPATH": str(REPO_ROOT), **(env or {})})
    done = subprocess.run(
        [sys.executable, "-m", "resque_compat", *args],
        stdin=subprocess.DEVNULL,  # no terminal, even when pytest runs in one: never a prompt
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        env=full_env,
        check=False,
    )
    return Done(done.returncode, done.stdout, done.stderr)


def invoke(redis_url: str, *args: str, env: Mapping[str, str] | None = None) -> Done:
    """The same command through click's CliRunner, in this process (same code, same Redis)."""
    variables: dict[str, str | None] = {name: None for name in CLEARED_VARIABLES}
    variables.update({"REDIS_URL": redis_url, **(env or {})})
    result = CliRunner(env=variables).invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Done(result.exit_code, result.stdout, result.stderr)


def refused(done: Done, code: int, *phrases: str) -> None:
    """A refusal: the exit status, the phrases on stderr, no traceback, nothing on stdout."""
    assert done.code == code, (done.code, done.out, done.err)
    assert "Traceback" not in done.err
    for phrase in phrases:
        assert phrase in done.err, (phrase, done.err)
    assert done.out == ""


def driver_for(redis_url: str) -> tuple[SyncDriver, redis.Redis]:
    client = RedisSettings.from_url(redis_url).client()
    return SyncDriver(client), client


def save_failures(
    redis_url: str, backend: RedisBackend | RedisMultiQueueBackend, *rows: Any
) -> None:
    """Failure records written as a worker writes them: rows of (queue, class, args, error)."""
    driver, client = driver_for(redis_url)
    try:
        for queue, class_name, args, error in rows:
            failure = Failure(
                payload={"class": class_name, "args": args},
                exception="RuntimeError",
                error=error,
                backtrace=("/srv/app/jobs.py:3:in `perform'",),
                worker=f"{HOST}:1:{queue}",
                queue=queue,
                failed_at=local_now(),
            )
            driver.run(backend.save(failure))
    finally:
        client.close()


def as_bytes(value: bytes | str) -> bytes:
    """A redis-py reply as bytes (its type hints allow either)."""
    return value if isinstance(value, bytes) else value.encode()


def queue_items(raw_redis: redis.Redis, queue: str) -> list[bytes]:
    return [as_bytes(item) for item in raw_redis.lrange(KEYS.queue(queue), 0, -1)]


# --- queues: enqueue, peek, queues, info, dequeue, remove-queue --------------------------------


def test_queue_commands_as_a_user_runs_them(redis_url: str, raw_redis: redis.Redis) -> None:
    done = run_cli(
        redis_url,
        "enqueue",
        "compat",
        "RecordArgs",
        "--args",
        '[1, "two/три", {"three": 3.0}, null, 12345678901234567890123]',
    )
    expected = (
        '{"class":"RecordArgs","args":[1,"two/три",{"three":3.0},null,12345678901234567890123]}'
    )
    assert done.code == 0, done.err
    assert done.out == f"enqueued to compat (1 jobs now): {expected}\n"
    assert queue_items(raw_redis, "compat") == [expected.encode()]
    assert raw_redis.smembers(KEYS.queues()) == {b"compat"}

    document = invoke(redis_url, "enqueue", "compat", "Failing", "--args", "[2]", "--json").json()
    assert document == {
        "queue": "compat",
        "class": "Failing",
        "args": [2],
        "payload": '{"class":"Failing","args":[2]}',
        "size": 2,
    }
    raw_redis.rpush(KEYS.queue("compat"), b"\xff not json")
    raw_redis.rpush(KEYS.queue("compat"), b'{"class":"Failing","args":[3]}')

    peeked = run_cli(redis_url, "peek", "compat", "--count", "3")
    assert peeked.code == 0, peeked.err
    lines = peeked.out.splitlines()
    assert lines[0] == "queue compat: 4 jobs, showing 0..2"
    assert lines[1].split() == ["0", expected]
    assert lines[2].split() == ["1", '{"class":"Failing","args":[2]}']
    assert lines[3].startswith("    2  \\xff not json   <- not a job: payload is not valid UTF-8")
    jobs = invoke(redis_url, "peek", "compat", "--start", "2", "--count", "5", "--json").json()
    assert jobs["size"] == 4
    assert [(j["index"], j["raw"], j["class"], j["args"]) for j in jobs["jobs"]] == [
        (2, "\\xff not json", None, None),
        (3, '{"class":"Failing","args":[3]}', "Failing", [3]),
    ]
    assert "not valid UTF-8" in jobs["jobs"][0]["error"]

    listed = run_cli(redis_url, "queues")
    assert listed.out.split() == ["QUEUE", "JOBS", "compat", "4"]
    assert invoke(redis_url, "queues", "--json").json() == {"compat": 4}

    raw_redis.set(KEYS.stat("processed"), 7)
    raw_redis.rpush(KEYS.failed(), b"{}")
    info = run_cli(redis_url, "info", env={"RACK_ENV": "staging"})
    assert info.code == 0, info.err
    assert [line.split(None, 1) for line in info.out.splitlines()] == [
        ["pending", "4"],
        ["processed", "7"],
        ["queues", "1"],
        ["workers", "0"],
        ["working", "0"],
        ["failed", "1"],
        ["servers", redis_url],
        ["environment", "staging"],
    ]
    assert invoke(redis_url, "info", "--json").json() == {
        "pending": 4,
        "processed": 7,
        "queues": 1,
        "workers": 0,
        "working": 0,
        "failed": 1,
        "servers": [redis_url],
        "environment": "development",
    }

    one = invoke(redis_url, "dequeue", "compat", "RecordArgs", "--args", "[1]")
    assert one.out == "removed 0 job(s) (RecordArgs [1]) from compat; 4 left\n"
    exact = run_cli(
        redis_url,
        "dequeue",
        "compat",
        "RecordArgs",
        "--args",
        '[1,"two/три",{"three":3.0},null,12345678901234567890123]',
    )
    assert exact.code == 0, exact.err
    assert "removed 1 job(s)" in exact.out
    every = invoke(redis_url, "dequeue", "compat", "Failing", "--json").json()
    assert (every["removed"], every["size"]) == (2, 1)
    assert queue_items(raw_redis, "compat") == [b"\xff not json"]

    removed = run_cli(redis_url, "remove-queue", "compat")
    assert removed.out == "removed queue compat and its 1 job(s)\n"
    assert not raw_redis.exists(KEYS.queue("compat"))
    assert raw_redis.smembers(KEYS.queues()) == set()
    raw_redis.sadd(KEYS.queues(), "empty")
    assert invoke(redis_url, "remove-queue", "empty", "--json").json() == {
        "queue": "empty",
        "removed_jobs": 0,
    }
    assert invoke(redis_url, "queues").out == "(no queues)\n"


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        ("[1,", "not valid JSON"),
        ('{"a": 1}', "must be a JSON array (got a JSON object)"),
        ('"text"', "must be a JSON array (got a JSON str)"),
        ("42", "must be a JSON array (got a JSON int)"),
        ("[NaN]", "--args"),
        ("[1e400]", "Ruby Resque cannot write these arguments"),
        ('["\\udc80"]', "Ruby Resque cannot write these arguments"),
        ("[" * 101 + "]" * 101, "Ruby Resque cannot write these arguments"),
    ],
)
def test_enqueue_refuses_arguments_ruby_could_not_have_written(
    redis_url: str, raw_redis: redis.Redis, args: str, phrase: str
) -> None:
    raw_redis.rpush(KEYS.queue("compat"), b'{"class":"Noop","args":[]}')
    before = dump_keyspace(raw_redis)
    refused(invoke(redis_url, "enqueue", "compat", "Noop", "--args", args), 2, phrase)
    refused(invoke(redis_url, "dequeue", "compat", "Noop", "--args", args), 2, phrase)
    assert dump_keyspace(raw_redis) == before


def test_refusals_as_a_user_sees_them(redis_url: str, raw_redis: redis.Redis) -> None:
    raw_redis.rpush(KEYS.queue("compat"), b'{"class":"Noop","args":[]}')
    raw_redis.sadd(KEYS.queues(), "compat")
    before = dump_keyspace(raw_redis)
    bad_json = run_cli(redis_url, "enqueue", "compat", "Noop", "--args", "[1, two]")
    refused(bad_json, 2, "Invalid value for --args", "not valid JSON")
    not_array = invoke(redis_url, "enqueue", "compat", "Noop", "--args", '{"a": 1}')
    refused(not_array, 2, "must be a JSON array")
    refused(invoke(redis_url, "peek", "compta"), 1, "unknown queue 'compta'")
    refused(invoke(redis_url, "dequeue", "compta", "Noop"), 1, "unknown queue 'compta'")
    refused(invoke(redis_url, "remove-queue", "compta"), 1, "unknown queue 'compta'")
    refused(invoke(redis_url, "peek", "compat", "--count", "0"), 2, "--count")
    refused(invoke(redis_url, "enqueue", "", "Noop"), 2, "must not be empty")
    assert dump_keyspace(raw_redis) == before


def test_an_unreachable_redis_is_one_clear_line() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    done = invoke(url, "info")
    refused(done, 1, f"Redis at {url} failed", "Connection refused")


# --- pause, resume, stats ---------------------------------------------------------------------


def test_pause_and_resume_set_the_key_every_worker_reads(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    paused = run_cli(redis_url, "pause")
    assert paused.code == 0, paused.err
    assert paused.out.startswith("paused: every worker finishes its current job")
    assert raw_redis.get(KEYS.pause_all()) == b"true"
    assert invoke(redis_url, "pause", "--json").json() == {"paused": True, "previous": "true"}
    assert "(they already were)" in invoke(redis_url, "pause").out

    with PythonWorker(redis_url, "compat", "--interval", "0.2") as worker:
        worker.wait_registered()
        raw_redis.rpush(KEYS.queue("compat"), b'{"class":"Noop","args":[]}')
        time.sleep(1.0)
        assert raw_redis.llen(KEYS.queue("compat")) == 1, "a paused worker took a job"
        resumed = run_cli(redis_url, "resume", "--json").json()
        assert resumed == {"paused": False, "previous": "true"}
        assert not raw_redis.exists(KEYS.pause_all())
        wait_for(lambda: raw_redis.llen(KEYS.queue("compat")) == 0, 15, "the job to be taken")

    raw_redis.set(KEYS.pause_all(), "yes")
    assert (
        invoke(redis_url, "resume").out
        == "resumed: workers take jobs again (they were not paused)\n"
    )


def test_stats_counts_the_fleet(redis_url: str, raw_redis: redis.Redis) -> None:
    raw_redis.set(KEYS.stat("processed"), 12)
    raw_redis.set(KEYS.stat("failed"), 3)
    raw_redis.sadd(KEYS.workers(), "far:1:compat")
    raw_redis.set(KEYS.worker_stat("processed", "far:1:compat"), 9)
    raw_redis.set(KEYS.worker_stat("failed", "far:1:compat"), 2)
    raw_redis.rpush(KEYS.queue("compat"), b"{}", b"{}")
    raw_redis.sadd(KEYS.queues(), "compat", "empty")
    raw_redis.rpush(KEYS.failed(), b"{}")
    raw_redis.set(KEYS.pause_all(), " True\n")
    done = run_cli(redis_url, "stats")
    assert done.code == 0, done.err
    assert [line.split() for line in done.out.splitlines()] == [
        ["processed", "12"],
        ["failed", "3"],
        ["paused", "yes"],
        [],
        ["QUEUE", "JOBS"],
        ["compat", "2"],
        ["empty", "0"],
        [],
        ["WORKER", "PROCESSED", "FAILED"],
        ["far:1:compat", "9", "2"],
        [],
        ["FAILURE", "LIST", "RECORDS"],
        ["failed", "1"],
    ]
    assert invoke(redis_url, "stats", "--json").json() == {
        "processed": 12,
        "failed": 3,
        "paused": True,
        "queues": {"compat": 2, "empty": 0},
        "workers": {"far:1:compat": {"processed": 9, "failed": 2}},
        "failed_lists": {"failed": 1},
    }


# --- failed ------------------------------------------------------------------------------------


def failed_list(raw_redis: redis.Redis, name: str = "failed") -> list[dict[str, Any]]:
    """The records of a failure list that are JSON (a test may plant one that is not)."""
    raws = raw_redis.lrange(KEYS.failed_list(name), 0, -1)
    return [json.loads(raw) for raw in raws if as_bytes(raw).startswith(b"{")]


def test_failures_made_by_a_real_worker_are_listed_retried_and_removed(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    for number in (1, 2, 3):
        invoke(redis_url, "enqueue", "compat", "Failing", "--args", f"[{number}]")
    invoke(redis_url, "enqueue", "compat", "RecordArgs", "--args", "[4]")
    with PythonWorker(redis_url, "compat", "--interval", "0") as worker:
        assert worker.wait() == 0, worker.output()
    assert [r["payload"]["args"] for r in failed_list(raw_redis)] == [[1], [2], [3]]

    listed = run_cli(redis_url, "failed", "list")
    assert listed.code == 0, listed.err
    rows = [line.split() for line in listed.out.splitlines()]
    assert rows[0] == ["3", "failure(s);", "showing", "1-3", "(desc)"]
    assert rows[1][:2] == ["INDEX", "ID"]
    assert [(row[0], *row[-4:]) for row in rows[2:]] == [
        ("2", "compat", "Failing", "RuntimeError", "boom"),
        ("1", "compat", "Failing", "RuntimeError", "boom"),
        ("0", "compat", "Failing", "RuntimeError", "boom"),
    ]
    document = invoke(redis_url, "failed", "list", "--json").json()
    assert document["total"] == 3
    entries = document["failures"]
    assert [(e["index"], e["args"], e["queue"], e["retried_at"]) for e in entries] == [
        (2, [3], "compat", None),
        (1, [2], "compat", None),
        (0, [1], "compat", None),
    ]
    ids = {e["index"]: e["id"] for e in entries}
    assert [e["id"] for e in entries] == [row[1] for row in rows[2:]]

    page = invoke(redis_url, "failed", "list", "--start", "1", "--count", "1", "--json").json()
    assert [e["index"] for e in page["failures"]] == [1]
    oldest = invoke(redis_url, "failed", "list", "--order", "asc", "--count", "2", "--json")
    assert [e["index"] for e in oldest.json()["failures"]] == [0, 1]
    assert invoke(redis_url, "failed", "list", "--class", "Nope", "--json").json()["total"] == 0
    assert invoke(redis_url, "failed", "list", "--queue", "compat", "--json").json()["total"] == 3
    assert "0 failure(s) match" in invoke(redis_url, "failed", "list", "--queue", "other").out

    shown = run_cli(redis_url, "failed", "show", "1")
    assert shown.code == 0, shown.err
    assert 'payload    {"class":"Failing","args":[2]}' in shown.out
    assert "backtrace\n  " in shown.out and "jobs.py" in shown.out
    record = invoke(redis_url, "failed", "show", "1", "--json").json()
    assert record["record"]["payload"] == {"class": "Failing", "args": [2]}
    assert record["id"] == ids[1]

    before = dump_keyspace(raw_redis)
    refused(invoke(redis_url, "failed", "retry", "7"), 1, "no failure at index 7", "holds 3")
    refused(invoke(redis_url, "failed", "remove", "3"), 1, "no failure at index 3")
    refused(invoke(redis_url, "failed", "show", "3"), 1, "no failure at index 3")
    refused(invoke(redis_url, "failed", "retry", "-1"), 2, "-1")
    refused(invoke(redis_url, "failed", "retry", "0", "--id", ids[1]), 1, "not the record")
    refused(invoke(redis_url, "failed", "retry", "0", "--queue", "other"), 1, "not 'other'")
    bad_backend = invoke(redis_url, "failed", "list", "--failure-backend", "nope")
    refused(bad_backend, 2, "invalid failure backend")
    assert dump_keyspace(raw_redis) == before

    retried = run_cli(redis_url, "failed", "retry", "0", "--id", ids[0])
    assert retried.out == "requeued failure 0 (Failing [1] from compat) to compat\n"
    assert queue_items(raw_redis, "compat") == [b'{"class":"Failing","args":[1]}']
    assert "retried_at" in failed_list(raw_redis)[0]
    moved = invoke(redis_url, "failed", "retry", "1", "--to", "elsewhere", "--json").json()
    assert moved["requeued_to"] == "elsewhere"
    assert queue_items(raw_redis, "elsewhere") == [b'{"class":"Failing","args":[2]}']

    removed = invoke(redis_url, "failed", "remove", "2", "--json").json()
    assert (removed["removed"], removed["args"]) == (True, [3])
    assert [r["payload"]["args"] for r in failed_list(raw_redis)] == [[1], [2]]
    # Another client removes the head: index 0 no longer holds the record listed there.
    stale = invoke(redis_url, "failed", "list", "--json").json()["failures"]
    first_id = next(e["id"] for e in stale if e["index"] == 0)
    raw_redis.lpop(KEYS.failed())
    before = dump_keyspace(raw_redis)
    refused(invoke(redis_url, "failed", "remove", "0", "--id", first_id), 1, "list it again")
    assert dump_keyspace(raw_redis) == before

    cleared = run_cli(redis_url, "failed", "clear-retried")
    assert cleared.out == "removed 1 retried failure(s)\n"
    assert failed_list(raw_redis) == []


def test_bulk_failure_commands_and_unreadable_records(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    backend = RedisBackend(keys=KEYS)
    save_failures(
        redis_url,
        backend,
        ("q1", "A", [1], "one"),
        ("q2", "B", [2], "two"),
        ("q1", "B", [3], "three"),
        ("q2", "A", [4], "four"),
    )
    raw_redis.rpush(KEYS.failed(), b"not a record")
    unreadable = invoke(redis_url, "failed", "list", "--count", "1")
    assert "(unreadable)" in unreadable.out
    shown = invoke(redis_url, "failed", "show", "4", "--json").json()
    assert (shown["readable"], shown["raw"], shown["record"]) == (False, "not a record", None)
    before = dump_keyspace(raw_redis)
    refused(invoke(redis_url, "failed", "retry", "4"), 1, "not a readable record")
    assert dump_keyspace(raw_redis) == before

    by_class = invoke(redis_url, "failed", "retry-all", "--class", "B", "--json").json()
    assert by_class == {"requeued": 1 + 1}
    assert queue_items(raw_redis, "q2") == [b'{"class":"B","args":[2]}']
    assert queue_items(raw_redis, "q1") == [b'{"class":"B","args":[3]}']
    by_queue = invoke(redis_url, "failed", "retry-all", "--queue", "q2").out
    assert by_queue == "requeued 2 failure(s)\n"
    assert len(queue_items(raw_redis, "q2")) == 3

    assert invoke(redis_url, "failed", "clear-retried", "--class", "A").out == (
        "removed 1 retried failure(s)\n"
    )
    left = [(r["payload"]["class"], r["queue"]) for r in failed_list(raw_redis)]
    assert left == [("A", "q1"), ("B", "q2"), ("B", "q1")]
    assert invoke(redis_url, "failed", "clear", "--queue", "q1").out == "removed 2 failure(s)\n"
    cleared = run_cli(redis_url, "failed", "clear", "--json").json()
    assert cleared == {"removed": 2}
    assert not raw_redis.exists(KEYS.failed())
    everything = invoke(redis_url, "failed", "retry-all")
    assert everything.out == "requeued 0 failure(s)\n"


def test_redis_multi_queue_lists_are_named_by_their_queue(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    backend = RedisMultiQueueBackend(keys=KEYS)
    save_failures(
        redis_url, backend, ("q1", "A", [1], "one"), ("q2", "B", [2], "two"), ("q1", "C", [3], "x")
    )
    multi = {"FAILURE_BACKEND": "redis_multi_queue"}
    listed = invoke(redis_url, "failed", "list", env=multi)
    assert listed.code == 0, listed.err
    rows = [line.split()[:2] for line in listed.out.splitlines()[2:]]
    assert rows == [["q2_failed", "0"], ["q1_failed", "1"], ["q1_failed", "0"]]
    only_q1 = invoke(redis_url, "failed", "list", "--queue", "q1", "--json", env=multi).json()
    assert [(e["list"], e["index"], e["class"]) for e in only_q1["failures"]] == [
        ("q1_failed", 1, "C"),
        ("q1_failed", 0, "A"),
    ]

    before = dump_keyspace(raw_redis)
    refused(invoke(redis_url, "failed", "retry", "0", env=multi), 1, "name it with --queue")
    refused(invoke(redis_url, "failed", "remove", "2", "-q", "q1", env=multi), 1, "'q1_failed'")
    assert dump_keyspace(raw_redis) == before

    retried = invoke(redis_url, "failed", "retry", "1", "--queue", "q1", env=multi)
    assert retried.out == "requeued failure 1 (C [3] from q1) to q1\n"
    assert queue_items(raw_redis, "q1") == [b'{"class":"C","args":[3]}']
    assert "retried_at" in failed_list(raw_redis, "q1_failed")[1]
    removed = invoke(redis_url, "failed", "remove", "0", "--queue", "q2", env=multi)
    assert removed.out == "removed failure 0 (B [2] from q2)\n"
    assert failed_list(raw_redis, "q2_failed") == []
    assert invoke(redis_url, "failed", "clear", "--queue", "q1", env=multi).out == (
        "removed 2 failure(s)\n"
    )
    assert not raw_redis.exists(KEYS.failed_list("q1_failed"))


# --- workers -----------------------------------------------------------------------------------


def plant_worker(
    raw_redis: redis.Redis, worker_id: str, job: str | None, beat_age: float | None
) -> None:
    """A registered worker as Ruby writes one, with a heartbeat ``beat_age`` seconds old."""
    raw_redis.sadd(KEYS.workers(), worker_id)
    raw_redis.set(KEYS.worker_started(worker_id), "2026-11-28 06:52:30 +0000")
    if job is not None:
        record = {
            "queue": "compat",
            "run_at": "2026-11-28T06:52:31Z",
            "payload": {"class": job, "args": [1]},
        }
        raw_redis.set(KEYS.worker(worker_id), json.dumps(record, separators=(",", ":")))
    if beat_age is not None:
        seconds, _micros = raw_redis.time()
        raw_redis.hset(KEYS.heartbeats(), worker_id, heartbeat_stamp(seconds - beat_age))


def dead_pid() -> int:
    """A pid that was just used and is free again (its process has exited and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_workers_list_and_prune_never_touch_a_live_worker(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    gone_far = "far-away:4242:compat"
    fresh_far = "far-away:4343:compat"
    silent_far = "other-host:77:compat"
    me_stale = f"{HOST}:{os.getpid()}:compat"
    with PythonWorker(redis_url, "compat") as busy, PythonWorker(redis_url, "idle") as idle:
        busy_id = busy.wait_registered()
        idle_id = idle.wait_registered()
        # Planted once both workers have started: their own startup pruning is over.
        plant_worker(raw_redis, gone_far, "Noop", 900)
        plant_worker(raw_redis, fresh_far, None, 5)
        plant_worker(raw_redis, silent_far, None, None)
        plant_worker(raw_redis, me_stale, None, 900)
        raw_redis.rpush(KEYS.queue("compat"), b'{"class":"Slow","args":[30]}')
        wait_for(lambda: raw_redis.exists(KEYS.worker(busy_id)), 15, "the Slow job to start")

        listed = run_cli(redis_url, "workers", "list")
        assert listed.code == 0, listed.err
        lines = {line.split()[0]: line.split() for line in listed.out.splitlines()[1:]}
        assert lines[busy_id][1:6] == [HOST, str(busy.pid), "compat", "working", "Slow"]
        assert lines[idle_id][1:6] == [HOST, str(idle.pid), "idle", "idle", "-"]
        assert lines[gone_far][-1] == "(stale)" and 900 <= int(lines[gone_far][-2]) < 910
        documents = {w["id"]: w for w in invoke(redis_url, "workers", "list", "--json").json()}
        assert set(documents) == {busy_id, idle_id, gone_far, fresh_far, silent_far, me_stale}
        mine = documents[busy_id]
        assert (mine["host"], mine["pid"], mine["queues"], mine["state"], mine["job"]) == (
            HOST,
            busy.pid,
            ["compat"],
            "working",
            "Slow",
        )
        assert mine["heartbeat_age"] is not None and mine["heartbeat_age"] < 60
        assert documents[gone_far]["stale"] and documents[silent_far]["heartbeat_age"] is None

        busy.stop()  # SIGKILL mid-job: registered, its job in worker:<id>, its pid gone
        before = dump_keyspace(raw_redis)
        too_eager = invoke(redis_url, "workers", "prune", "--prune-interval", "30")
        refused(too_eager, 2, "--prune-interval")
        dry = invoke(redis_url, "workers", "prune", "--dry-run", "--json").json()
        assert dump_keyspace(raw_redis) == before
        assert {(p["id"], p["job"], p["failure"]) for p in dry["pruned"]} == {
            (gone_far, "Noop", "Resque::PruneDeadWorkerDirtyExit"),
            (busy_id, "Slow", "Resque::DirtyExit"),
        }
        kept = {k["id"]: k["reason"] for k in dry["kept"]}
        assert set(kept) == {idle_id, fresh_far, silent_far, me_stale}
        assert kept[me_stale] == f"pid {os.getpid()} is running on this host"
        assert kept[silent_far] == "no heartbeat, on another host: cannot tell"

        pruned = run_cli(redis_url, "workers", "prune")
        assert pruned.code == 0, pruned.err
        assert pruned.out.splitlines()[0] == "pruned 2 worker(s), kept 4"
        row = next(line for line in pruned.out.splitlines() if line.startswith(busy_id))
        assert row.split()[1:] == f"pruned pid {busy.pid} is not running on this host Slow".split()
        members = {text(m) for m in raw_redis.smembers(KEYS.workers())}
        assert members == {idle_id, fresh_far, silent_far, me_stale}
        assert raw_redis.exists(KEYS.worker_started(idle_id))
        assert idle.process.poll() is None
        for gone in (busy_id, gone_far):
            assert not raw_redis.exists(KEYS.worker(gone), KEYS.worker_started(gone))
            assert not raw_redis.hexists(KEYS.heartbeats(), gone)
        failures = {
            (f["worker"], f["exception"], f["payload"]["class"]) for f in failed_list(raw_redis)
        }
        assert failures == {
            (gone_far, "Resque::PruneDeadWorkerDirtyExit", "Noop"),
            (busy_id, "Resque::DirtyExit", "Slow"),
        }
        assert not text(raw_redis.get(KEYS.pruning_lock())).endswith(":prune")
        again = invoke(redis_url, "workers", "prune", "--json").json()
        assert again["pruned"] == []


# --- Ruby Resque on the other side ------------------------------------------------------------


@requires_ruby
def test_ruby_reads_what_the_cli_writes_and_the_cli_spares_a_live_ruby_worker(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    args = '[1, "a/b", {"x": [1.5, 1e20, null]}, "<&>"]'
    invoke(redis_url, "enqueue", "compat", "RecordArgs", "--args", args)
    invoke(redis_url, "enqueue", "compat", "Failing", "--args", "[7]")
    answer = ruby_eval(
        'removed = Resque::Job.destroy("compat", "RecordArgs", 1, "a/b", '
        '{"x" => [1.5, 1e20, nil]}, "<&>")\n'
        "{removed: removed, info: Resque.info}",
        redis_url,
    )
    assert answer["removed"] == 1
    cli_info = invoke(redis_url, "info", "--json").json()
    assert {k: v for k, v in answer["info"].items() if k != "servers"} == {
        k: v for k, v in cli_info.items() if k != "servers"
    }

    run_ruby("worker.rb", redis_url, env={"QUEUE": "compat", "INTERVAL": "0"}, timeout=60)
    ruby_failure = invoke(redis_url, "failed", "list", "--json").json()["failures"]
    assert [(f["class"], f["args"], f["error"]) for f in ruby_failure] == [("Failing", [7], "boom")]
    assert invoke(redis_url, "failed", "retry", "0").code == 0
    requeued = ruby_eval('Resque.peek("compat", 0, 5)', redis_url)
    assert requeued == [{"class": "Failing", "args": [7]}]
    assert ruby_eval("Resque::Failure.all(0, 1)['retried_at'].nil?", redis_url) is False

    with start_ruby("worker.rb", redis_url, env={"QUEUE": "ruby_only", "INTERVAL": "1"}) as ruby:

        def ruby_id() -> str | None:
            ids = [text(m) for m in raw_redis.smembers(KEYS.workers())]
            return next((i for i in ids if i.split(":")[1] == str(ruby.pid)), None)

        wait_for(ruby_id, 30, "the Ruby worker to register")
        worker_id = ruby_id()
        assert worker_id is not None
        seconds, _micros = raw_redis.time()
        raw_redis.hset(KEYS.heartbeats(), worker_id, heartbeat_stamp(seconds - 3600))
        done = invoke(redis_url, "workers", "prune", "--json").json()
        assert done["pruned"] == []
        assert {"id": worker_id, "reason": f"pid {ruby.pid} is running on this host"} in done[
            "kept"
        ]
        assert worker_id in ruby_eval("Resque.workers.map(&:to_s)", redis_url)
