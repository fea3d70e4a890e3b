"""``resque-compat top`` run as an operator runs it, against real Redis and real workers.

The fleets seen are Python workers (a separate ``resque-compat work`` process mid-job),
Ruby workers (keys planted with the exact bytes Ruby Resque wrote in the recordings, and
real Ruby Resque workers where Ruby is installed), and both at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from compat_tests.reference import dump_keyspace, load
from compat_tests.runtimes import requires_node, requires_ruby, start_node, start_ruby
from compat_tests.scheduler_rig import lock_holder, start_python_scheduler, wait_until
from resque_compat import Resque
from resque_compat.devserver import free_port
from tests.workerproc import REPO_ROOT, PythonWorker, text, wait_for

HOST = socket.gethostname()
READ_COMMANDS = {"time", "smembers", "llen", "mget", "hgetall", "zcard", "zrange", "get", "ttl"}
"""Reads every snapshot sends (so the write check below is known to have seen them)."""


def cli_env() -> dict[str, str]:
    """Our environment without Redis/namespace settings a developer's shell may carry."""
    unset = {"REDIS_URL", "RESQUE_NAMESPACE", "RESQUE_SCHEDULER_MASTER_LOCK_PREFIX"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def run_top(redis_url: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "resque_compat", "--redis", redis_url, "top", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        env=cli_env(),
        check=False,
    )


def top_once(redis_url: str, *args: str) -> str:
    done = run_top(redis_url, "--once", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def utc(seconds_ago: float, layout: str) -> str:
    return time.strftime(layout, time.gmtime(time.time() - seconds_ago))


def wait_until_working(raw_redis: redis.Redis, worker_id: str, class_name: str) -> None:
    def busy() -> bool:
        record = raw_redis.get(f"resque:worker:{worker_id}")
        return record is not None and json.loads(record)["payload"]["class"] == class_name

    wait_for(busy, 20, f"{worker_id} to run {class_name}")


def ruby_worker_id(raw_redis: redis.Redis, pid: int) -> str:
    def mine() -> list[str]:
        members = (text(m) for m in raw_redis.smembers("resque:workers"))
        return [m for m in members if m.split(":")[1] == str(pid)]

    wait_for(mine, 30, "the Ruby worker to register")
    [worker_id] = mine()
    return worker_id


def written_by(raw_redis: redis.Redis, commands: list[str]) -> list[str]:
    """The commands among ``commands`` that Redis flags as writes (COMMAND INFO)."""
    infos = raw_redis.execute_command("COMMAND", "INFO", *commands)
    assert len(infos) == len(commands), infos
    return sorted(name for name, info in infos.items() if "write" in info["flags"])


# --- a Python worker ------------------------------------------------------------------------


def test_once_shows_a_python_worker_mid_job_and_its_failure(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    client = Resque.from_url(redis_url)
    client.enqueue_to("compat", "Failing", 1)
    client.enqueue_to("compat", "Slow", 20, "files/report.pdf")
    client.enqueue_many("other", "Noop", [[i] for i in range(7)])
    with PythonWorker(redis_url, "compat") as worker:
        worker_id = worker.wait_registered()
        wait_until_working(raw_redis, worker_id, "Slow")
        frame = top_once(redis_url)
    lines = frame.splitlines()
    assert lines[0].startswith(f"resque-compat top  {redis_url}  namespace 'resque'  ")
    assert lines[1] == (
        "processed 1 (-)  failed 1 (-)  pending 7  workers 1 (1 working, 0 stale)  failed list 1"
    )
    assert re.search(r"^compat +0 +-$", frame, re.M)
    assert re.search(r"^other +7 +-$", frame, re.M)
    row = (
        rf"^{re.escape(HOST)} +{worker.pid} +compat +working +"
        r'compat: Slow \[20,"files/report.pdf"\] +\d+s +\d+s +\d+s +1 +1$'
    )
    assert re.search(row, frame, re.M), frame
    assert "RECENT FAILURES (failed 1)" in frame
    assert re.search(
        rf"^\d{{4}}/\d\d/\d\d \d\d:\d\d:\d\d \w+ +compat +Failing +RuntimeError: boom +"
        rf"{re.escape(worker_id)}$",
        frame,
        re.M,
    ), frame


def test_an_empty_redis_is_shown_as_such(redis_url: str) -> None:
    frame = top_once(redis_url)
    assert "processed 0 (-)  failed 0 (-)  pending 0  workers 0 (0 working, 0 stale)" in frame
    assert "QUEUES: none (the queues set is empty)" in frame
    assert "WORKERS: none registered" in frame
    assert "RECENT FAILURES (none)" in frame


# --- Ruby workers, planted with Ruby's own bytes -------------------------------------------


@pytest.fixture
def ruby_fleet(raw_redis: redis.Redis) -> Iterator[str]:
    """The keys of web_ui_reads' Ruby worker mid-job, times moved to now; plus an idle
    ``*`` worker on another host whose heartbeat is old enough for Ruby to prune it."""
    raw = load("web_ui_reads").raw_examples
    busy = "vm:24354:file_serve"
    record = json.loads(raw["worker_payload_value"])
    payload_bytes = raw["worker_payload_value"].replace(
        record["run_at"], utc(75, "%Y-%m-%dT%H:%M:%SZ")
    )
    idle = "ruby-box:777:critical,*"
    raw_redis.sadd("resque:workers", busy, idle)
    raw_redis.set(f"resque:worker:{busy}", payload_bytes)
    raw_redis.set(f"resque:worker:{busy}:started", utc(3 * 3600 + 65, "%Y-%m-%d %H:%M:%S +0000"))
    raw_redis.set(f"resque:worker:{idle}:started", utc(2 * 86400, "%Y-%m-%d %H:%M:%S +0000"))
    raw_redis.hset(
        "resque:workers:heartbeat",
        mapping={
            busy: utc(10, "%Y-%m-%dT%H:%M:%S+00:00"),
            idle: utc(400, "%Y-%m-%dT%H:%M:%S+00:00"),
        },
    )
    raw_redis.set(f"resque:stat:processed:{busy}", 41)
    raw_redis.set(f"resque:stat:failed:{busy}", 2)
    raw_redis.set("resque:stat:processed", 1234)
    raw_redis.set("resque:stat:failed", 56)
    raw_redis.sadd("resque:queues", "file_serve", "critical")
    raw_redis.rpush("resque:queue:file_serve", '{"class":"FileServe","args":["waiting"]}')
    raw_redis.rpush("resque:failed", raw["failed_entry"])
    yield busy


def test_once_shows_ruby_workers_with_no_python_worker_anywhere(
    redis_url: str, raw_redis: redis.Redis, ruby_fleet: str
) -> None:
    before = dump_keyspace(raw_redis)
    raw_redis.config_resetstat()
    frame = top_once(redis_url)
    stats = raw_redis.info("commandstats")
    sent = sorted(name.removeprefix("cmdstat_") for name in stats if "|" not in name)
    assert dump_keyspace(raw_redis) == before, "top must not write"
    assert set(sent) >= READ_COMMANDS
    assert written_by(raw_redis, sent) == []

    assert "processed 1234 (-)  failed 56 (-)  pending 1  workers 2 (1 working, 1 stale)" in frame
    assert re.search(r"^critical +0 +-$", frame, re.M)
    assert re.search(r"^file_serve +1 +-$", frame, re.M)
    busy = (
        r'^vm +24354 +file_serve +working +file_serve: FileServe \["busy"\] +'
        r"1m[12]\ds +1\ds +3h01m +41 +2$"
    )
    assert re.search(busy, frame, re.M), frame
    idle = r"^ruby-box +777 +critical,\* +idle +6m[45]\ds STALE +2d00h +0 +0$"
    assert re.search(idle, frame, re.M), frame
    assert re.search(
        r"^2026/11/28 07:18:32 UTC +file_serve +Boom +RuntimeError: boom +vm:24354:file_serve$",
        frame,
        re.M,
    ), frame


def test_ruby_style_location_and_pause_and_multi_queue_failures(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """``host:port:db/namespace`` as Ruby spells it; RedisMultiQueue lists merged by time."""
    raw_redis.set("myapp:pause-all-workers", " True\n")
    raw_redis.sadd("myapp:failed_queues", "low_failed", "high_failed")
    for list_name, stamp, klass in [
        ("low_failed", "2026/01/02 10:00:00 UTC", "Older"),
        ("high_failed", "2026/01/02 11:00:00 UTC", "Newer"),
        ("low_failed", "2026/01/02 09:00:00 UTC", "Oldest"),
    ]:
        record = {
            "failed_at": stamp,
            "payload": {"class": klass, "args": []},
            "exception": "ZeroDivisionError",
            "error": "divided by 0",
            "backtrace": [],
            "worker": "h:1:low",
            "queue": list_name.removesuffix("_failed"),
        }
        raw_redis.rpush(f"myapp:{list_name}", json.dumps(record))
    port = redis_url.split(":")[2].split("/")[0]
    frame = top_once(f"127.0.0.1:{port}:0/myapp", "--failures", "2")
    assert "namespace 'myapp'" in frame.splitlines()[0]
    assert frame.splitlines()[0].endswith("PAUSED (pause-all-workers)")
    assert "failed list 3" in frame
    assert "RECENT FAILURES (high_failed 1, low_failed 2)" in frame
    classes = re.findall(r"^2026/01/02 \S+ UTC +\w+ +(\w+) ", frame, re.M)
    assert classes == ["Newer", "Older"]


# --- delayed jobs and the scheduler -------------------------------------------------------

DELAYED_LINE = re.compile(
    r"delayed (?P<jobs>\d+) \((?P<timestamps>\d+) timestamps\)"
    r"(  next due (?P<due>[\d:\- ]+ UTC) \((?P<when>in \S+|OVERDUE \S+)\))?"
    r"  scheduler master(: none| (?P<master>\S+)( \(lock ttl (?P<ttl>\d+)s\))?)"
)


def delayed_line(frame: str) -> re.Match[str]:
    """The third line of a frame, the delayed jobs and the master, in the only shape it has."""
    found = DELAYED_LINE.fullmatch(frame.splitlines()[2])
    assert found is not None, frame
    return found


def plant_ruby_delayed(raw_redis: redis.Redis, due: int, payload: bytes) -> None:
    """What Ruby's ``delayed_push`` leaves for a job due at ``due``."""
    raw_redis.rpush(f"resque:delayed:{due}", payload)
    raw_redis.sadd(b"resque:timestamps:" + payload, f"delayed:{due}")
    raw_redis.zadd("resque:delayed_queue_schedule", {str(due): due})


def test_once_shows_python_delayed_jobs_and_the_master_scheduler(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    at = int(time.time()) + 3600
    with Resque.from_url(redis_url) as client:
        client.enqueue_at_with_queue("compat", at, "RecordArgs", "first")
        client.enqueue_at_with_queue("compat", at, "RecordArgs", "second")
        client.enqueue_at_with_queue("compat", at + 60, "RecordArgs", "later")
    with start_python_scheduler(redis_url) as scheduler:
        holder = wait_until(lambda: lock_holder(raw_redis), 20, "the scheduler to be master")
        frame = top_once(redis_url)
    assert holder.endswith(f":{scheduler.pid}")
    line = delayed_line(frame)
    assert (line["jobs"], line["timestamps"]) == ("3", "2")
    assert line["due"] == time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))
    assert re.fullmatch(r"in (59m[0-5]\ds|1h00m)", line["when"]), frame
    assert line["master"] == holder
    assert 170 <= int(line["ttl"]) <= 180, frame


def test_once_shows_overdue_jobs_and_which_lock_holds_them_up(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """Ruby-delayed jobs left 125 s past due: by no scheduler, then by a stuck master."""
    due = int(time.time()) - 125
    plant_ruby_delayed(raw_redis, due, b'{"class":"Archive","args":["a.pdf",42],"queue":"files"}')
    plant_ruby_delayed(raw_redis, due + 3600, b'{"class":"Archive","args":[],"queue":"files"}')
    line = delayed_line(top_once(redis_url))
    assert (line["jobs"], line["timestamps"], line["master"]) == ("2", "2", None)
    assert re.fullmatch(r"OVERDUE 2m0[5-9]s", line["when"]), line[0]
    assert line[0].endswith("  scheduler master: none")

    raw_redis.set("resque:resque:resque_scheduler_master_lock", "ruby-box:4242", ex=30)
    raw_redis.set("resque:resque:blue:resque_scheduler_master_lock", "blue-box:7")
    line = delayed_line(top_once(redis_url))
    assert line["master"] == "ruby-box:4242" and 25 <= int(line["ttl"]) <= 30, line[0]
    line = delayed_line(top_once(redis_url, "--scheduler-lock-prefix", "blue"))
    assert line["master"] == "blue-box:7" and line["ttl"] is None, line[0]


def test_once_counts_every_job_of_a_long_schedule(redis_url: str) -> None:
    """More timestamps than one counting round trip takes, some holding several jobs."""
    start = int(time.time()) + 600
    entries: list[tuple[int, list[object]]] = [(start + i, [i]) for i in range(2345)]
    entries += [(start + i, [i, "again"]) for i in range(0, 2345, 7)]
    with Resque.from_url(redis_url) as client:
        assert client.enqueue_at_many("RecordArgs", entries, queue="compat") == len(entries)
    line = delayed_line(top_once(redis_url))
    assert (line["jobs"], line["timestamps"]) == (str(2345 + 335), "2345"), line[0]
    assert re.fullmatch(r"in (9m[5]\ds|10m00s)", line["when"]), line[0]


def test_an_empty_schedule_shows_no_due_time(redis_url: str) -> None:
    assert top_once(redis_url).splitlines()[2] == "delayed 0 (0 timestamps)  scheduler master: none"


# --- real Ruby Resque workers -------------------------------------------------------------


@requires_ruby
def test_once_shows_real_ruby_and_python_workers_side_by_side(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    client = Resque.from_url(redis_url)
    client.enqueue_to("ruby_only", "Failing", 2)
    client.enqueue_to("ruby_only", "Slow", 20)
    client.enqueue_to("compat", "Slow", 20)
    env = {"QUEUE": "ruby_only", "INTERVAL": "0.1"}
    with start_ruby("worker", redis_url, env=env) as ruby, PythonWorker(redis_url, "compat") as py:
        ruby_id = ruby_worker_id(raw_redis, ruby.pid)
        python_id = py.wait_registered()
        wait_until_working(raw_redis, ruby_id, "Slow")
        wait_until_working(raw_redis, python_id, "Slow")
        frame = top_once(redis_url)
    assert "workers 2 (2 working, 0 stale)" in frame
    assert "processed 1 (-)  failed 1 (-)" in frame
    ruby_row = (
        rf"^{re.escape(HOST)} +{ruby.pid} +ruby_only +working +ruby_only: Slow \[20\] +"
        r"\d+s +\d+s +\d+s +1 +1$"
    )
    python_row = rf"^{re.escape(HOST)} +{py.pid} +compat +working +compat: Slow \[20\] +\d+s"
    assert re.search(ruby_row, frame, re.M), frame
    assert re.search(python_row, frame, re.M), frame
    assert re.search(rf"ruby_only +Failing +RuntimeError: boom +{re.escape(ruby_id)}$", frame, re.M)


@requires_node
def test_once_shows_a_node_resque_worker_mid_job(redis_url: str, raw_redis: redis.Redis) -> None:
    """node-resque writes ``started`` as epoch seconds and ``run_at`` as JavaScript's Date."""
    Resque.from_url(redis_url).enqueue_to("node_only", "Slow", 20)
    with start_node("worker.js", redis_url, "node_only", "--idle-exit", "30") as node:
        [worker_id] = wait_for_members(raw_redis, 1)
        wait_until_working(raw_redis, worker_id, "Slow")
        frame = top_once(redis_url)
        node.kill_now()  # a graceful stop would wait for the 20 s job
    assert worker_id == f"{HOST}:{node.pid}:node_only"
    job = r"node_only: Slow \[20\]"
    row = rf"^{re.escape(HOST)} +{node.pid} +node_only +working +{job} +\d+s +- +\d+s"
    assert re.search(row, frame, re.M), frame


def wait_for_members(raw_redis: redis.Redis, count: int) -> list[str]:
    def members() -> list[str]:
        return sorted(text(m) for m in raw_redis.smembers("resque:workers"))

    wait_for(lambda: len(members()) == count, 30, f"{count} registered workers")
    return members()


# --- frames over time ---------------------------------------------------------------------


def test_piped_output_prints_plain_frames_with_rates(redis_url: str) -> None:
    """Not a terminal, so plain frames (no ``--batch`` needed); rates from the second on."""
    stop = threading.Event()

    def produce() -> None:
        client = redis.Redis.from_url(redis_url)
        while not stop.is_set():
            pipe = client.pipeline()
            pipe.sadd("resque:queues", "busy")
            pipe.rpush("resque:queue:busy", '{"class":"Noop","args":[]}')
            pipe.incrby("resque:stat:processed", 2)
            pipe.execute()
            time.sleep(0.01)
        client.close()

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        done = run_top(redis_url, "--interval", "0.4", "-n", "3")
    finally:
        stop.set()
        producer.join()
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout
    frames = done.stdout.split("\n\nresque-compat top")
    assert len(frames) == 3
    first_rate = re.search(r"^busy +\d+ +(\S+)$", frames[0], re.M)
    assert first_rate is not None and first_rate[1] == "-"
    for frame in frames[1:]:
        queue_rate = re.search(r"^busy +\d+ +\+(\d+\.\d)/s$", frame, re.M)
        processed_rate = re.search(r"processed \d+ \((\d+\.\d)/s\)", frame)
        assert queue_rate is not None and float(queue_rate[1]) > 5, frame
        assert processed_rate is not None and float(processed_rate[1]) > 10, frame
        assert "failed 0 (0.0/s)" in frame


def test_live_view_on_a_terminal_redraws_and_quits_on_q(redis_url: str) -> None:
    Resque.from_url(redis_url).enqueue_to("compat", "Noop")
    pid, fd = pty.fork()
    if pid == 0:  # the child: top on the pty, as in a terminal
        os.environ["TERM"] = "xterm"
        os.execve(
            sys.executable,
            [sys.executable, "-m", "resque_compat", "--redis", redis_url, "top", "-i", "0.2"],
            {**cli_env(), "TERM": "xterm"},
        )
    exit_code: int | None = None
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 140, 0, 0))
        screen = read_pty_until(fd, lambda out: b"0.0/s" in out, 15)
        assert b"\x1b[?1049h" in screen, "curses switches to the alternate screen"
        for needle in (b"resque-compat top", b"QUEUE", b"compat", b"q quits"):
            assert needle in screen
        os.write(fd, b"q")
        read_pty_until(fd, lambda out: False, 5)
        exit_code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    finally:
        os.close(fd)
        if exit_code is None:  # still ours and unreaped: stop it
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    assert exit_code == 0


def read_pty_until(fd: int, enough: Callable[[bytes], bool], timeout: float) -> bytes:
    """Everything the pty shows until ``enough(output)`` holds, the child exits, or timeout."""
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                return out
            if not chunk:
                return out
            out += chunk
        if enough(out):
            return out
    return out


def test_once_fails_clearly_when_redis_is_unreachable() -> None:
    done = run_top(f"redis://127.0.0.1:{free_port()}/0", "--once")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "cannot read Redis at redis://127.0.0.1:" in done.stderr
    assert "Traceback" not in done.stderr
