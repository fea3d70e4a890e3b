"""Resque over Redis Sentinel through a real failover: what survives, what is lost, how fast.

A master, a replica and three Sentinels (``tests/sentinelrig.py``); two Python workers, a Ruby
worker (redis-rb's own ``sentinels:`` option, ``ruby_fixtures/boot.rb``) and a Python producer,
all given the same ``redis+sentinel://`` URL. Jobs record that they ran in a separate ledger
Redis. The producer enqueues ``RecordArgs(n)`` for increasing ``n`` throughout; the test then
fails the master over and compares what was acknowledged with what ran, what failed and what
the replica held:

* planned (``SENTINEL FAILOVER`` as docs/operating.md prescribes): every acknowledged enqueue
  runs exactly once or is in a failure record;
* SIGKILL of the master with the replica behind: only writes the replica never received are
  lost, and the same with the producer's ``wait_replicas=1`` loses no acknowledged enqueue;
* ``SENTINEL FAILOVER`` alone: the old master stays writable for about ten seconds; Python
  clients leave it within a second (``resque_compat.sentinel.MasterSwitch``), the Ruby worker
  only when Sentinel demotes it. With ``wait_replicas=1`` too: ``RESQUE_COMPAT_SLOW=1``.

Each time, the workers and the producer must resume on the new master within 15 s of the
promotion and each live worker be registered once. The summaries printed (``-s``) are the
figures of docs/operating.md. redis-rb 4.8 lets ``READONLY`` and ``CannotConnectError`` out of
Resque's worker loop, so the Ruby worker is supervised (restarted when it exits).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis

from compat_tests.runtimes import requires_ruby
from resque_compat.aio import AsyncResque
from tests.failover import (
    RESUME_LIMIT,
    Producer,
    drain,
    failed_ids,
    fleet,
    ledger,
    registered,
    resume_times,
)
from tests.sentinelrig import SentinelRig
from tests.workerproc import PythonWorker

pytestmark = requires_ruby


@pytest.fixture
def rig() -> Iterator[SentinelRig]:
    with SentinelRig() as started:
        yield started


@dataclass
class Outcome:
    """What one failover did, in the terms the tests assert and docs/operating.md reports."""

    acked: set[int]
    refused: list[int]
    unconfirmed_after_promotion: list[int]
    ran: Counter[int]
    failed: list[int]
    promotion: float
    worker_resume: dict[str, float]
    producer_resume: float
    producer_longest_wait: float
    registered_after: list[str]
    ruby_exits: list[str]
    stale: list[str]
    replica_had: set[int] = field(default_factory=set)
    runtimes: dict[int, list[str]] = field(default_factory=dict)

    @property
    def lost(self) -> list[int]:
        return sorted(n for n in self.acked if self.ran[n] == 0 and n not in self.failed)

    @property
    def twice(self) -> list[int]:
        return sorted(n for n, count in self.ran.items() if count > 1)

    def summary(self) -> str:
        return (
            f"enqueued {len(self.acked)} acknowledged + {len(self.refused)} refused, "
            f"ran {sum(self.ran.values())} ({len(self.twice)} twice: {self.twice}, by "
            f"{dict(Counter('+'.join(sorted(self.runtimes[n])) for n in self.twice))}), "
            f"failed {len(self.failed)}, lost {len(self.lost)}: {self.lost}; "
            f"promotion {self.promotion:.2f}s after the trigger; resumed after promotion: "
            f"workers {self.worker_resume}, producer {self.producer_resume:.2f}s "
            f"(longest wait between acknowledgements {self.producer_longest_wait:.2f}s); "
            f"Ruby worker exits: {self.ruby_exits}, left registered until pruned: {self.stale}"
        )


def replica_snapshot(port: int) -> set[int]:
    """Every job id the replica holds, queued or in a worker's record, read right after the
    master died (nothing writes to it until it is promoted)."""
    with redis.Redis(port=port) as replica:
        held = [json.loads(raw) for raw in replica.lrange("resque:queue:compat", 0, -1)]
        for key in replica.scan_iter("resque:worker:*"):
            if not key.endswith(b":started") and replica.type(key) == b"string":
                held.append(json.loads(replica.get(key) or b"{}").get("payload", {}))
    return {int(p["args"][0]) for p in held if p.get("class") == "RecordArgs"}


def kill_master_with_replica_behind(rig: SentinelRig, workers: tuple[int, ...]) -> set[int]:
    """SIGKILL the master while the replica lags, and return what the replica had.

    On loopback a replica is never behind, so lag is made, as a network partition would: the
    replica is stopped (SIGSTOP) and the master drops its replication link (``CLIENT KILL TYPE
    replica``), then goes on acknowledging enqueues for 0.4 s that it cannot send; then the
    master is killed and the replica resumed. ``workers`` are stopped for those 0.4 s too:
    otherwise they run each enqueue within a millisecond, and whether any acknowledged job is
    still queued when the master dies (and so lost) is left to chance. (A Ruby worker stopped
    between its LPOP and its SET loses that job too, as Ruby's reserve can; the
    ``wait_replicas`` test, which asserts that nothing is lost, does not stop them.)
    """
    replica_pid = rig.replica.pid
    assert replica_pid is not None
    paused = [replica_pid, *workers]
    for pid in paused:
        os.kill(pid, signal.SIGSTOP)
    try:
        with rig.master_client() as master:
            master.execute_command("CLIENT", "KILL", "TYPE", "replica")
        time.sleep(0.4)
        rig.master.kill()
    finally:
        for pid in paused:
            os.kill(pid, signal.SIGCONT)
    with redis.Redis(port=rig.replica.port, decode_responses=True) as replica:
        rig.wait_for(
            lambda: replica.info("replication")["master_link_status"] == "down", 10, "the link down"
        )
    return replica_snapshot(rig.replica.port)


def planned_failover(rig: SentinelRig, old: int) -> float:
    """``SENTINEL FAILOVER`` the way docs/operating.md says for a planned switch.

    Sentinel promotes the replica at once but only reconfigures the old master about ten
    seconds later; meanwhile it is a writable master that connected clients keep using, and
    what they write there is dropped. So: pause writes on the master, let the replica catch
    up, fail over, make the old master a replica of the new one as soon as it is promoted,
    and unpause.
    """
    with redis.Redis(port=old) as master:
        master.execute_command("CLIENT", "PAUSE", 20_000, "WRITE")
        rig.wait_for(lambda: replica_caught_up(master), 10, "the replica to catch up")
        with rig.sentinels[0].client() as sentinel:
            sentinel.execute_command("SENTINEL", "FAILOVER", "mymaster")
        promoted = rig.wait_promoted(old)
        master.execute_command("REPLICAOF", "127.0.0.1", rig.master_port())
        # The paused writes now meet a replica: READONLY, which sends their clients (redis-py's
        # Sentinel connections and redis-rb's) back to the Sentinels for the new master.
        master.execute_command("CLIENT", "UNPAUSE")
    return promoted


def replica_caught_up(master: redis.Redis) -> bool:
    info = master.info("replication")
    return bool(info.get("slave0", {}).get("offset") == info["master_repl_offset"])


def check_registrations(during: list[str], live: dict[int, str]) -> list[str]:
    """Each live worker registered exactly once; returns the ids of exited ones still there.

    A Ruby worker that redis-rb's READONLY error killed could not unregister (the write went
    to the old master): its id stays until a pruning pass finds its pid gone.
    """
    by_pid = Counter(int(worker_id.split(":")[1]) for worker_id in during)
    assert all(by_pid[pid] == 1 for pid in live), during
    stale = [w for w in during if int(w.split(":")[1]) not in live]
    assert all(w.endswith(":ruby,compat") for w in stale), during
    return stale


def prune_pass(rig: SentinelRig) -> None:
    """The next pruning pass (at most one per heartbeat interval, hence the lock cleared): a
    Python worker on ``*`` starts, prunes the exited workers of this host, and leaves."""
    with rig.master_client() as client:
        client.delete("resque:pruning_dead_workers_in_progress")
    with PythonWorker(rig.url, "*", "--interval", "0") as pruner:
        assert pruner.wait(30) == 0, pruner.output()


def trigger(
    rig: SentinelRig, how: str, old: int, workers: tuple[int, ...] = ()
) -> tuple[float, set[int]]:
    """Fail the master over ``how`` ("planned", "kill" or "plain" SENTINEL FAILOVER); returns
    when the Sentinels named the new master, and what the replica held (after a kill, with
    ``workers`` stopped meanwhile)."""
    if how == "planned":
        return planned_failover(rig, old), set()
    if how == "kill":
        replica_had = kill_master_with_replica_behind(rig, workers)
        return rig.wait_promoted(old), replica_had
    with rig.sentinels[0].client() as sentinel:
        sentinel.execute_command("SENTINEL", "FAILOVER", "mymaster")
    return rig.wait_promoted(old), set()


def fail_over(
    rig: SentinelRig, how: str, producer_options: dict[str, Any], pause_workers: bool = False
) -> Outcome:
    producer = Producer(rig.url, producer_options)
    with fleet(rig) as workers:
        rig.wait_for(lambda: len(registered(rig)) == 3, 30, "three workers to register")
        thread = threading.Thread(target=producer.run, daemon=True)
        thread.start()
        time.sleep(1.5)
        triggered = time.monotonic()
        paused = tuple(workers.pids) if pause_workers else ()
        promoted, replica_had = trigger(rig, how, rig.master_port(), paused)
        resumed = resume_times(rig, workers, promoted)
        time.sleep(1.0)
        producer.stop.set()
        thread.join(10)
        drain(rig, workers)
        during = registered(rig)
        pids = workers.pids
        workers.quit()
    stale = check_registrations(during, pids)
    prune_pass(rig)
    entries = ledger(rig)
    runtimes: dict[int, list[str]] = {}
    for entry in entries:
        runtimes.setdefault(int(entry["args"][0]), []).append(entry["runtime"])
    return Outcome(
        acked=producer.acked_ids(),
        refused=[n for n, _t in producer.refused],
        unconfirmed_after_promotion=producer.unconfirmed_after(promoted),
        ran=Counter(int(e["args"][0]) for e in entries),
        failed=failed_ids(rig),
        promotion=promoted - triggered,
        worker_resume=resumed,
        ruby_exits=workers.ruby_exits,
        producer_resume=producer.first_ack_after(promoted),
        producer_longest_wait=producer.longest_wait(),
        registered_after=registered(rig),
        stale=stale,
        replica_had=replica_had,
        runtimes=runtimes,
    )


def assert_resumed(outcome: Outcome, producer: bool = True) -> None:
    assert len(outcome.worker_resume) == 3, outcome.summary()
    assert max(outcome.worker_resume.values()) < RESUME_LIMIT, outcome.summary()
    if producer:
        assert outcome.producer_resume < RESUME_LIMIT, outcome.summary()
    assert outcome.registered_after == [], "a worker stayed registered after it stopped"


def test_sentinel_failover_runs_every_acknowledged_enqueue_once(rig: SentinelRig) -> None:
    outcome = fail_over(rig, "planned", producer_options={})
    print(outcome.summary())
    assert_resumed(outcome)
    assert outcome.lost == [], outcome.summary()
    assert outcome.twice == [], outcome.summary()


def test_master_killed_loses_only_what_the_replica_had_not_received(rig: SentinelRig) -> None:
    outcome = fail_over(rig, "kill", producer_options={}, pause_workers=True)
    print(outcome.summary())
    assert_resumed(outcome)
    assert outcome.lost, "the replica was made to lag: some acknowledged enqueues must be lost"
    assert not set(outcome.lost) & outcome.replica_had, outcome.summary()
    # Only the newest writes: everything acknowledged before the first lost one survived.
    assert all(outcome.ran[n] or n in outcome.failed for n in outcome.acked if n < outcome.lost[0])


def test_wait_replicas_keeps_every_acknowledged_enqueue_when_the_master_dies(
    rig: SentinelRig,
) -> None:
    """The same crash with the producer's opt-in ``wait_replicas=1``: an enqueue the replica
    did not confirm within 200 ms raises ``ReplicationError`` (counted as refused), so no
    acknowledged enqueue is lost. The price: the promoted master has no replica left, so
    from then on every enqueue is refused, although it is queued and runs."""
    options = {"wait_replicas": 1, "wait_timeout_ms": 200}
    outcome = fail_over(rig, "kill", producer_options=options)
    print(outcome.summary())
    assert_resumed(outcome, producer=False)
    assert outcome.lost == [], outcome.summary()
    assert outcome.refused, "the lagging replica must have refused some enqueues"
    assert outcome.producer_resume == float("inf"), "WAIT 1 with no replica left acknowledged"
    unconfirmed = outcome.unconfirmed_after_promotion
    assert unconfirmed and all(outcome.ran[n] == 1 for n in unconfirmed), outcome.summary()


def python_only_twice(outcome: Outcome) -> list[int]:
    """Jobs run twice with no Ruby run among them: what the Python side could have caused."""
    return [n for n in outcome.twice if "ruby" not in outcome.runtimes[n]]


PYTHON_RESUME_LIMIT = 3.0
"""Python clients follow ``+switch-master`` (measured: 0.1 s); margin for a loaded CI host."""


def assert_plain_failover(outcome: Outcome) -> None:
    """What a plain ``SENTINEL FAILOVER`` guarantees to Python clients: they are held back
    from the moment the leading Sentinel is about to promote until the switch, then go to the
    new master; so nothing acknowledged is lost (on loopback the replica is never behind when
    promoted) and no job runs twice through Python workers alone. The Ruby worker (redis-rb)
    stays on the old master, still writable, until Sentinel demotes it about ten seconds
    later: a job it takes there that is also queued on the new master runs twice."""
    assert outcome.lost == [], outcome.summary()
    assert python_only_twice(outcome) == [], outcome.summary()
    python = [t for who, t in outcome.worker_resume.items() if who.startswith("python")]
    assert len(python) == 2 and max(python) < PYTHON_RESUME_LIMIT, outcome.summary()
    assert max(outcome.worker_resume.values()) < RESUME_LIMIT, outcome.summary()


def test_plain_sentinel_failover_python_clients_follow_the_switch_at_once(
    rig: SentinelRig,
) -> None:
    outcome = fail_over(rig, "plain", producer_options={})
    print(outcome.summary())
    assert_plain_failover(outcome)
    assert outcome.producer_resume < PYTHON_RESUME_LIMIT, outcome.summary()
    assert outcome.refused == [], "the producer is held back, not refused"
    assert outcome.registered_after == [], "a worker stayed registered after it stopped"


@pytest.mark.skipif(
    os.environ.get("RESQUE_COMPAT_SLOW") != "1",
    reason="slow (the same failover as above, with wait_replicas=1): RESQUE_COMPAT_SLOW=1",
)
def test_plain_sentinel_failover_with_wait_replicas(rig: SentinelRig) -> None:
    """The same with ``wait_replicas=1``: nothing acknowledged is lost even if the replica
    lagged; from the promotion until the old master rejoins as a replica (when Sentinel
    demotes it), the new master has no replica, so every enqueue raises ``ReplicationError``
    (the job is queued and runs)."""
    outcome = fail_over(rig, "plain", producer_options={"wait_replicas": 1, "wait_timeout_ms": 200})
    print(outcome.summary())
    assert_plain_failover(outcome)
    unconfirmed = outcome.unconfirmed_after_promotion
    assert unconfirmed and all(outcome.ran[n] >= 1 for n in unconfirmed), outcome.summary()


async def enqueue_through_failover(rig: SentinelRig) -> tuple[list[tuple[int, float]], float]:
    """An asyncio producer enqueuing while a plain ``SENTINEL FAILOVER`` runs, and for a second
    after the promotion; returns its acknowledged enqueues and when the promotion was seen."""
    acked: list[tuple[int, float]] = []
    async with AsyncResque.from_url(rig.url) as resque:
        old = rig.master_port()
        failover = asyncio.ensure_future(asyncio.to_thread(trigger, rig, "plain", old))
        n = 0
        while not failover.done() or time.monotonic() < failover.result()[0] + 1.0:
            try:
                await resque.enqueue_to("compat", "RecordArgs", n)
                acked.append((n, time.monotonic()))
            except redis.RedisError:
                pass
            n += 1
            await asyncio.sleep(0.003)
        return acked, failover.result()[0]


def test_asyncio_producer_follows_a_plain_sentinel_failover(rig: SentinelRig) -> None:
    """No worker runs: every acknowledged enqueue must be queued on the new master."""
    acked, promoted = asyncio.run(enqueue_through_failover(rig))
    with rig.master_client() as master:
        queued = {json.loads(raw)["args"][0] for raw in master.lrange("resque:queue:compat", 0, -1)}
    lost = sorted(n for n, _t in acked if n not in queued)
    resumed = min((t for _n, t in acked if t > promoted), default=float("inf")) - promoted
    print(f"asyncio producer: {len(acked)} acknowledged, lost {lost}, resumed {resumed:.2f}s")
    assert lost == [] and resumed < PYTHON_RESUME_LIMIT


# --------------------------------------------------------------------------------------------
# Every entry point takes the Sentinel URL
# --------------------------------------------------------------------------------------------


def test_cli_and_asyncio_producer_use_the_sentinel_url(rig: SentinelRig) -> None:
    async def enqueue() -> None:
        async with AsyncResque.from_url(rig.url) as resque:
            await resque.enqueue_to("compat", "RecordArgs", "from asyncio")
            assert await resque.size("compat") == 1

    asyncio.run(enqueue())
    cli = [sys.executable, "-m", "resque_compat", "--redis", rig.url]
    subprocess.run(
        [*cli, "enqueue", "compat", "RecordArgs", "--args", '["from the cli"]'], check=True
    )
    listed = subprocess.run([*cli, "queues"], check=True, capture_output=True, text=True)
    assert "compat" in listed.stdout and "2" in listed.stdout, listed.stdout
    with rig.master_client() as master:
        queued = master.lrange("resque:queue:compat", 0, -1)
    assert queued == [
        b'{"class":"RecordArgs","args":["from asyncio"]}',
        b'{"class":"RecordArgs","args":["from the cli"]}',
    ]
