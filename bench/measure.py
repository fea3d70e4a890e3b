"""How figures are taken: job batches, clock stamps, Redis's own counters, MONITOR.

Runs are timed inside the jobs (``BenchStamp`` reads the clock on its first line), never
around a worker process, so no runtime's start-up or shutdown is counted. Redis traffic is
counted by Redis itself: ``INFO commandstats`` (every command, including those a Lua script
runs), ``INFO stats`` ``total_reads_processed`` (one per socket read: about one per round
trip) and ``MONITOR`` (which tells client-sent commands from Lua-internal ones).
"""

from __future__ import annotations

import json
import math
import re
import socket
import statistics
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from resque_compat import codec
from resque_compat.keys import Keys

from .jobs import QUEUE, STAMPS_KEY
from .procs import BenchError

KEYS = Keys()
PUSH_CHUNK = 1000


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: a value that was actually measured."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def noop_payload(index: int, pad: str = "") -> bytes:
    return codec.encode_payload("BenchNoop", [index, pad] if pad else [index])


def stamp_payload(tag: str) -> bytes:
    return codec.encode_payload("BenchStamp", [tag])


def timed_batch(jobs: int, pad_bytes: int = 0) -> list[bytes]:
    """A run of ``jobs`` payloads: a start stamp, no-ops, an end stamp."""
    if jobs < 2:
        raise ValueError("a timed run needs at least 2 jobs")
    pad = "x" * pad_bytes
    noops = [noop_payload(i, pad) for i in range(jobs - 2)]
    return [stamp_payload("start"), *noops, stamp_payload("end")]


def push_atomically(client: redis.Redis, payloads: Sequence[bytes]) -> None:
    """All payloads in one MULTI/EXEC, so that workers see the whole batch at once.

    (A worker that found the queue empty halfway would sleep: Ruby's for INTERVAL.)
    """
    with client.pipeline(transaction=True) as pipe:
        pipe.sadd(KEYS.queues(), QUEUE)
        for start in range(0, len(payloads), PUSH_CHUNK):
            pipe.rpush(KEYS.queue(QUEUE), *payloads[start : start + PUSH_CHUNK])
        pipe.execute()


def wait_stamps(client: redis.Redis, count: int, timeout: float) -> list[dict[str, Any]]:
    """The next ``count`` stamps jobs wrote, in the order they were written."""
    deadline = time.monotonic() + timeout
    stamps: list[dict[str, Any]] = []
    while len(stamps) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BenchError(f"only {len(stamps)} of {count} stamps after {timeout:.0f}s")
        reply = client.blpop([STAMPS_KEY], timeout=min(remaining, 5.0))
        if reply is not None:
            stamps.append(json.loads(reply[1]))
    return stamps


def wait_processed(client: redis.Redis, count: int, timeout: float) -> int:
    """Poll ``stat:processed`` until it reaches ``count``; returns how many polls it took."""
    deadline = time.monotonic() + timeout
    polls = 0
    while True:
        polls += 1
        done = int(client.get(KEYS.stat("processed")) or 0)
        if done >= count:
            return polls
        if time.monotonic() > deadline:
            raise BenchError(f"only {done} of {count} jobs processed after {timeout:.0f}s")
        time.sleep(0.005)


def rate_from_stamps(stamps: Sequence[dict[str, Any]], jobs: int) -> float:
    """Jobs per second between the start stamp and the end stamp."""
    times = {stamp["tag"]: float(stamp["t"]) for stamp in stamps}
    elapsed = times["end"] - times["start"]
    if elapsed <= 0:
        raise BenchError(f"end stamp not after start stamp: {stamps}")
    return (jobs - 1) / elapsed


@dataclass(frozen=True)
class ServerCounters:
    """A snapshot of the server's command and read counters."""

    calls: Counter[str]
    reads: int

    @classmethod
    def take(cls, client: redis.Redis) -> ServerCounters:
        stats = client.info("commandstats")
        calls: Counter[str] = Counter()
        for name, figures in stats.items():
            calls[name.removeprefix("cmdstat_")] = int(figures["calls"])
        reads = int(client.info("stats")["total_reads_processed"])
        return cls(calls, reads)

    def since(self, earlier: ServerCounters) -> tuple[Counter[str], int]:
        """Commands run (INFO itself left out) and reads processed in between."""
        calls = self.calls.copy()
        calls.subtract(earlier.calls)
        calls.pop("info", None)
        return +calls, self.reads - earlier.reads


_MONITOR_LINE = re.compile(rb'^\+[\d.]+ \[\d+ (\S+)\] "((?:[^"\\]|\\.)*)"')


class Monitor:
    """``MONITOR`` on a raw socket, read by a thread until the ``with`` block ends."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._chunks: list[bytes] = []
        self._stop = threading.Event()
        self._sock = socket.create_connection(("127.0.0.1", port))
        self._thread = threading.Thread(target=self._read, name="bench-monitor", daemon=True)

    def __enter__(self) -> Monitor:
        self._sock.sendall(b"MONITOR\r\n")
        if not self._sock.recv(5).startswith(b"+OK"):
            raise BenchError("MONITOR was refused")
        self._sock.settimeout(0.05)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        time.sleep(0.1)
        self._stop.set()
        self._thread.join()
        self._sock.close()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                chunk = self._sock.recv(1 << 20)
            except TimeoutError:
                continue
            if not chunk:
                return
            self._chunks.append(chunk)

    def commands(self, ignore_addrs: Sequence[str] = ()) -> tuple[Counter[str], Counter[str]]:
        """(client-sent, Lua-internal) command counts, leaving out the given clients."""
        sent: Counter[str] = Counter()
        in_lua: Counter[str] = Counter()
        ignored = {addr.encode() for addr in ignore_addrs}
        for line in b"".join(self._chunks).split(b"\r\n"):
            found = _MONITOR_LINE.match(line)
            if found is None or found.group(1) in ignored:
                continue
            name = found.group(2).decode(errors="replace").lower()
            (in_lua if found.group(1) == b"lua" else sent)[name] += 1
        return sent, in_lua


def client_addr(client: redis.Redis) -> str:
    """The ``ip:port`` Redis sees for this client's (single) connection."""
    return str(client.client_info()["addr"])
