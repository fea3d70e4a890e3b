"""Redis going away and coming back, or answering slowly, while workers run and producers
enqueue: the workers carry on, producers see a clear error, and no job is lost or left
marked as working."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from resque_compat import Resque, timefmt
from resque_compat.devserver import RedisServerProcess
from resque_compat.keys import Keys
from tests.chaos.jobs import CHAOS_QUEUE, RAN_KEY
from tests.chaos.procs import WorkerProcess, worker_env
from tests.workerproc import text, wait_for

KEYS = Keys()
WORKER_ARGS = ["--interval", "1", "--heartbeat-interval", "1"]
MODES = {"fork": [], "nofork": ["--no-fork"]}


@pytest.fixture
def aof_redis() -> Iterator[RedisServerProcess]:
    """A private redis-server persisting to an append-only file, as production runs it,
    on a fixed port so that it can be stopped and started again at the same address."""
    server = RedisServerProcess(
        extra_args=["--appendonly", "yes", "--enable-debug-command", "local"]
    )
    server.start()
    try:
        yield server
    finally:
        server.close()


class Workers:
    """One forking and one non-forking Python worker on the chaos queue."""

    def __init__(self, url: str, logs: Path) -> None:
        env = worker_env(url)
        self.procs = {
            mode: WorkerProcess.python(CHAOS_QUEUE, [*WORKER_ARGS, *args], env, logs / mode)
            for mode, args in MODES.items()
        }
        self.client = redis.Redis.from_url(url)
        try:
            wait_for(lambda: self.client.scard(KEYS.workers()) == 2, 20, "both to register")
        except BaseException:
            self.close()
            raise
        self.ids = sorted(text(m) for m in self.client.smembers(KEYS.workers()))

    def heartbeats(self) -> dict[str, float | None]:
        beats = self.client.hgetall(KEYS.heartbeats())
        return {text(k): timefmt.parse_heartbeat(text(v)) for k, v in beats.items()}

    def beat_since(self, moment: float) -> bool:
        beats = self.heartbeats()
        return all((beats.get(worker_id) or 0) >= moment for worker_id in self.ids)

    def quit(self) -> dict[str, str]:
        """QUIT both (finish the job, unregister, exit 0); their output by mode."""
        for proc in self.procs.values():
            proc.signal(signal.SIGQUIT)
        for proc in self.procs.values():
            assert proc.wait(30) == 0, proc.output()
        return {mode: proc.output() for mode, proc in self.procs.items()}

    def close(self) -> None:
        for proc in self.procs.values():
            proc.finish()
        self.client.close()


def server_time(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return seconds + micros / 1e6


class Producer(threading.Thread):
    """Enqueues ``count`` jobs, one every ``pause`` s, retrying each on a connection error."""

    def __init__(self, url: str, prefix: str, count: int, pause: float) -> None:
        super().__init__(daemon=True)
        self.url, self.prefix, self.count, self.pause = url, prefix, count, pause
        self.ids = [f"{prefix}-{n:04d}" for n in range(count)]
        self.connection_errors: list[redis.ConnectionError] = []
        self.other_errors: list[BaseException] = []

    def run(self) -> None:
        resque = Resque.from_url(self.url)
        try:
            for job_id in self.ids:
                self._enqueue(resque, job_id)
                time.sleep(self.pause)
        except BaseException as error:
            self.other_errors.append(error)
        finally:
            resque.close()

    def _enqueue(self, resque: Resque, job_id: str) -> None:
        while True:
            try:
                resque.enqueue_to(CHAOS_QUEUE, "ChaosJob", job_id, 10)
                return
            except redis.ConnectionError as error:
                self.connection_errors.append(error)
                time.sleep(0.1)


def ran(client: redis.Redis) -> set[str]:
    return {text(item) for item in client.lrange(RAN_KEY, 0, -1)}


def assert_nothing_left(url: str, expected: list[str]) -> None:
    """Every job ran, nothing failed, nothing queued, nobody registered or marked working."""
    with redis.Redis.from_url(url) as client:
        _assert_nothing_left(client, expected)


def _assert_nothing_left(client: redis.Redis, expected: list[str]) -> None:
    missing = sorted(set(expected) - ran(client))
    assert missing == [], f"{len(missing)} jobs never ran: {missing[:10]}"
    assert client.llen(KEYS.failed()) == 0, client.lrange(KEYS.failed(), 0, 3)
    assert client.llen(KEYS.queue(CHAOS_QUEUE)) == 0
    assert client.smembers(KEYS.workers()) == set()
    assert list(client.scan_iter(match=KEYS.worker("*"))) == []


def test_workers_and_producers_ride_out_a_redis_restart(
    aof_redis: RedisServerProcess, tmp_path: Path
) -> None:
    workers = Workers(aof_redis.url, tmp_path)
    client = workers.client
    try:
        producer = Producer(aof_redis.url, "outage", count=150, pause=0.04)
        producer.start()
        wait_for(lambda: len(ran(client)) >= 20, 20, "work before the outage")
        aof_redis.stop()
        time.sleep(3)
        aof_redis.start()
        restarted = server_time(client)
        producer.join(60)
        assert not producer.is_alive()
        wait_for(lambda: ran(client) >= set(producer.ids), 60, "every job to run")
        wait_for(lambda: workers.beat_since(restarted), 15, "heartbeats after the restart")
        outputs = workers.quit()
    finally:
        workers.close()
    assert producer.other_errors == []
    assert producer.connection_errors, "the producer never saw the outage"
    for mode, output in outputs.items():
        assert "Redis unavailable" in output or "heartbeat failed" in output, (mode, output)
        assert "Traceback" not in output, (mode, output)
    assert_nothing_left(aof_redis.url, producer.ids)


def test_a_slow_redis_breaks_nothing(aof_redis: RedisServerProcess, tmp_path: Path) -> None:
    workers = Workers(aof_redis.url, tmp_path)
    client = workers.client
    sleeper = redis.Redis.from_url(aof_redis.url)
    try:
        producer = Producer(aof_redis.url, "slow", count=150, pause=0.02)
        producer.start()
        wait_for(lambda: len(ran(client)) >= 10, 20, "work before the slowdown")
        for _ in range(6):
            sleeper.execute_command("DEBUG", "SLEEP", "0.5")
            time.sleep(0.2)
        producer.join(60)
        wait_for(lambda: ran(client) >= set(producer.ids), 60, "every job to run")
        recent = server_time(client)
        wait_for(lambda: workers.beat_since(recent - 0.5), 10, "fresh heartbeats")
        outputs = workers.quit()
    finally:
        sleeper.close()
        workers.close()
    assert producer.other_errors == [] and producer.connection_errors == []
    for mode, output in outputs.items():
        assert "Traceback" not in output and "ERROR" not in output, (mode, output)
    assert_nothing_left(aof_redis.url, producer.ids)


def test_a_paused_wildcard_worker_rides_out_a_redis_restart(
    aof_redis: RedisServerProcess, tmp_path: Path
) -> None:
    client = redis.Redis.from_url(aof_redis.url)
    client.sadd(KEYS.queues(), CHAOS_QUEUE)
    client.set(KEYS.pause_all(), "true")
    worker = WorkerProcess.python("*", WORKER_ARGS, worker_env(aof_redis.url), tmp_path / "w")
    try:
        wait_for(lambda: client.scard(KEYS.workers()) == 1, 20, "the worker to register")
        aof_redis.stop()
        time.sleep(3)
        aof_redis.start()
        client.delete(KEYS.pause_all())
        with Resque.from_url(aof_redis.url) as resque:
            resque.enqueue_to(CHAOS_QUEUE, "ChaosJob", "after-outage", 0)
        wait_for(lambda: not worker.alive() or ran(client), 30, "the job or the worker's end")
        assert worker.alive(), worker.output()
        assert ran(client) == {"after-outage"}
    finally:
        worker.finish()
        client.close()
