"""The Python worker against a real Redis, started as a user starts it (a separate process)."""

from __future__ import annotations

import base64
import json
import signal
from pathlib import Path
from typing import Any

import pytest
import redis

from resque_compat import Resque
from resque_compat.worker import QueueSelector
from tests.workerproc import PythonWorker, text, wait_for

FORK_MODES = [pytest.param([], id="fork"), pytest.param(["--no-fork"], id="nofork")]


def performed(raw_redis: redis.Redis) -> list[dict[str, Any]]:
    return [json.loads(item) for item in raw_redis.lrange("compat:performed", 0, -1)]


def failures(raw_redis: redis.Redis) -> list[dict[str, Any]]:
    return [json.loads(item) for item in raw_redis.lrange("resque:failed", 0, -1)]


def proc_title(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()


@pytest.mark.parametrize("mode", FORK_MODES)
def test_runs_jobs_then_leaves_no_trace(
    redis_url: str, raw_redis: redis.Redis, mode: list[str]
) -> None:
    client = Resque.from_url(redis_url)
    client.enqueue_to("compat", "RecordArgs", "files/report.pdf", {"size": 42}, 2**70, 1.5)
    with PythonWorker(redis_url, "compat", "--interval", "0", *mode) as worker:
        assert worker.wait() == 0, worker.output()
    assert performed(raw_redis) == [
        {
            "runtime": "python",
            "pid": performed(raw_redis)[0]["pid"],
            "args": ["files/report.pdf", {"size": 42}, 2**70, 1.5],
        }
    ]
    assert raw_redis.get("resque:stat:processed") == b"1"
    assert sorted(raw_redis.keys("resque:*")) == [
        b"resque:pruning_dead_workers_in_progress",
        b"resque:queues",
        b"resque:stat:processed",
    ]


@pytest.mark.parametrize("mode", FORK_MODES)
def test_failure_record_is_rubys(redis_url: str, raw_redis: redis.Redis, mode: list[str]) -> None:
    Resque.from_url(redis_url).enqueue_to("compat", "Failing", 1)
    with PythonWorker(redis_url, "compat", "--interval", "0", *mode) as worker:
        assert worker.wait() == 0, worker.output()
        worker_id = f"{_host()}:{worker.pid}:compat"
    [entry] = raw_redis.lrange("resque:failed", 0, -1)
    record = json.loads(entry)
    assert list(record) == [
        "failed_at",
        "payload",
        "exception",
        "error",
        "backtrace",
        "worker",
        "queue",
    ]
    assert record["payload"] == {"class": "Failing", "args": [1]}
    assert (record["exception"], record["error"]) == ("RuntimeError", "boom")
    assert record["worker"] == worker_id and record["queue"] == "compat"
    assert record["backtrace"] and all(":in `" in line for line in record["backtrace"])
    assert "resque_compat" not in " ".join(record["backtrace"])
    assert raw_redis.get("resque:stat:failed") == b"1"
    assert raw_redis.get("resque:stat:processed") == b"1"


BAD_INPUTS = [
    pytest.param(b'{"class":"RecordArgs","args":[1,', "PayloadError", id="malformed-json"),
    pytest.param(b'{"class":"NoSuchJob","args":[1]}', "UnknownJobError", id="unknown-class"),
    pytest.param(b'{"class":"ArityJob","args":[1,2]}', "TypeError", id="wrong-arity"),
    pytest.param(b'{"class":"RecordArgs","args":"x"}', "PayloadError", id="args-not-list"),
    pytest.param(b'{"class":"RecordArgs","args":["\xff\xfe"]}', "PayloadError", id="invalid-utf8"),
    pytest.param(b"[1,2]", "PayloadError", id="not-an-object"),
    pytest.param(
        b'{"class":"os.system","args":["touch /tmp/pwned"]}', "UnknownJobError", id="hostile-class"
    ),
]


@pytest.mark.parametrize("mode", FORK_MODES)
@pytest.mark.parametrize(("raw", "exception"), BAD_INPUTS)
def test_bad_input_is_kept_and_the_worker_goes_on(
    redis_url: str, raw_redis: redis.Redis, raw: bytes, exception: str, mode: list[str]
) -> None:
    raw_redis.sadd("resque:queues", "compat")
    raw_redis.rpush("resque:queue:compat", raw, b'{"class":"RecordArgs","args":["after"]}')
    with PythonWorker(redis_url, "compat", "--interval", "0", *mode) as worker:
        assert worker.wait() == 0, worker.output()
    assert [p["args"] for p in performed(raw_redis)] == [["after"]]
    [entry] = raw_redis.lrange("resque:failed", 0, -1)
    record = json.loads(entry)
    assert record["exception"] == exception
    assert record["error"]
    kept = record["payload"]
    if exception == "PayloadError":  # kept whole in a wrapper Ruby's Failure.requeue can read
        assert kept["class"] == "ResqueCompat::UnreadablePayload"
        assert kept["args"] == [
            raw.decode("utf-8", "backslashreplace"),
            base64.b64encode(raw).decode(),
        ]
    else:
        assert json.dumps(kept, separators=(",", ":")).encode() == raw


def test_killed_child_is_a_dirty_exit(redis_url: str, raw_redis: redis.Redis) -> None:
    Resque.from_url(redis_url).enqueue_to("file_serve", "KilledJob")
    with PythonWorker(redis_url, "file_serve", "--interval", "0") as worker:
        assert worker.wait() == 0, worker.output()
    [record] = failures(raw_redis)
    assert record["exception"] == "Resque::DirtyExit"
    assert record["error"].startswith("Child process received unhandled signal pid ")
    assert record["error"].endswith(" SIGKILL (signal 9)")
    assert record["backtrace"] == []
    assert raw_redis.get("resque:stat:failed") is None  # as Ruby: no failed counter here
    assert raw_redis.get("resque:stat:processed") == b"1"


def test_mid_job_state_and_titles(redis_url: str, raw_redis: redis.Redis) -> None:
    Resque.from_url(redis_url).enqueue_to("compat", "Slow", 2, "x")
    with PythonWorker(redis_url, "compat", "--interval", "0") as worker:
        worker_id = worker.wait_registered()
        wait_for(lambda: raw_redis.get(f"resque:worker:{worker_id}"), what="worker:<id>")
        record = json.loads(raw_redis.get(f"resque:worker:{worker_id}") or b"")
        assert list(record) == ["queue", "run_at", "payload"]
        assert record["payload"] == {"class": "Slow", "args": [2, "x"]}
        assert record["run_at"].endswith("Z")
        started = text(raw_redis.get(f"resque:worker:{worker_id}:started"))
        assert started[4] == "-" and started[-5] in "+-"
        heartbeat = text(raw_redis.hget("resque:workers:heartbeat", worker_id))
        assert heartbeat[-6] in "+-"
        wait_for(lambda: "Forked" in proc_title(worker.pid), what="Forked title")
        assert proc_title(worker.pid).startswith("resque-3.0.0: Forked ")
        assert worker.wait() == 0


def test_atomic_reserve_survives_sigkill_of_the_worker(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """Ruby loses a job killed between LPOP and SET; ours is always in Redis."""
    Resque.from_url(redis_url).enqueue_to("compat", "Slow", 30)
    with PythonWorker(redis_url, "compat", "--no-fork") as worker:
        worker_id = worker.wait_registered()
        wait_for(lambda: raw_redis.get(f"resque:worker:{worker_id}"), what="the job to start")
        worker.stop()
    assert raw_redis.llen("resque:queue:compat") == 0
    assert raw_redis.get(f"resque:worker:{worker_id}")  # the job is still recorded
    raw_redis.delete("resque:pruning_dead_workers_in_progress")  # as after its 60 s expiry
    with PythonWorker(redis_url, "compat", "--interval", "0") as pruner:
        assert pruner.wait() == 0, pruner.output()
    [record] = failures(raw_redis)
    assert record["exception"] == "Resque::DirtyExit"
    assert record["error"] == "Job still being processed"
    assert record["payload"] == {"class": "Slow", "args": [30]}
    assert worker_id.encode() not in raw_redis.smembers("resque:workers")


def test_quit_lets_the_job_finish(redis_url: str, raw_redis: redis.Redis) -> None:
    Resque.from_url(redis_url).enqueue_to("compat", "Slow", 1, "q")
    with PythonWorker(redis_url, "compat") as worker:
        worker_id = worker.wait_registered()
        wait_for(lambda: raw_redis.get(f"resque:worker:{worker_id}"), what="the job to start")
        worker.signal(signal.SIGQUIT)
        assert worker.wait() == 0, worker.output()
    assert [p["args"] for p in performed(raw_redis)] == [[1, "q"]]
    assert failures(raw_redis) == []
    assert raw_redis.smembers("resque:workers") == set()


def test_term_kills_the_job_as_a_dirty_exit(redis_url: str, raw_redis: redis.Redis) -> None:
    Resque.from_url(redis_url).enqueue_to("compat", "Slow", 30)
    with PythonWorker(redis_url, "compat") as worker:
        worker_id = worker.wait_registered()
        wait_for(lambda: raw_redis.get(f"resque:worker:{worker_id}"), what="the job to start")
        worker.signal(signal.SIGTERM)
        assert worker.wait() == 0, worker.output()
    [record] = failures(raw_redis)
    assert record["exception"] == "Resque::DirtyExit"
    assert "SIGKILL" in record["error"]
    assert performed(raw_redis) == []


def test_term_child_gives_the_job_a_term_exception(redis_url: str, raw_redis: redis.Redis) -> None:
    Resque.from_url(redis_url).enqueue_to("compat", "Slow", 30)
    with PythonWorker(redis_url, "compat", "--term-child", "--term-timeout", "5") as worker:
        worker_id = worker.wait_registered()
        wait_for(lambda: raw_redis.get(f"resque:worker:{worker_id}"), what="the job to start")
        worker.signal(signal.SIGTERM)
        assert worker.wait() == 0, worker.output()
    [record] = failures(raw_redis)
    assert (record["exception"], record["error"]) == ("Resque::TermException", "SIGTERM")


def test_term_child_without_fork_raises_term_exception_in_the_job(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """Ruby's shutdown! raises Resque::TermException in the job when it does not fork."""
    Resque.from_url(redis_url).enqueue_to("compat", "Slow", 30)
    with PythonWorker(redis_url, "compat", "--no-fork", "--term-child") as worker:
        worker_id = worker.wait_registered()
        wait_for(lambda: raw_redis.get(f"resque:worker:{worker_id}"), what="the job to start")
        worker.signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0, worker.output()
    [record] = failures(raw_redis)
    assert (record["exception"], record["error"]) == ("Resque::TermException", "SIGTERM")
    assert record["backtrace"] and record["payload"] == {"class": "Slow", "args": [30]}
    assert raw_redis.get("resque:stat:failed") == b"1"
    assert raw_redis.get("resque:stat:processed") == b"1"
    assert performed(raw_redis) == [] and raw_redis.smembers("resque:workers") == set()


def test_term_without_fork_or_term_child_lets_the_job_end(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    Resque.from_url(redis_url).enqueue_to("compat", "Slow", 1, "end")
    with PythonWorker(redis_url, "compat", "--no-fork") as worker:
        worker_id = worker.wait_registered()
        wait_for(lambda: raw_redis.get(f"resque:worker:{worker_id}"), what="the job to start")
        worker.signal(signal.SIGTERM)
        assert worker.wait() == 0, worker.output()
    assert [p["args"] for p in performed(raw_redis)] == [[1, "end"]]
    assert failures(raw_redis) == []


def test_usr2_pauses_and_cont_resumes(redis_url: str, raw_redis: redis.Redis) -> None:
    client = Resque.from_url(redis_url)
    with PythonWorker(redis_url, "compat", "--interval", "1") as worker:
        worker.wait_registered()
        worker.signal(signal.SIGUSR2)
        wait_for(lambda: proc_title(worker.pid).endswith("Paused"), what="Paused title")
        client.enqueue_to("compat", "RecordArgs", "while paused")
        with pytest.raises(AssertionError):
            wait_for(lambda: performed(raw_redis), timeout=1.5)
        worker.signal(signal.SIGCONT)
        wait_for(lambda: performed(raw_redis), what="the job after CONT")
        worker.signal(signal.SIGQUIT)
        assert worker.wait() == 0


@pytest.mark.parametrize("value", ["true", " True\n", "TRUE"])
def test_pause_all_workers_key(redis_url: str, raw_redis: redis.Redis, value: str) -> None:
    raw_redis.set("resque:pause-all-workers", value)
    Resque.from_url(redis_url).enqueue_to("compat", "RecordArgs", "held")
    with PythonWorker(redis_url, "compat", "--interval", "1") as worker:
        worker.wait_registered()
        wait_for(lambda: proc_title(worker.pid).endswith("Paused"), what="Paused title")
        assert raw_redis.llen("resque:queue:compat") == 1
        raw_redis.set("resque:pause-all-workers", "yes")
        wait_for(lambda: performed(raw_redis), what="the job after unpausing")
        worker.signal(signal.SIGQUIT)
        assert worker.wait() == 0


def test_idle_worker_picks_up_without_waiting_out_the_interval(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    with PythonWorker(redis_url, "compat", "--interval", "60") as worker:
        worker.wait_registered()
        wait_for(lambda: "Waiting for compat" in proc_title(worker.pid), what="idle title")
        Resque.from_url(redis_url).enqueue_to("compat", "RecordArgs", "now")
        wait_for(lambda: performed(raw_redis), timeout=5, what="pickup well before 60 s")
        worker.signal(signal.SIGQUIT)
        assert worker.wait(timeout=10) == 0


def test_before_perform_dont_perform_skips(redis_url: str, raw_redis: redis.Redis) -> None:
    Resque.from_url(redis_url).enqueue_to("compat", "Skipped", 1)
    with PythonWorker(redis_url, "compat", "--interval", "0") as worker:
        assert worker.wait() == 0
    assert performed(raw_redis) == [] and failures(raw_redis) == []
    assert raw_redis.get("resque:stat:processed") == b"1"


def test_queue_priority_and_globs(redis_url: str, raw_redis: redis.Redis) -> None:
    client = Resque.from_url(redis_url)
    for queue in ["alpha", "low", "zebra", "critical", "file_b", "Beta"]:
        client.enqueue_to(queue, "RecordArgs", queue)
    with PythonWorker(redis_url, "critical,*,!low", "--interval", "0") as worker:
        assert worker.wait() == 0, worker.output()
    order = [p["args"][0] for p in performed(raw_redis)]
    assert order == ["critical", "Beta", "alpha", "file_b", "zebra"]
    assert raw_redis.llen("resque:queue:low") == 1


@pytest.mark.parametrize("queues", ["*", "q*", "*,!old"])
def test_a_busy_worker_resolves_its_queue_patterns_on_every_reserve(
    redis_url: str, raw_redis: redis.Redis, queues: str
) -> None:
    """Ruby resolves ``*``, globs and ``!skip`` on every reserve: a job on a new queue that
    sorts first runs next, not after the backlog of the queue already known."""
    client = Resque.from_url(redis_url)
    client.enqueue_many("qold", "Noop", [[i] for i in range(3000)])
    client.enqueue_many("old", "Noop", [[i] for i in range(10)])
    with PythonWorker(redis_url, queues, "--interval", "0") as worker:
        wait_for(lambda: int(raw_redis.get("resque:stat:processed") or 0) >= 20, what="busy")
        client.enqueue_to("qa_new", "RecordArgs", "new queue")
        wait_for(lambda: performed(raw_redis), what="the new queue's job")
        left = raw_redis.llen("resque:queue:qold")
        worker.signal(signal.SIGQUIT)
        assert worker.wait() == 0, worker.output()
    assert left > 1000, f"the new queue's job ran after {3000 - left} jobs of the old queue"


def test_queue_selector_matches_ruby() -> None:
    known = ["alpha", "low", "zebra", "critical", "file_b", "high", "file_a", "Beta", "files"]
    assert QueueSelector.parse("critical,*,!low").resolve(known) == [
        "critical",
        "Beta",
        "alpha",
        "file_a",
        "file_b",
        "files",
        "high",
        "zebra",
    ]
    assert QueueSelector.parse("file_*").resolve(known) == ["file_a", "file_b"]
    static = QueueSelector.parse("unlisted,high,nonexistent")
    assert not static.dynamic and static.resolve(known) == ["unlisted", "high", "nonexistent"]
    assert QueueSelector.parse("critical,*,!low").label == "critical,*"


def _host() -> str:
    import socket

    return socket.gethostname()


def session_processes(session_id: int) -> list[int]:
    """Pids of live processes in a session (the worker runs in one of its own)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session_id and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def test_each_job_runs_in_a_child_of_its_own(redis_url: str, raw_redis: redis.Redis) -> None:
    """Children are forked ahead of their job (a standby), still one child per job."""
    Resque.from_url(redis_url).enqueue_many("compat", "RecordArgs", [[1], [2], [3]])
    with PythonWorker(redis_url, "compat", "--interval", "0") as worker:
        assert worker.wait() == 0, worker.output()
        pids = [entry["pid"] for entry in performed(raw_redis)]
        assert len(set(pids)) == 3 and worker.pid not in pids
        wait_for(lambda: session_processes(worker.pid) == [], what="no child left behind")


def test_a_standby_child_leaves_with_its_worker(redis_url: str, raw_redis: redis.Redis) -> None:
    Resque.from_url(redis_url).enqueue_to("compat", "RecordArgs", "first")
    with PythonWorker(redis_url, "compat") as worker:
        wait_for(lambda: performed(raw_redis), what="the first job")
        # The worker, its fork server, and the standby child the server forked.
        wait_for(lambda: len(session_processes(worker.pid)) == 3, what="a standby child")
        worker.signal(signal.SIGKILL)
        wait_for(lambda: session_processes(worker.pid) == [], what="the standby to exit")
