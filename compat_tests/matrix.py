"""The runtime matrix: every runtime as producer and as worker, sharing one queue.

For each (producer, worker) pair of Python (resque-compat), Ruby Resque and node-resque, the
producer enqueues one job per scenario on the queue ``compat``, the worker runtime dequeues
one of them with its own dequeue API, then its worker drains the queue and stops. What the
jobs recorded and what Redis holds afterwards is checked against Ruby Resque's behaviour:

==========  ==================================================================================
scenario    passes when
==========  ==================================================================================
simple      the producer stored Ruby's exact bytes; the worker ran the job once, with the mixed
            arguments exactly as given; the worker unregistered when it stopped
numbers     integers up to 2**70 and Ruby's float forms (``1.0e+20``, ``-0.0``, ``3.0``) reach
            the job exactly (type and value)
failure     a failing job leaves one Ruby-shaped record in ``failed`` (fields in Ruby's order,
            ``failed_at`` as ``%Y/%m/%d %H:%M:%S %Z``, the registered worker id, the payload as
            queued), counted in ``stat:failed`` and, as Ruby does, in ``stat:processed``;
            every available runtime's failure API reads the same record back
dequeue     the worker runtime's dequeue (``Resque.dequeue`` / ``Queue#del``) removes the
            producer's job by class and arguments, so only the other one runs
==========  ==================================================================================

node-resque differs from Ruby Resque in known ways (:data:`DEVIATIONS`). Where a check fails
*because of* one of them, the outcome says which one (:data:`EXPECTED_DEVIATIONS` says for which
checks and pairs); anything else is a failure. ``compat_tests/test_matrix.py`` runs one pair per
test; ``python -m compat_tests.matrix`` runs every available pair on a private redis-server
and prints the Markdown table kept in ``docs/compatibility.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis

import compat_tests.jobs  # noqa: F401 - registers RecordArgs/Failing for Resque.dequeue
from compat_tests.runtimes import (
    NODE_DIR,
    ensure_node_modules,
    node_info,
    node_skip_reason,
    read_performed,
    ruby_eval,
    ruby_skip_reason,
    start_node,
    start_ruby,
)
from resque_compat import Resque, codec
from resque_compat.connection import RedisSettings
from resque_compat.devserver import RedisServerProcess
from resque_compat.failure import RedisBackend
from resque_compat.store import SyncDriver
from tests.workerproc import PythonWorker

RUNTIMES = ("python", "ruby", "node")
SCENARIOS = ("simple", "numbers", "failure", "dequeue")
QUEUE = "compat"
WORKER_TIMEOUT = 60.0

#: Ruby's failure record fields, in the order Resque::Failure::Redis writes them.
RUBY_FAILURE_FIELDS = ["failed_at", "payload", "exception", "error", "backtrace", "worker", "queue"]
RUBY_FAILED_AT = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d [A-Z][A-Za-z0-9+-]{1,5}$")

#: What each runtime's ``Failing`` job raises: the job's own exception class, not a deviation.
FAILING_EXCEPTION = {"python": "RuntimeError", "ruby": "RuntimeError", "node": "Error"}


@dataclass(frozen=True)
class Job:
    """One enqueued job; ``args[0]`` is a marker naming it, so any runtime's record is found."""

    class_name: str
    args: list[Any]

    @property
    def marker(self) -> str:
        return str(self.args[0])


SIMPLE = Job(
    "RecordArgs",
    [
        "simple",
        1,
        -42,
        2.5,
        "café ☕ 日本語 😀",
        'quote " back\\slash for/ward </script> tab\t',
        None,
        True,
        False,
        [4, "5", []],
        {"six": 6, "nested": {"list": [None, 0.25]}, "empty": {}},
    ],
)
NUMBERS = Job(
    "RecordArgs",
    ["numbers", 2**70, -(2**64), 9007199254740993, 1.0e20, 1.5e-07, -0.0, 3.0, 0.1, 5.0e-324],
)
FAILING = Job("Failing", ["failure", 7])
DEQUEUE_TARGET = Job("RecordArgs", ["dequeue-me", 2.5, "ünïcödé", {"k": [1, None]}])
DEQUEUE_KEPT = Job("RecordArgs", ["keep-me", 2.5, "ünïcödé", {"k": [1, None]}])
JOBS = (SIMPLE, NUMBERS, FAILING, DEQUEUE_TARGET, DEQUEUE_KEPT)


# --------------------------------------------------------------------------------------------
# node-resque's known deviations from Ruby Resque
# --------------------------------------------------------------------------------------------

DEVIATIONS: dict[str, str] = {
    "node-enqueue-shape": (
        'node-resque\'s Queue#enqueue writes {"class","queue","args"} (it adds the queue), so '
        "Ruby's and resque-compat's Resque.dequeue, an LREM of the exact bytes of "
        '{"class","args"}, cannot remove a node-enqueued job'
    ),
    "node-del": (
        "node-resque's Queue#del LREMs its own encoding (with the queue), so it cannot remove "
        "a job Ruby or Python enqueued"
    ),
    "js-numbers": (
        "node-resque parses payloads into JS numbers: integers above 2**53 lose precision, "
        "3.0 and -0.0 become 3 and 0, 1.0e+20 is written 100000000000000000000, both in what "
        "node enqueues and in the arguments its worker passes to a job"
    ),
    "node-failure-record": (
        "node-resque's failure record has its fields in another order (worker, queue, "
        "payload, exception, error, backtrace, failed_at), failed_at as JS Date#toString "
        '("Tue Mar 05 2024 10:00:00 GMT+0000 (Coordinated Universal Time)"), and worker '
        "as host:pid without the queues, which is not the id the worker registered"
    ),
    "node-failed-not-processed": (
        "node-resque counts a failed job in stat:failed only; Ruby Resque (and resque-compat) "
        "count it in stat:processed too"
    ),
}


@dataclass(frozen=True)
class ExpectedDeviation:
    """Check ``check`` of ``scenario`` fails for pairs where ``applies``, because of ``code``."""

    scenario: str
    check: str
    code: str
    applies: Callable[[str, str], bool]


def _node_produces(producer: str, _worker: str) -> bool:
    return producer == "node"


def _node_works(_producer: str, worker: str) -> bool:
    return worker == "node"


def _node_involved(producer: str, worker: str) -> bool:
    return "node" in (producer, worker)


def _node_enqueued_other_dequeues(producer: str, worker: str) -> bool:
    return producer == "node" and worker != "node"


def _other_enqueued_node_dequeues(producer: str, worker: str) -> bool:
    return worker == "node" and producer != "node"


EXPECTED_DEVIATIONS = (
    ExpectedDeviation("simple", "stored-bytes", "node-enqueue-shape", _node_produces),
    ExpectedDeviation("numbers", "args-exact", "js-numbers", _node_involved),
    ExpectedDeviation("failure", "record-fields", "node-failure-record", _node_works),
    ExpectedDeviation("failure", "record-worker", "node-failure-record", _node_works),
    ExpectedDeviation("failure", "processed-count", "node-failed-not-processed", _node_works),
    ExpectedDeviation("dequeue", "dequeued", "node-enqueue-shape", _node_enqueued_other_dequeues),
    ExpectedDeviation("dequeue", "dequeued", "node-del", _other_enqueued_node_dequeues),
)


def expected_deviations(scenario: str, producer: str, worker: str) -> frozenset[str]:
    """The node-resque deviations that must show in ``scenario`` for this pair."""
    return frozenset(
        rule.code
        for rule in EXPECTED_DEVIATIONS
        if rule.scenario == scenario and rule.applies(producer, worker)
    )


def _explained_by(scenario: str, check: str, producer: str, worker: str) -> str | None:
    for rule in EXPECTED_DEVIATIONS:
        if (rule.scenario, rule.check) == (scenario, check) and rule.applies(producer, worker):
            return rule.code
    return None


# --------------------------------------------------------------------------------------------
# Exact comparison of JSON values
# --------------------------------------------------------------------------------------------


def difference(expected: Any, actual: Any, path: str = "args") -> str | None:
    """Where two decoded JSON values differ, or None when they are the same value *and* type.

    Stricter than ``==``: ``1 != 1.0``, ``True != 1``, ``-0.0 != 0.0`` and object keys must
    come in the same order, because each of those is a different payload for Ruby.
    """
    if type(expected) is not type(actual):
        want, got = type(expected).__name__, type(actual).__name__
        return f"{path}: expected {expected!r} ({want}), got {actual!r} ({got})"
    if isinstance(expected, list):
        if len(expected) != len(actual):
            return f"{path}: expected {len(expected)} items, got {len(actual)}: {actual!r}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            found = difference(want, got, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(expected, dict):
        if list(expected) != list(actual):
            return f"{path}: expected keys {list(expected)}, got {list(actual)}"
        for key in expected:
            found = difference(expected[key], actual[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    same = expected.hex() == actual.hex() if isinstance(expected, float) else expected == actual
    return None if same else f"{path}: expected {expected!r}, got {actual!r}"


# --------------------------------------------------------------------------------------------
# The runtimes, each as producer, dequeuer, worker and failure reader
# --------------------------------------------------------------------------------------------


class Runtime(Protocol):
    """One runtime in each role the matrix gives it, through its own public API."""

    def enqueue(self, redis_url: str, jobs: Sequence[Job]) -> None:
        """Enqueue ``jobs`` in order, the way an application of this runtime would."""

    def dequeue(self, redis_url: str, job: Job) -> int:
        """Remove ``job`` from ``QUEUE`` by class and arguments; how many were removed."""

    def work(self, redis_url: str, jobs: int) -> str:
        """Run one worker on ``QUEUE`` until it ran ``jobs`` jobs and the queue is empty,
        then stop it; returns the id it registered."""

    def read_failures(self, redis_url: str) -> list[Any]:
        """Every record of the ``failed`` list, as this runtime's failure API returns them."""


class PythonRuntime:
    """resque-compat: ``Resque`` for the producer side, ``resque-compat work`` as a process."""

    def enqueue(self, redis_url: str, jobs: Sequence[Job]) -> None:
        with Resque.from_url(redis_url) as resque:
            for job in jobs:
                resque.enqueue_to(QUEUE, job.class_name, *job.args)

    def dequeue(self, redis_url: str, job: Job) -> int:
        with Resque.from_url(redis_url) as resque:
            return resque.dequeue(job.class_name, *job.args) or 0

    def work(self, redis_url: str, jobs: int) -> str:
        with PythonWorker(redis_url, QUEUE, "--interval", "0") as worker:
            status = worker.wait(WORKER_TIMEOUT)
            if status != 0:
                raise RuntimeError(f"Python worker exited {status}:\n{worker.output()}")
            return f"{socket.gethostname()}:{worker.pid}:{QUEUE}"

    def read_failures(self, redis_url: str) -> list[Any]:
        settings = RedisSettings.from_url(redis_url)
        client = settings.client()
        try:
            entries = SyncDriver(client).run(RedisBackend(settings.keys).entries())
        finally:
            client.close()
        return [entry.record for entry in entries]


class RubyRuntime:
    """Ruby Resque: ``Resque.enqueue``/``dequeue`` on the Ruby values ``JSON.parse`` makes of
    the jobs (handed over in the environment), and ``worker.rb`` with ``INTERVAL=0``."""

    def enqueue(self, redis_url: str, jobs: Sequence[Job]) -> None:
        code = (
            'JSON.parse(ENV.fetch("MATRIX_JOBS")).each do |job|\n'
            '  Resque.enqueue(Object.const_get(job["class"]), *job["args"])\n'
            "end\ntrue"
        )
        ruby_eval(code, redis_url, env={"MATRIX_JOBS": _jobs_json(jobs)})

    def dequeue(self, redis_url: str, job: Job) -> int:
        code = (
            'job = JSON.parse(ENV.fetch("MATRIX_JOBS")).first\n'
            'Resque.dequeue(Object.const_get(job["class"]), *job["args"])'
        )
        return int(ruby_eval(code, redis_url, env={"MATRIX_JOBS": _jobs_json([job])}))

    def work(self, redis_url: str, jobs: int) -> str:
        with start_ruby("worker.rb", redis_url, env={"QUEUE": QUEUE, "INTERVAL": "0"}) as proc:
            proc.communicate(timeout=WORKER_TIMEOUT)
            if proc.returncode != 0:
                raise RuntimeError(f"Ruby worker exited {proc.returncode}:\n{proc.output()}")
            return f"{socket.gethostname()}:{proc.pid}:{QUEUE}"

    def read_failures(self, redis_url: str) -> list[Any]:
        records: list[Any] = ruby_eval("Resque::Failure.all(0, 1000)", redis_url)
        return records


class NodeRuntime:
    """node-resque: ``Queue#enqueue``/``Queue#del`` and a ``Worker`` (``worker.js``)."""

    def enqueue(self, redis_url: str, jobs: Sequence[Job]) -> None:
        node_queue_calls(redis_url, [["enqueue", QUEUE, job.class_name, job.args] for job in jobs])

    def dequeue(self, redis_url: str, job: Job) -> int:
        [removed] = node_queue_calls(redis_url, [["del", QUEUE, job.class_name, job.args]])
        return int(removed)

    def work(self, redis_url: str, jobs: int) -> str:
        # node-resque's worker never stops by itself: worker.js stops it after ``jobs`` jobs,
        # or after 5 s without one when fewer than expected arrive.
        limits = ("--max-jobs", str(jobs), "--idle-exit", "5")
        with start_node("worker.js", redis_url, QUEUE, *limits) as proc:
            proc.communicate(timeout=WORKER_TIMEOUT)
            if proc.returncode != 0:
                raise RuntimeError(f"node worker exited {proc.returncode}:\n{proc.output()}")
            return f"{socket.gethostname()}:{proc.pid}:{QUEUE}"

    def read_failures(self, redis_url: str) -> list[Any]:
        records: list[Any] = node_info(redis_url)["failed"]
        return records


RUNTIME_IMPLEMENTATIONS: dict[str, Runtime] = {
    "python": PythonRuntime(),
    "ruby": RubyRuntime(),
    "node": NodeRuntime(),
}


def _jobs_json(jobs: Sequence[Job]) -> str:
    return json.dumps([{"class": job.class_name, "args": job.args} for job in jobs])


_NODE_QUEUE_CALLS = """
const { Queue } = require("node-resque");
const { connectionDetails } = require("./common");
(async () => {
  const queue = new Queue({ connection: connectionDetails() });
  await queue.connect();
  const results = [];
  for (const [method, ...args] of JSON.parse(process.argv[1])) {
    results.push(await queue[method](...args));
  }
  await queue.end();
  process.stdout.write(JSON.stringify(results) + "\\n");
})().catch((error) => {
  process.stderr.write(String(error.stack || error) + "\\n");
  process.exit(1);
});
"""


def node_queue_calls(redis_url: str, calls: Sequence[Sequence[Any]], timeout: float = 30) -> Any:
    """Call node-resque ``Queue`` methods in order in one node process; their results.

    ``calls`` are ``[method, *args]`` lists (``["enqueue", "q", "RecordArgs", [1]]``,
    ``["del", "q", "RecordArgs", [1]]``): one process enqueues a batch in well under the
    time one ``node_enqueue`` per job takes, and ``runtimes`` has no ``Queue#del`` script.
    """
    problem = ensure_node_modules()
    if problem is not None:
        raise RuntimeError(problem)
    done = subprocess.run(
        ["node", "-e", _NODE_QUEUE_CALLS, json.dumps(calls)],
        cwd=NODE_DIR,
        env={**os.environ, "REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"node Queue calls failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout)


# --------------------------------------------------------------------------------------------
# One pair: run it, observe, check
# --------------------------------------------------------------------------------------------


@dataclass
class Observed:
    """Everything the checks look at, read once after the worker stopped."""

    producer: str
    worker: str
    worker_id: str
    stored: list[bytes]
    removed: int
    performed: list[dict[str, Any]]
    failed: list[bytes]
    stats: dict[str, int]
    workers: set[str]
    read_back: dict[str, list[Any]]

    def stored_for(self, job: Job) -> bytes | None:
        for raw in self.stored:
            decoded = codec.decode(raw)
            if decoded.get("args", [None])[:1] == [job.marker]:
                return raw
        return None

    def performed_for(self, job: Job) -> list[dict[str, Any]]:
        return [entry for entry in self.performed if entry["args"][:1] == [job.marker]]


@dataclass(frozen=True)
class Finding:
    check: str
    message: str
    deviation: str | None = None


@dataclass
class Outcome:
    scenario: str
    producer: str
    worker: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def unexplained(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.deviation is None]

    @property
    def deviations(self) -> frozenset[str]:
        return frozenset(f.deviation for f in self.findings if f.deviation is not None)

    @property
    def status(self) -> str:
        if self.unexplained:
            return "FAIL"
        return "deviates" if self.findings else "pass"


@dataclass
class PairResult:
    producer: str
    worker: str
    readers: list[str]
    outcomes: list[Outcome]


def run_pair(
    redis_url: str, producer: str, worker: str, readers: Sequence[str] | None = None
) -> PairResult:
    """Run every scenario for one pair on a Redis the caller emptied; check what happened."""
    chosen_readers = list(readers) if readers is not None else available_runtimes()
    source, sink = RUNTIME_IMPLEMENTATIONS[producer], RUNTIME_IMPLEMENTATIONS[worker]
    source.enqueue(redis_url, JOBS)
    client = redis.Redis.from_url(redis_url)
    try:
        stored = _list(client, f"resque:queue:{QUEUE}")
        removed = sink.dequeue(redis_url, DEQUEUE_TARGET)
        worker_id = sink.work(redis_url, len(stored) - removed)
        observed = Observed(
            producer=producer,
            worker=worker,
            worker_id=worker_id,
            stored=stored,
            removed=removed,
            performed=read_performed(redis_url),
            failed=_list(client, "resque:failed"),
            stats={
                name: int(client.get(f"resque:stat:{name}") or 0)
                for name in ("processed", "failed")
            },
            workers={m.decode() for m in client.smembers("resque:workers")},  # type: ignore[union-attr]
            read_back={
                name: RUNTIME_IMPLEMENTATIONS[name].read_failures(redis_url)
                for name in chosen_readers
            },
        )
    finally:
        client.close()
    outcomes = []
    for scenario, check in SCENARIO_CHECKS.items():
        outcome = Outcome(scenario, producer, worker)
        for name, message in check(observed):
            deviation = _explained_by(scenario, name, producer, worker)
            outcome.findings.append(Finding(name, message, deviation))
        outcomes.append(outcome)
    return PairResult(producer, worker, chosen_readers, outcomes)


def _list(client: redis.Redis, key: str) -> list[bytes]:
    items: list[bytes] = client.lrange(key, 0, -1)  # type: ignore[assignment]
    return items


Problems = list[tuple[str, str]]


def _check_performed_once(
    observed: Observed, job: Job, problems: Problems
) -> dict[str, Any] | None:
    records = observed.performed_for(job)
    if len(records) != 1:
        problems.append(
            ("performed-once", f"{job.marker} performed {len(records)} times: {records!r}")
        )
        return None
    if records[0]["runtime"] != observed.worker:
        problems.append(("performed-once", f"{job.marker} performed by {records[0]['runtime']}"))
    return records[0]


def check_simple(observed: Observed) -> Problems:
    problems: Problems = []
    stored = observed.stored_for(SIMPLE)
    expected_bytes = codec.encode_payload(SIMPLE.class_name, SIMPLE.args)
    if stored != expected_bytes:
        problems.append(("stored-bytes", f"stored {stored!r}, Ruby writes {expected_bytes!r}"))
    record = _check_performed_once(observed, SIMPLE, problems)
    if record is not None and (found := difference(SIMPLE.args, record["args"])):
        problems.append(("args-exact", found))
    if observed.workers:
        problems.append(("worker-gone", f"still registered after stopping: {observed.workers}"))
    return problems


def check_numbers(observed: Observed) -> Problems:
    problems: Problems = []
    record = _check_performed_once(observed, NUMBERS, problems)
    if record is not None and (found := difference(NUMBERS.args, record["args"])):
        problems.append(("args-exact", found))
    return problems


def check_failure(observed: Observed) -> Problems:
    problems: Problems = []
    if len(observed.failed) != 1 or observed.stats["failed"] != 1:
        message = f"{len(observed.failed)} records, stat:failed {observed.stats['failed']}"
        return [("failed-once", message)]
    record = codec.decode(observed.failed[0])
    problems.extend(_record_fields(record))
    problems.extend(_record_content(observed, record))
    if record.get("worker") != observed.worker_id:
        problems.append(
            (
                "record-worker",
                f"worker {record.get('worker')!r}, registered as {observed.worker_id!r}",
            )
        )
    for reader, records in observed.read_back.items():
        if records != [record]:
            problems.append(("readable", f"{reader}'s failure API read {records!r}"))
    taken = len(observed.stored) - observed.removed
    if observed.stats["processed"] != taken:
        problems.append(
            ("processed-count", f"stat:processed {observed.stats['processed']}, jobs run {taken}")
        )
    return problems


def _record_fields(record: Any) -> Problems:
    problems: Problems = []
    if list(record) != RUBY_FAILURE_FIELDS:
        problems.append(
            ("record-fields", f"fields {list(record)}, Ruby writes {RUBY_FAILURE_FIELDS}")
        )
    if not RUBY_FAILED_AT.match(str(record.get("failed_at"))):
        problems.append(
            ("record-fields", f"failed_at {record.get('failed_at')!r} is not Ruby's format")
        )
    backtrace = record.get("backtrace")
    if not isinstance(backtrace, list) or not all(isinstance(line, str) for line in backtrace):
        problems.append(("record-fields", f"backtrace {backtrace!r} is not a list of strings"))
    return problems


def _record_content(observed: Observed, record: Any) -> Problems:
    stored = observed.stored_for(FAILING)
    expected = {
        "payload": codec.decode(stored) if stored is not None else None,
        "exception": FAILING_EXCEPTION[observed.worker],
        "error": "boom",
        "queue": QUEUE,
    }
    actual = {name: record.get(name) for name in expected}
    if found := difference(expected, actual, "failure"):
        return [("record-content", found)]
    return []


def check_dequeue(observed: Observed) -> Problems:
    target, kept = observed.performed_for(DEQUEUE_TARGET), observed.performed_for(DEQUEUE_KEPT)
    if observed.removed == 1 and not target and len(kept) == 1:
        return []
    message = (
        f"dequeue removed {observed.removed}; the target ran {len(target)}x, the other {len(kept)}x"
    )
    return [("dequeued", message)]


SCENARIO_CHECKS: dict[str, Callable[[Observed], Problems]] = {
    "simple": check_simple,
    "numbers": check_numbers,
    "failure": check_failure,
    "dequeue": check_dequeue,
}


# --------------------------------------------------------------------------------------------
# The whole matrix and its table
# --------------------------------------------------------------------------------------------


def available_runtimes() -> list[str]:
    """Python always; Ruby when Ruby Resque is found; node when node is installed."""
    found = ["python"]
    if ruby_skip_reason() is None:
        found.append("ruby")
    if node_skip_reason() is None:
        found.append("node")
    return found


def run_matrix(redis_url: str, runtimes: Sequence[str]) -> list[PairResult]:
    """Every producer x worker pair of ``runtimes``, each on a freshly flushed Redis."""
    results = []
    for producer in runtimes:
        for worker in runtimes:
            client = redis.Redis.from_url(redis_url)
            client.flushall()
            client.close()
            results.append(run_pair(redis_url, producer, worker, runtimes))
    return results


def _cell(outcome: Outcome) -> str:
    if outcome.status == "pass":
        return "pass"
    if outcome.status == "deviates":
        return "node deviation: " + ", ".join(f"`{code}`" for code in sorted(outcome.deviations))
    return "**FAIL**: " + "; ".join(f"{f.check}: {f.message}" for f in outcome.unexplained)


def render_markdown(results: Sequence[PairResult]) -> str:
    """The pair x scenario table, then the deviations it refers to."""
    lines = [
        "| producer → worker | " + " | ".join(SCENARIOS) + " |",
        "| --- |" + " --- |" * len(SCENARIOS),
    ]
    for result in results:
        cells = [_cell(outcome) for outcome in result.outcomes]
        lines.append(f"| {result.producer} → {result.worker} | " + " | ".join(cells) + " |")
    seen = sorted({code for r in results for o in r.outcomes for code in o.deviations})
    if seen:
        lines.append("")
        lines.extend(f"- `{code}`: {DEVIATIONS[code]}." for code in seen)
    readers = sorted({reader for result in results for reader in result.readers})
    lines.append("")
    lines.append(f"Failure records read back with: {', '.join(readers)}.")
    return "\n".join(lines)


def render_details(results: Sequence[PairResult]) -> str:
    """Every finding, one line each: what a deviation looks like, or why a pair failed."""
    lines = []
    for result in results:
        for outcome in result.outcomes:
            for finding in outcome.findings:
                label = finding.deviation or "UNEXPLAINED"
                lines.append(
                    f"{result.producer} -> {result.worker} {outcome.scenario} "
                    f"{finding.check} [{label}]: {finding.message}"
                )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--runtimes",
        default=",".join(available_runtimes()),
        help="comma-separated subset of python,ruby,node (default: every available one)",
    )
    parser.add_argument(
        "--details", action="store_true", help="also print every finding behind the table"
    )
    options = parser.parse_args(argv)
    runtimes = [name for name in options.runtimes.split(",") if name]
    unknown = set(runtimes) - set(RUNTIMES)
    if unknown:
        parser.error(f"unknown runtimes: {', '.join(sorted(unknown))}")
    with RedisServerProcess() as server:
        results = run_matrix(server.url, runtimes)
    print(render_markdown(results))
    if options.details:
        print(render_details(results))
    failed = any(outcome.unexplained for result in results for outcome in result.outcomes)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
