"""Redis CPU per job of two source trees' workers, alternating, against one redis-server.

``python -m bench.ab_cpu PORT TREE_A TREE_B [--rounds 4] [--jobs 20000]``: for each round and
each tree, a no-fork worker of that tree (``PYTHONPATH=TREE``, pinned to CPU 1) drains
``--jobs`` no-op jobs from the redis-server on ``PORT`` (start it pinned to CPU 0), and the
server's main-thread CPU (``INFO cpu``) per job and the jobs/s are printed. Alternating the
trees in one loop is how a before/after figure survives a machine whose load moves by more
than the difference being measured.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

_ONE_RUN = """
import sys, time, redis
from resque_compat import RedisSettings, JobRegistry, codec
from resque_compat.worker import QueueSelector, Worker, WorkerSettings
from resque_compat.worker.settings import Intervals
port, jobs = int(sys.argv[1]), int(sys.argv[2])
r = redis.Redis(port=port)
r.flushall()
r.sadd("resque:queues", "bench")
r.rpush("resque:queue:bench", *[codec.encode_payload("BenchNoop", [i]) for i in range(jobs)])
registry = JobRegistry()
registry.register_function("BenchNoop", lambda *args: None)
settings = WorkerSettings(
    QueueSelector.parse("bench"), intervals=Intervals(interval=0), fork_per_job=False
)
url = f"redis://127.0.0.1:{port}/0"
worker = Worker(settings, RedisSettings.from_url(url), registry=registry)
def cpu():
    c = r.info("cpu")
    return c["used_cpu_user_main_thread"] + c["used_cpu_sys_main_thread"]
before, started = cpu(), time.perf_counter()
worker.work()
elapsed, after = time.perf_counter() - started, cpu()
print(f"{(after - before) / jobs * 1e6:.1f} us of Redis CPU per job, {jobs / elapsed:.0f} jobs/s")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("port", type=int)
    parser.add_argument("trees", nargs=2)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=20000)
    options = parser.parse_args()
    for _ in range(options.rounds):
        for tree in options.trees:
            env = {**os.environ, "PYTHONPATH": tree}
            command = ["taskset", "-c", "1", sys.executable, "-c", _ONE_RUN]
            command += [str(options.port), str(options.jobs)]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            print(f"{tree}: {done.stdout.strip()}", flush=True)


if __name__ == "__main__":
    main()
