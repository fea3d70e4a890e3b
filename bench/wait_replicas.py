"""What the producer's opt-in ``wait_replicas`` costs: enqueue with and without ``WAIT``.

``python -m bench.wait_replicas`` starts a master and one replica on loopback (persistence
off), then times ``Resque.enqueue_to`` one job at a time and ``enqueue_many`` in batches of
100, with ``wait_replicas=0`` (Ruby's behaviour) and ``wait_replicas=1``, alternating the two
in rounds so that a noisy neighbour hurts both alike. It prints the median of the rounds.
Loopback is the best case: on a network, ``WAIT`` adds the replica's round trip to every
enqueue (the figures in docs/operating.md say which machine they come from).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import redis

from resque_compat import Resque
from resque_compat.devserver import RedisServerProcess

ROUNDS = 7
ONE_BY_ONE = 2000
BATCHES = 50
BATCH = 100


def one_by_one(resque: Resque) -> float:
    """Microseconds per ``enqueue_to``."""
    started = time.perf_counter()
    for i in range(ONE_BY_ONE):
        resque.enqueue_to("bench", "BenchNoop", i)
    return (time.perf_counter() - started) / ONE_BY_ONE * 1e6


def many(resque: Resque) -> float:
    """Microseconds per job, ``enqueue_many`` of :data:`BATCH` jobs."""
    started = time.perf_counter()
    for _ in range(BATCHES):
        resque.enqueue_many("bench", "BenchNoop", ([i] for i in range(BATCH)))
    return (time.perf_counter() - started) / (BATCHES * BATCH) * 1e6


def measure(url: str, wait: int, how: Callable[[Resque], float]) -> float:
    with Resque.from_url(url, wait_replicas=wait) as resque:
        resque.redis.ping()
        value = how(resque)
        resque.redis.flushall()
    return value


def main(argv: Sequence[str] | None = None) -> int:
    with RedisServerProcess() as master:
        replica_args = ["--replicaof", "127.0.0.1", str(master.port)]
        with RedisServerProcess(extra_args=replica_args) as replica:
            client = redis.Redis(port=replica.port, decode_responses=True)
            while client.info("replication").get("master_link_status") != "up":
                time.sleep(0.05)
            client.close()
            print("| enqueue | wait_replicas=0 | wait_replicas=1 | cost |")
            print("| --- | --- | --- | --- |")
            for name, how in (("one by one", one_by_one), (f"enqueue_many({BATCH})", many)):
                plain, waited = [], []
                for _ in range(ROUNDS):
                    plain.append(measure(master.url, 0, how))
                    waited.append(measure(master.url, 1, how))
                p, w = statistics.median(plain), statistics.median(waited)
                print(
                    f"| {name} | {p:.1f} µs/job | {w:.1f} µs/job | +{w - p:.1f} µs (x{w / p:.2f}) |"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
