"""What the worker's one round trip per job costs inside Redis, taken apart.

The ``redis-cpu`` scenario gives the whole per-job figure; this one says where it goes, by
running the finish-and-reserve script with ``EVALSHA`` in a loop against the private
redis-server, with no worker around it:

- a round trip of ``PING``, one at a time: what any request costs Redis (reading the socket,
  parsing, writing the reply, waking from ``epoll``), the floor of one round trip per job;
- ``EVALSHA`` of ``return 1`` with the worker's keys and arguments, one at a time: the
  floor plus parsing those arguments and entering a script;
- the real finish-and-reserve call, one at a time (what a busy worker sends);
- the same calls pipelined, 1,000 per round trip, so the network is amortised and
  ``INFO commandstats`` gives the script's own time; then with the job's class known to be
  unique (resque-loner), where the script computes the payload's MD5 to delete its marker.

Redis CPU is ``INFO cpu`` of the main thread before and after; the script's own time is the
``usec`` of ``evalsha`` in ``INFO commandstats``. Each figure is the least of the runs: these
are costs of a fixed piece of work, which load from elsewhere only ever adds to.
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from resque_compat.store import SyncDriver
from resque_compat.store.lifecycle import (
    DONE_AND_RESERVE,
    Ending,
    LifecycleOps,
    QueueList,
    Reserved,
)

from ..context import Context
from ..measure import noop_payload
from ..report import Measurement
from .redis_cpu import CpuSnapshot

SCENARIO = "scripts"
_QUEUE = "bench-scripts"
_RUN_AT = "2026-12-06T00:00:00Z"


def _per_call(client: redis.Redis, calls: int, body: Callable[[], object]) -> tuple[float, float]:
    """(Redis CPU us, evalsha us inside Redis) per call of ``body``'s ``calls`` calls."""
    before = CpuSnapshot.take(client)
    body()
    used, delta = CpuSnapshot.take(client).since(before)
    return used / calls, delta.get("evalsha", (0, 0))[1] / calls


def _one_at_a_time(ctx: Context, calls: int, queues: QueueList) -> tuple[float, float]:
    """The worker's own operation, one round trip per job, on a dedicated connection."""
    client = ctx.server.client
    ctx.server.flush()
    client.rpush(ctx.server.keys.queue(_QUEUE), *(noop_payload(i) for i in range(calls + 1)))
    ops = LifecycleOps(ctx.server.keys, "bench:1:" + _QUEUE)
    driver = SyncDriver(client, dedicated=True)
    first = driver.run(ops.reserve(queues, _RUN_AT))
    assert isinstance(first, Reserved)
    job: Reserved = first

    def loop() -> None:
        nonlocal job
        for _ in range(calls):
            reply = driver.run(ops.done_and_reserve(job, queues, _RUN_AT, Ending())).next
            assert isinstance(reply, Reserved)
            job = reply

    try:
        return _per_call(client, calls, loop)
    finally:
        driver.close()


def _pipelined(ctx: Context, calls: int, queues: QueueList) -> float:
    """The script's own time per call, 1,000 calls per round trip (evalsha usec)."""
    client = ctx.server.client
    ctx.server.flush()
    keys = ctx.server.keys
    client.rpush(keys.queue(_QUEUE), *(noop_payload(i) for i in range(calls)))
    ops = LifecycleOps(keys, "bench:1:" + _QUEUE)
    client.script_load(DONE_AND_RESERVE.source)
    command = next(ops.done_and_reserve(_fake_job(), queues, _RUN_AT, Ending())).commands[0]

    def loop() -> None:
        pipe = client.pipeline(transaction=False)
        for index in range(calls):
            pipe.set(keys.worker("bench:1:" + _QUEUE), b"{}")
            pipe.execute_command(*command)
            if index % 1000 == 999:
                pipe.execute()
        pipe.execute()

    return _per_call(client, calls, loop)[1]


def _fake_job() -> Reserved:
    """A job whose record is the ``{}`` the pipelined loop writes before each call."""
    return Reserved(_QUEUE, b"", b"{}")


def _floors(ctx: Context, calls: int) -> tuple[float, float]:
    """Redis CPU per round trip of PING, and of EVALSHA ``return 1`` with the worker's
    keys and arguments, one at a time."""
    client = ctx.server.client
    ops = LifecycleOps(ctx.server.keys, "bench:1:" + _QUEUE)
    command = next(
        ops.done_and_reserve(_fake_job(), QueueList((_QUEUE,)), _RUN_AT, Ending())
    ).commands[0]
    trivial = client.script_load("return 1")
    args = (command[0], trivial, *command[2:])
    pinged = _per_call(client, calls, lambda: [client.ping() for _ in range(calls)])[0]
    entered = _per_call(
        client, calls, lambda: [client.execute_command(*args) for _ in range(calls)]
    )
    return pinged, entered[0]


def run(ctx: Context) -> None:
    calls = ctx.sizes.cpu_jobs
    ctx.heading(f"scripts: Redis CPU of the worker's round trip, taken apart ({calls} calls)")
    static = QueueList((_QUEUE,))
    learned = QueueList((_QUEUE,), None, ("BenchNoop",))
    rows: list[tuple[str, list[float]]] = [(name, []) for name in _CASES]
    for _ in range(ctx.sizes.repeat):
        ping, entered = _floors(ctx, calls)
        whole, inside = _one_at_a_time(ctx, calls, static)
        figures = [ping, entered, whole, inside, _pipelined(ctx, calls, static)]
        figures.append(_pipelined(ctx, calls, learned))
        for (_name, values), value in zip(rows, figures, strict=True):
            values.append(value)
    for name, values in rows:
        value = min(values)
        ctx.record(Measurement(SCENARIO, name, "python", value, "us", False, {"runs": values}))
        ctx.out(f"  {name:62s} {value:6.2f} us")


_CASES = (
    "Redis CPU per PING round trip (the floor)",
    "Redis CPU per EVALSHA 'return 1' with the worker's arguments",
    "Redis CPU per finish-and-reserve round trip",
    "  of which inside the script (commandstats)",
    "script alone, pipelined (commandstats)",
    "script alone, pipelined, class unique: MD5 of the payload",
)
