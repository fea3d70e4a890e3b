"""Hostile and malformed input, from the decoder to a running worker.

Whoever can write to Redis can put any bytes in a queue, ``worker:<id>`` or the heartbeat
hash. Every payload must end as a success or as a failure record that keeps the input;
nothing may crash the worker, import code, or run a job that was not registered. Three
tools: hypothesis properties (bounded for CI), a seeded mutation fuzzer over valid payloads
(:func:`fuzz_inputs`), and real workers fed what both produce. Inputs that once failed are
kept as ``@example`` and parameters.
"""

from __future__ import annotations

import base64
import json
import math
import os
import random
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from resque_compat import JobRegistry, Payload, RedisSettings, codec
from resque_compat.devserver import RedisServerProcess
from resque_compat.errors import DecodeError
from resque_compat.job import UNREADABLE_PAYLOAD_CLASS, PayloadError
from resque_compat.keys import Keys
from resque_compat.store.lifecycle import Ending, QueueList, Reserved
from resque_compat.worker import QueueSelector, Worker, WorkerSettings
from resque_compat.worker.runner import JobResult, perform, read_payload
from tests.chaos.jobs import CHAOS_QUEUE, RAN_KEY
from tests.chaos.procs import WorkerProcess, worker_env
from tests.workerproc import text

KEYS = Keys()
HOST = socket.gethostname()
MODES = [pytest.param([], id="fork"), pytest.param(["--no-fork"], id="nofork")]
SLOW = pytest.mark.skipif(
    os.environ.get("RESQUE_COMPAT_SLOW") != "1",
    reason="slow (100 MB through Redis and a worker): set RESQUE_COMPAT_SLOW=1 to run it",
)
MAX_RUBY_NESTING = 100

HOSTILE_CLASS_NAMES = [
    "os.system",
    "__import__",
    "../../x",
    "subprocess.Popen",
    "builtins.eval",
    "eval",
    "exec",
    "getattr",
    "__builtins__",
    "Kernel.system",
    "importlib.import_module",
    "pickle.loads",
    "smtplib.SMTP",
    "ftplib.FTP",
    "xmlrpc.server.SimpleXMLRPCServer",
    "tests.chaos.jobs.chaos_job",
    "tests.chaos.jobs:chaos_job",
    "Recorder.__class__",
    "recorder",
    " Recorder",
    "Recorder\x00",
    "Recorder\n",
    "%s%n",
    "\u202eredroceR",
    "x" * 10_000,
]
CANARY_MODULES = ["smtplib", "ftplib", "xmlrpc.server", "pickle", "antigravity", "this"]
"""Modules a hostile class name points at; none may be imported by running a payload."""


# -- strategies -------------------------------------------------------------------------------

TOKENS = [
    b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b" ", b"\n", b"null", b"true", b"false",
    b"NaN", b"Infinity", b"-", b"0", b"1", b"1e5", b"-0.0", b"0x10", b"01", b'"class"',
    b'"args"', b'"Recorder"', b'"os.system"', b'"__import__"', b"\\u0000", b"\\ud800",
    b"\xff", b"\xc3\x28", b"\x00",
]  # fmt: skip
json_like = st.lists(st.sampled_from(TOKENS), max_size=40).map(b"".join)
any_bytes = st.binary(max_size=300) | json_like

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=15,
)
MISSING = object()


@st.composite
def hostile_documents(draw: st.DrawFn) -> Any:
    """A payload-shaped document with a wrong type, or a hostile value, in every field."""
    shape = draw(st.sampled_from(["object", "other"]))
    if shape == "other":
        return draw(json_values)
    document: dict[str, Any] = draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3))
    klass = draw(
        st.just(MISSING) | json_values | st.sampled_from([*HOSTILE_CLASS_NAMES, "Recorder", ""])
    )
    args = draw(st.just(MISSING) | json_values | st.lists(json_values, max_size=4))
    if klass is not MISSING:
        document["class"] = klass
    if args is not MISSING:
        document["args"] = args
    return document


def dumps(document: Any) -> bytes:
    """Any document as JSON text (NaN/Infinity included, as Python's json writes them)."""
    return json.dumps(document).encode()


# -- helpers ----------------------------------------------------------------------------------


class Recorder:
    """The only job of the in-process registry: remembers each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.registry = JobRegistry()
        self.registry.register_function("Recorder", self.perform)

    def perform(self, *args: Any) -> None:
        self.calls.append(args)


def payload_or_none(raw: bytes) -> Payload | None:
    try:
        return Payload.decode(raw)
    except PayloadError:
        return None


def check_perform(raw: bytes) -> JobResult:
    """Run ``raw`` in-process: a JobResult, never an exception, no import, only Recorder runs."""
    recorder = Recorder()
    modules_before = set(sys.modules)
    result = perform(raw, recorder.registry)
    assert set(sys.modules) == modules_before, set(sys.modules) - modules_before
    assert isinstance(result, JobResult)
    payload = payload_or_none(raw)
    runnable = payload is not None and payload.class_name == "Recorder"
    assert result.ok is runnable, (raw, result)
    assert recorder.calls == ([payload.args] if runnable and payload else [])
    if not result.ok:
        assert result.exception and result.error is not None
    return result


def nesting(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((nesting(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((nesting(v) for v in value), default=0)
    return 0


def _unwritable(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_unwritable(k) or _unwritable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unwritable(v) for v in value)
    return False


def unwrapped(kept: Any) -> bytes | None:
    """The exact bytes inside an ``UnreadablePayload`` wrapper, or None for anything else."""
    if not (isinstance(kept, dict) and kept.get("class") == UNREADABLE_PAYLOAD_CLASS):
        return None
    args = kept.get("args")
    if not (isinstance(args, list) and len(args) == 2 and isinstance(args[1], str)):
        return None
    return base64.b64decode(args[1], validate=True)


def keeps(kept: Any, raw: bytes) -> bool:
    """Whether a failure record's ``payload`` is the input: the payload as written when it
    is a usable job, else the wrapper holding its exact bytes."""
    inner = unwrapped(kept)
    if inner is not None:
        return inner == raw
    try:
        Payload.decode(raw)
    except PayloadError:
        return False
    return bool(codec.decode(raw) == kept)


def mutate(rng: random.Random, seeds: list[bytes]) -> bytes:
    """One fuzz input: a seed payload after 1-6 random byte-level edits."""
    data = bytearray(rng.choice(seeds))
    for _ in range(rng.randint(1, 6)):
        position = rng.randint(0, len(data))
        edit = rng.randrange(6)
        if edit == 0 and data:
            data[min(position, len(data) - 1)] = rng.randrange(256)
        elif edit == 1:
            data[position:position] = rng.choice(FUZZ_DICTIONARY)
        elif edit == 2:
            del data[position : position + rng.randint(1, 8)]
        elif edit == 3:
            data[position:position] = data[position : position + rng.randint(1, 16)]
        elif edit == 4:
            del data[position:]
        else:
            other = rng.choice(seeds)
            data[position:] = other[rng.randint(0, len(other)) :]
    return bytes(data)


FUZZ_SEEDS = [
    b'{"class":"ChaosJob","args":["fuzz",0]}',
    b'{"class":"ChaosNoop","args":[]}',
    b'{"class":"ChaosNoop","args":[1,2.5,"x",null,true,{"a":[1]}]}',
    b'{"class":"ChaosJob","args":["fuzz",0],"queue":"chaos","id":"0f"}',
    b'{"class":"Recorder","args":[[],{}]}',
]
FUZZ_DICTIONARY = [t for t in TOKENS if t not in (b"\\ud800",)] + [
    b'"ChaosJob"',
    b'"../../x"',
    b'"subprocess.Popen"',
    b"-1",
    b"[[[[",
    b"]]]]",
]
"""Tokens the fuzzer inserts."""


def fuzz_inputs(count: int, seed: int = 20261128) -> list[bytes]:
    rng = random.Random(seed)
    return [mutate(rng, FUZZ_SEEDS) for _ in range(count)]


# -- the decoder ------------------------------------------------------------------------------


@settings(database=None, max_examples=300)
@given(any_bytes)
@example(b"[" * 100_000)
@example(b'{"a":' * 50_000)
@example(b"\xff\xfe\x00")
@example(b'"\\ud800"')
def test_decode_returns_a_value_or_a_decode_error_keeping_the_bytes(raw: bytes) -> None:
    try:
        codec.decode(raw)
    except DecodeError as error:
        assert error.raw == raw


@settings(database=None, max_examples=200)
@given(st.text(max_size=200))
def test_decode_of_any_text_returns_a_value_or_a_decode_error(text: str) -> None:
    try:
        codec.decode(text)
    except DecodeError as error:
        assert isinstance(error.raw, bytes)


@pytest.mark.parametrize("opening", [b"[", b'{"a":', b'{"class":"X","args":['])
def test_deep_nesting_is_a_decode_error_not_a_crash(opening: bytes) -> None:
    with pytest.raises(PayloadError) as refused:
        Payload.decode(opening * 200_000)
    assert refused.value.raw == opening * 200_000


# -- the payload ------------------------------------------------------------------------------


@settings(database=None, max_examples=300)
@given(any_bytes)
def test_payload_decode_of_any_bytes_is_a_payload_or_a_payload_error(raw: bytes) -> None:
    try:
        payload = Payload.decode(raw)
    except PayloadError as error:
        assert error.raw == raw
        return
    assert isinstance(payload.class_name, str) and payload.class_name
    assert isinstance(payload.args, tuple)


@settings(database=None, max_examples=300)
@given(hostile_documents())
@example({"class": ["Recorder"], "args": []})
@example({"class": "Recorder", "args": "x"})
@example({"class": "Recorder", "args": {"0": 1}})
@example({"class": "", "args": []})
@example({"class": None})
@example({"args": [1]})
@example({"class": "Recorder", "args": None})
@example({"class": "Recorder", "args": [float("nan")]})
def test_payload_decode_accepts_exactly_a_class_name_and_a_list(document: Any) -> None:
    raw = dumps(document)
    try:
        codec.decode(raw)
        parsable = True
    except DecodeError:
        parsable = False
    valid = (
        parsable
        and isinstance(document, dict)
        and isinstance(document.get("class"), str)
        and document["class"] != ""
        and isinstance(document.get("args", []), (list, type(None)))
    )
    if valid:
        payload = Payload.decode(raw)
        assert payload.class_name == document["class"]
        assert list(payload.args) == (document.get("args") or [])
    else:
        with pytest.raises(PayloadError):
            Payload.decode(raw)


# -- the payload-to-call path, in-process -----------------------------------------------------


@settings(database=None, max_examples=300)
@given(any_bytes | hostile_documents().map(dumps))
def test_perform_never_raises_and_runs_only_registered_jobs(raw: bytes) -> None:
    check_perform(raw)


@pytest.mark.parametrize("class_name", HOSTILE_CLASS_NAMES, ids=lambda name: repr(name)[:30])
def test_a_hostile_class_name_imports_and_runs_nothing(class_name: str) -> None:
    loaded = set(sys.modules)
    result = check_perform(codec.encode({"class": class_name, "args": ["touch /tmp/pwned"]}))
    assert (result.ok, result.exception) == (False, "UnknownJobError")
    assert set(sys.modules) == loaded, "running a payload imported a module"
    assert not [m for m in CANARY_MODULES if m in sys.modules and m not in loaded]


def test_fuzzer_inputs_through_perform() -> None:
    """A bounded run of the mutation fuzzer (3,000 inputs) through the in-process path."""
    outcomes = [check_perform(raw).ok for raw in fuzz_inputs(3_000)]
    assert 0 < outcomes.count(False) < len(outcomes)


# -- the worker's in-flight record ------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_redis(redis_server: RedisServerProcess) -> Iterator[tuple[redis.Redis, Worker]]:
    client = redis.Redis(port=redis_server.port)
    worker = Worker(
        WorkerSettings(QueueSelector.parse(CHAOS_QUEUE)), RedisSettings.from_url(redis_server.url)
    )
    yield client, worker
    worker.close()
    client.close()


def _reserve(fixture: tuple[redis.Redis, Worker], raw: bytes) -> bytes:
    """Push ``raw`` and take it as the worker does (the reserve script, then the rewrite of a
    record the script could not make readable): the ``worker:<id>`` record left."""
    client, worker = fixture
    client.delete(KEYS.queue(CHAOS_QUEUE), KEYS.worker(worker.id))
    client.rpush(KEYS.queue(CHAOS_QUEUE), raw)
    reserved = worker.driver.run(
        worker.ops.reserve(QueueList((CHAOS_QUEUE,)), "2026-11-28T06:52:30Z")
    )
    assert isinstance(reserved, Reserved) and reserved.raw == raw
    job = worker.readable(reserved, read_payload(raw))
    record = client.get(KEYS.worker(worker.id))
    assert record == job.record
    return bytes(record)


@settings(database=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(any_bytes)
@example(b"\xff\xfe")
@example(b"[" * 2000)
@example(b'{"class":"ChaosJob","args":["\\u0000"]}')
@example(b"0")
@example(b'{"class":"ChaosJob","args":["raw\nnewline",0]}')
@example(b'{"class":"ChaosJob","args":["raw \x01 control",0]}')
@example(b'{\n  "class": "ChaosJob",\n  "args": [1, 0]\n}')
def test_the_in_flight_record_is_json_keeping_the_payload(
    fuzz_redis: tuple[redis.Redis, Worker], raw: bytes
) -> None:
    """resque-web, Ruby's Worker#job and every worker's pruning read ``worker:<id>``: it must
    be JSON holding the payload (decoded, or as text when the payload is not JSON)."""
    record = codec.decode(_reserve(fuzz_redis, raw))
    assert list(record) == ["queue", "run_at", "payload"]
    assert record["queue"] == CHAOS_QUEUE
    assert holds(record["payload"], raw), (raw, record["payload"])


def holds(payload: Any, raw: bytes) -> bool:
    """Whether an in-flight record's payload is the job: its JSON, or (a payload that cannot
    run) the wrapper that keeps it whole."""
    if isinstance(payload, dict) and payload.get("class") == UNREADABLE_PAYLOAD_CLASS:
        return bool(base64.b64decode(payload["args"][1]) == raw)
    try:
        return bool(codec.decode(raw) == payload)
    except DecodeError:
        return False


@pytest.mark.parametrize(
    "raw",
    [
        b'{"class":"ChaosJob","args":[NaN]}',
        b'{"class":"ChaosJob","args":[-Infinity]}',
        b'{"class":"ChaosJob","args":[0x10]}',
        b'{"class":"ChaosJob","args":[01]}',
        b"nan",
        b"null\x00",
        b'{"class":"ChaosJob","args":["x",0]}\x00 and anything after',
    ],
)
def test_regression_the_in_flight_record_of_a_number_json_refuses(
    fuzz_redis: tuple[redis.Redis, Worker], raw: bytes
) -> None:
    record = codec.decode(_reserve(fuzz_redis, raw))
    assert record["payload"]["class"] == UNREADABLE_PAYLOAD_CLASS
    assert holds(record["payload"], raw)


# -- the failure record -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def record_failure(redis_server: RedisServerProcess) -> Iterator[Any]:
    """Record a failed job exactly as a worker does; returns the stored record."""
    client = redis.Redis(port=redis_server.port)
    worker = Worker(
        WorkerSettings(QueueSelector.parse(CHAOS_QUEUE)), RedisSettings.from_url(redis_server.url)
    )

    queues = QueueList((CHAOS_QUEUE,))
    run_at = "2026-11-28T06:52:30Z"

    def record(raw: bytes) -> dict[str, Any]:
        client.delete(KEYS.failed(), KEYS.queue(CHAOS_QUEUE), KEYS.worker(worker.id))
        client.rpush(KEYS.queue(CHAOS_QUEUE), raw)
        reserved = worker.driver.run(worker.ops.reserve(queues, run_at))
        assert isinstance(reserved, Reserved)
        push = worker.record_failure(reserved, JobResult(False, "PayloadError", "refused"))
        ending = Ending(failure=push, count_failed=True, reserve_next=False)
        worker.driver.run(worker.ops.done_and_reserve(reserved, queues, run_at, ending))
        [stored] = client.lrange(KEYS.failed(), 0, -1)
        document: dict[str, Any] = codec.decode(stored)
        return document

    yield record
    worker.close()
    client.close()


@settings(database=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(any_bytes)
@example(b'{"class":"ChaosJob","args":[1e308,-0.0,123456789012345678901234567890]}')
@example(b"[" * 100 + b"]" * 100)
def test_the_failure_record_keeps_any_input(record_failure: Any, raw: bytes) -> None:
    record = record_failure(raw)
    assert record["queue"] == CHAOS_QUEUE and record["exception"] == "PayloadError"
    assert keeps(record["payload"], raw), (raw, record["payload"])


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"class":"ChaosJob","args":[1e999]}', id="infinite-float"),
        pytest.param(b'{"class":"ChaosJob","args":["\\ud800"]}', id="lone-surrogate"),
        pytest.param(
            b'{"class":"ChaosJob","args":[' + b"[" * 98 + b"]" * 98 + b"]}", id="nesting-100"
        ),
    ],
)
def test_regression_the_failure_record_keeps_unwritable_json(
    record_failure: Any, raw: bytes
) -> None:
    assert keeps(record_failure(raw)["payload"], raw)


# -- real workers -----------------------------------------------------------------------------

EXPLICIT_HOSTILE = [
    b"",
    b" ",
    b"null",
    b"[]",
    b'"ChaosJob"',
    b"\xff\xfe\x00\x01",
    b'{"class":"ChaosJob","args":["\xff"]}',
    b'{"class":"ChaosJob","args":[1,2,3,4]}',
    b'{"class":"ChaosJob","args":"fuzz"}',
    b'{"class":"ChaosJob","args":{"0":"fuzz"}}',
    b'{"class":"ChaosJob"}',
    b'{"class":"ChaosJob","args":null}',
    b'{"class":42,"args":[]}',
    b'{"class":{"a":1},"args":[]}',
    b'{"args":["fuzz",0]}',
    b'{"class":"ChaosJob","args":["dup",0],"class":"os.system"}',
    b'{"class":"ChaosJob","args":[["fuzz"],0]}',
    b'{"class":"ChaosJob","args":["fuzz","0"]}',
    b'{"class":"ChaosJob","args":["fuzz",NaN]}',
    b'{"class":"ChaosJob","args":["fuzz",0]',
    b"[" * 5000 + b"]" * 5000,
    b'{"class":"ChaosJob","args":[' + b"[" * 97 + b"]" * 97 + b"]}",  # its record: 100 deep
    *(codec.encode({"class": name, "args": ["touch /tmp/pwned"]}) for name in HOSTILE_CLASS_NAMES),
]
SENTINEL = b'{"class":"ChaosJob","args":["sentinel",0]}'


def _run_worker(url: str, inputs: list[bytes], args: list[str], log: Path) -> str:
    """Queue ``inputs`` then a sentinel, drain them with one worker; its output."""
    with redis.Redis.from_url(url) as client:
        client.sadd(KEYS.queues(), CHAOS_QUEUE)
        for raw in [*inputs, SENTINEL]:
            client.rpush(KEYS.queue(CHAOS_QUEUE), raw)
    worker = WorkerProcess.python(CHAOS_QUEUE, ["--interval", "0", *args], worker_env(url), log)
    try:
        code = worker.wait(300)
    finally:
        worker.finish()
    output = worker.output()
    assert code == 0, output
    assert "Traceback" not in output, output
    return output


def _match_failures(inputs: list[bytes], records: list[dict[str, Any]]) -> list[bytes]:
    """Walk inputs and failure records in queue order; the inputs that succeeded."""
    succeeded = []
    pending = list(records)
    for raw in inputs:
        if pending and keeps(pending[0]["payload"], raw):
            record = pending.pop(0)
            assert record["exception"] and record["error"], record
            assert record["queue"] == CHAOS_QUEUE and isinstance(record["backtrace"], list)
        else:
            succeeded.append(raw)
    assert pending == [], f"failure records matching no input in order: {pending[:3]}"
    return succeeded


@pytest.mark.parametrize("mode", MODES)
def test_a_worker_survives_a_queue_of_hostile_payloads(
    redis_url: str, raw_redis: redis.Redis, tmp_path: Path, mode: list[str]
) -> None:
    inputs = [*EXPLICIT_HOSTILE, *fuzz_inputs(150)]
    modules = set(sys.modules)
    _run_worker(redis_url, inputs, mode, tmp_path / "worker.log")
    records = [codec.decode(r) for r in raw_redis.lrange(KEYS.failed(), 0, -1)]
    succeeded = _match_failures(inputs, records)
    ran = [text(r) for r in raw_redis.lrange(RAN_KEY, 0, -1)]
    assert ran[-1] == "sentinel"
    assert int(raw_redis.get(KEYS.stat("processed")) or 0) == len(inputs) + 1
    assert int(raw_redis.get(KEYS.stat("failed")) or 0) == len(records)
    for raw in succeeded:
        payload = Payload.decode(raw)
        assert payload.class_name in ("ChaosJob", "ChaosNoop"), raw
    assert len(ran) - 1 == sum(1 for raw in succeeded if b"ChaosJob" in raw)
    assert raw_redis.smembers(KEYS.workers()) == set()
    assert set(sys.modules) == modules


def test_regression_a_nul_in_the_class_name_does_not_stop_a_worker(
    redis_url: str, raw_redis: redis.Redis, tmp_path: Path
) -> None:
    raw = codec.encode({"class": "ChaosJob\x00", "args": ["nul", 0]})
    _run_worker(redis_url, [raw], ["--no-fork"], tmp_path / "worker.log")
    [record] = [codec.decode(r) for r in raw_redis.lrange(KEYS.failed(), 0, -1)]
    assert record["exception"] == "UnknownJobError" and keeps(record["payload"], raw)


def _huge_inputs(size: int) -> list[bytes]:
    filler = b"x" * size
    return [
        b'{"class":"ChaosJob","args":["huge-' + filler + b'",0]}',
        b'{"class":"NoSuchJob","args":["' + filler + b'"]}',
        b'{"class":"ChaosJob","args":["' + filler,
    ]


@pytest.mark.parametrize(
    ("size", "mode"),
    [
        pytest.param(5 * 2**20, [], id="5MB-fork"),
        pytest.param(5 * 2**20, ["--no-fork"], id="5MB-nofork"),
        pytest.param(100 * 2**20, ["--no-fork"], id="100MB-nofork", marks=SLOW),
    ],
)
def test_huge_payloads_run_or_fail_with_the_input_kept(
    redis_url: str, raw_redis: redis.Redis, tmp_path: Path, size: int, mode: list[str]
) -> None:
    inputs = _huge_inputs(size)
    _run_worker(redis_url, inputs, mode, tmp_path / "worker.log")
    ran = raw_redis.lrange(RAN_KEY, 0, -1)
    assert [len(r) for r in ran] == [len("huge-") + size, len("sentinel")]
    records = [codec.decode(r) for r in raw_redis.lrange(KEYS.failed(), 0, -1)]
    assert [r["exception"] for r in records] == ["UnknownJobError", "PayloadError"]
    assert keeps(records[0]["payload"], inputs[1]) and keeps(records[1]["payload"], inputs[2])


# -- garbage in the worker registry -----------------------------------------------------------

DEAD = f"{HOST}:999999:{CHAOS_QUEUE}"
"""A worker on this host, same queues, pid that cannot exist: pruned at startup."""
EXPIRED = "2000-01-01T00:00:00+00:00"


def _dead_worker(record: bytes) -> Any:
    return lambda c: (c.sadd(KEYS.workers(), DEAD), c.set(KEYS.worker(DEAD), record))


GARBAGE = [
    pytest.param(
        lambda c: c.hset(
            KEYS.heartbeats(),
            mapping={
                "a": "garbage",
                "b": "",
                "c": "9999-99-99",
                "d": b"\xff",
                "e": "1e999",
                "f": "-1",
                "g": "x" * 100_000,
                DEAD: "2026-13-45T99:99:99Z",
            },
        ),
        id="heartbeat-values",
    ),
    pytest.param(
        lambda c: c.hset(KEYS.heartbeats(), mapping={"::::": EXPIRED, "": EXPIRED}),
        id="expired-heartbeats-of-odd-ids",
    ),
    pytest.param(_dead_worker(b"\xff not json {"), id="record-not-json"),
    pytest.param(_dead_worker(b"[]"), id="record-json-list"),
    pytest.param(_dead_worker(b"null"), id="record-null"),
    pytest.param(_dead_worker(b'{"queue":"chaos","payload":[NaN]}'), id="record-nan"),
    pytest.param(_dead_worker(b'{"queue":1,"payload":{"class":[]}}'), id="record-wrong-types"),
    pytest.param(_dead_worker(b"[" * 100_000), id="record-deep"),
    pytest.param(
        lambda c: c.sadd(
            KEYS.workers(), "", ":", "x", f"{HOST}:notapid:{CHAOS_QUEUE}", f"{HOST}::", "a:b:c:d"
        ),
        id="odd-worker-ids",
    ),
    pytest.param(lambda c: c.set(KEYS.worker_started(DEAD), b"\xff\x00"), id="started-garbage"),
    pytest.param(lambda c: c.set(KEYS.pause_all(), b"\xff\x00 maybe"), id="pause-garbage"),
    pytest.param(
        lambda c: c.hset(KEYS.heartbeats(), b"\xff\xfe:1:q", EXPIRED), id="non-utf8-heartbeat-id"
    ),
    pytest.param(
        lambda c: c.sadd(KEYS.workers(), f"{HOST}:".encode() + b"\xff:" + CHAOS_QUEUE.encode()),
        id="non-utf8-worker-id",
    ),
    pytest.param(
        lambda c: (c.sadd(KEYS.workers(), DEAD), c.rpush(KEYS.worker(DEAD), b"x")),
        id="record-not-a-string",
    ),
]


def in_flight_kept(kept: Any, planted: bytes) -> bool:
    """Whether pruning kept the dead worker's job: the payload of its ``worker:<id>`` record,
    or (record or payload unusable) a wrapper holding the record's or the payload's bytes."""
    try:
        record = codec.decode(planted)
    except DecodeError:
        return keeps(kept, planted)
    payload = record.get("payload") if isinstance(record, dict) else record
    inner = unwrapped(kept)
    return kept == payload or (inner is not None and codec.decode(inner) == payload)


@pytest.mark.parametrize("plant", GARBAGE)
def test_garbage_in_the_worker_registry_does_not_stop_a_worker(
    redis_url: str, raw_redis: redis.Redis, tmp_path: Path, plant: Any
) -> None:
    plant(raw_redis)
    planted = (
        raw_redis.get(KEYS.worker(DEAD)) if raw_redis.type(KEYS.worker(DEAD)) == b"string" else None
    )
    assert planted is None or isinstance(planted, bytes)
    _run_worker(redis_url, [], ["--no-fork"], tmp_path / "worker.log")
    assert [text(r) for r in raw_redis.lrange(RAN_KEY, 0, -1)] == ["sentinel"]
    assert DEAD.encode() not in raw_redis.smembers(KEYS.workers())
    failures = [codec.decode(r) for r in raw_redis.lrange(KEYS.failed(), 0, -1)]
    if planted is None or planted in (b"[]", b"null"):
        assert failures == []  # no job recorded: nothing to fail, as in Ruby
        return
    [failure] = failures
    assert failure["worker"] == DEAD and failure["exception"] == "Resque::DirtyExit"
    assert in_flight_kept(failure["payload"], planted), failure["payload"]


def test_fuzz_inputs_are_reproducible() -> None:
    assert fuzz_inputs(20) == fuzz_inputs(20)
    assert len(set(fuzz_inputs(200))) > 150
