"""The harness in ``compat_tests/reference.py`` works: recordings load, the MONITOR capture sees
exactly what was sent, the normaliser turns raw values into the recorded placeholders, and the
comparison helpers fail on a single wrong byte.

These tests check the harness, not ``resque_compat``: they replay the recordings' own commands
with plain redis-py.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from compat_tests import reference as ref
from compat_tests.reference import (
    Command,
    CommandCapture,
    KeyEntry,
    Keyspace,
    Meta,
    Recording,
    Value,
)

SCENARIOS = ref.scenarios()
#: The upstream recordings beside the checkout (``../shared/resque-reference``).
SHARED_REFERENCE = Path(__file__).resolve().parent.parent.parent / "shared" / "resque-reference"
# The raw examples were taken on 2026-11-28 around 07:18-07:19 UTC (see their heartbeats).
RECORDED_AROUND = datetime(2026, 11, 28, 7, 19, tzinfo=timezone.utc)
PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")


# --------------------------------------------------------------------------------------------
# helpers: turn placeholders back into realistic values, replay commands with redis-py
# --------------------------------------------------------------------------------------------


def ruby_strftime(ruby_format: str, moment: datetime) -> str:
    """Enough of Ruby's strftime for the recordings' formats, for a UTC ``moment``."""
    if ruby_format == "%s":
        return str(int(moment.timestamp()))
    return moment.strftime(ruby_format.replace("%:z", "+00:00"))


def placeholder_values(
    recording: Recording, *, host: str, pid: int, child_pid: int, moment: datetime
) -> dict[str, str]:
    """A realistic raw value for every placeholder of the recording, as it appears inside a
    value (backtrace lines JSON-escaped: they only occur inside JSON strings)."""
    python_frame = '  File "/app/jobs.py", line 6, in perform'
    values = {
        "<HOST>": host,
        "<PID>": str(pid),
        "<CHILD_PID>": str(child_pid),
        "<UUID>": str(uuid.uuid4()),
        "<BACKTRACE_LINE>": json.dumps(python_frame)[1:-1],
    }
    for name, info in recording.placeholders.items():
        if "format" in info and name not in values and name != "<BACKTRACE_LINE>":
            values[name] = ruby_strftime(info["format"], moment)
    return values


def denormalize_text(text: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: values.get(match.group(0), match.group(0)), text)


def denormalize_value(value: Value, values: Mapping[str, str]) -> Value:
    if isinstance(value, str):
        return denormalize_text(value, values)
    return value


def denormalize_keyspace(keyspace: Keyspace, values: Mapping[str, str]) -> Keyspace:
    result: Keyspace = {}
    for key, entry in keyspace.items():
        kind, raw = entry["type"], entry["value"]
        new_value: ref.KeyValue
        if kind in ("list", "set"):
            new_value = [denormalize_value(item, values) for item in cast("list[Value]", raw)]
        elif kind == "hash":
            new_value = {
                denormalize_text(field, values): denormalize_value(item, values)
                for field, item in cast("dict[str, Value]", raw).items()
            }
        else:
            new_value = denormalize_value(cast("Value", raw), values)
        result[denormalize_text(key, values)] = KeyEntry(
            type=entry["type"], ttl=entry["ttl"], value=new_value
        )
    return result


def url_with_db(url: str, db: int) -> str:
    """The same server, database ``db`` (redis-py lets the URL's path win over ``db=``)."""
    return re.sub(r"/\d*$", f"/{db}", url)


def one_connection_client(url: str, db: int) -> redis.Redis:
    """A client whose commands and pipelines all go through one connection."""
    pool = redis.ConnectionPool.from_url(url_with_db(url, db), max_connections=1)
    return redis.Redis(connection_pool=pool)


def wire(command: Sequence[Value]) -> tuple[str, list[bytes]]:
    """Command name upper-cased (as redis-py sends it) and the exact argument bytes."""
    name = command[0]
    assert isinstance(name, str)
    return name.upper(), [ref.value_to_bytes(arg) for arg in command[1:]]


def is_enqueue_pair(commands: Sequence[Command], meta: Sequence[Meta], index: int) -> bool:
    return (
        index + 1 < len(commands)
        and commands[index][0] == "sadd"
        and commands[index + 1][0] == "rpush"
        and meta[index] == meta[index + 1]
    )


class Replayer:
    """Sends recorded commands with redis-py, one connection per recorded ``connN``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.clients: dict[str, redis.Redis] = {}

    def client(self, meta: Meta) -> redis.Redis:
        if meta.conn not in self.clients:
            self.clients[meta.conn] = one_connection_client(self.url, meta.db)
        return self.clients[meta.conn]

    def replay(self, commands: Sequence[Command], meta: Sequence[Meta]) -> None:
        index = 0
        while index < len(commands):
            client = self.client(meta[index])
            if commands[index][0] == "select":
                index += 1  # redis-py sends SELECT itself when it connects to a db != 0
                continue
            if is_enqueue_pair(commands, meta, index):
                # Resque pipelines SADD + RPUSH; so does this replay (non-transactional).
                pipe = client.pipeline(transaction=False)
                for command in commands[index : index + 2]:
                    name, args = wire(command)
                    cast(Any, pipe).execute_command(name, *args)
                pipe.execute()
                index += 2
                continue
            name, args = wire(commands[index])
            cast(Any, client).execute_command(name, *args)  # untyped in redis-py
            index += 1

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
            client.connection_pool.disconnect()


@pytest.fixture
def replayer(redis_url: str) -> Iterator[Replayer]:
    player = Replayer(redis_url)
    yield player
    player.close()


def rpush_failed_values(recording: Recording, key: str = "resque:failed") -> list[Value]:
    return [c[2] for c in recording.commands if c[0] == "rpush" and c[1] == key]


def wait_for_expiry(client: redis.Redis, timeout: float = 3.0) -> None:
    """Let keys with a short EX (timing-dependent scenarios) expire, as they did when recorded."""
    deadline = time.monotonic() + timeout
    while any(client.ttl(key) >= 0 for key in client.scan_iter()) and time.monotonic() < deadline:
        time.sleep(0.05)


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_recording_loads(scenario: str) -> None:
    recording = ref.load(scenario)
    assert recording.scenario == scenario
    assert len(recording.commands) == len(recording.command_meta) > 0
    assert recording.calls, "every recording lists its Ruby calls"
    start = recording.calls[0].first_command_index
    owned = [c for i in range(len(recording.calls)) for c in recording.commands_for_call(i)]
    assert owned == recording.commands[start:]
    for label in recording.snapshot_labels:
        assert isinstance(recording.snapshot(label), dict)
    assert recording.snapshot() is recording.keys
    whole = recording.slice(0)
    assert whole.heartbeat_indexes == recording.heartbeat_indexes
    assert whole.unordered_ranges == recording.unordered_ranges


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_heartbeat_detection_reproduces_the_recorded_indexes(scenario: str) -> None:
    recording = ref.load(scenario)
    found = ref.find_heartbeat_indexes(recording.commands, recording.command_meta)
    assert found == sorted(recording.heartbeat_indexes)


@pytest.mark.skipif(not SHARED_REFERENCE.is_dir(), reason="shared reference set not mounted")
def test_reference_copies_are_identical_to_the_shared_set() -> None:
    shared = sorted(path.name for path in SHARED_REFERENCE.glob("*.json"))
    assert shared == [f"{name}.json" for name in SCENARIOS]
    for name in shared:
        mine = (ref.REFERENCE_DIR / name).read_bytes()
        assert mine == (SHARED_REFERENCE / name).read_bytes(), name


def test_call_slices_rebase_heartbeats_and_unordered_ranges() -> None:
    recording = ref.load("enqueue_to_dequeue")
    info_call = next(i for i, c in enumerate(recording.calls) if c.text.startswith("Resque.info"))
    piece = recording.calls_slice(info_call)
    assert piece.start == 34
    assert piece.commands == recording.commands[34:44]
    assert piece.unordered_ranges == ((1, 5),)
    worker = ref.load("worker_success")
    work = worker.calls_slice(1, len(worker.calls) - 1)
    assert work.start == 2
    assert work.heartbeat_indexes == (3, 4)


# --------------------------------------------------------------------------------------------
# normalisation: recorded data is a fixed point, denormalised data comes back
# --------------------------------------------------------------------------------------------


def all_keyspaces(recording: Recording) -> dict[str, Keyspace]:
    spaces = {"keys": recording.keys}
    spaces.update({f"keys_{label}": recording.snapshot(label) for label in recording.snapshots})
    spaces.update({f"db{db}": space for db, space in recording.keys_other_dbs.items()})
    return spaces


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_normalising_recorded_data_changes_nothing(scenario: str) -> None:
    recording = ref.load(scenario)
    normalizer = recording.normalizer(pids=[4242], now=RECORDED_AROUND)
    assert normalizer.commands(recording.commands) == recording.commands
    for label, keyspace in all_keyspaces(recording).items():
        ref.assert_keyspace_equal(normalizer.keyspace(keyspace), keyspace, what=label)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_placeholders_come_back_after_denormalising(scenario: str) -> None:
    recording = ref.load(scenario)
    values = placeholder_values(
        recording, host="pyhost.example", pid=4242, child_pid=31337, moment=RECORDED_AROUND
    )
    normalizer = recording.normalizer(host="pyhost.example", pids=[4242], now=RECORDED_AROUND)
    raw = [[denormalize_value(arg, values) for arg in c] for c in recording.commands]
    ref.assert_commands_equal(normalizer.commands(raw), recording.commands)
    for label, keyspace in all_keyspaces(recording).items():
        actual = normalizer.keyspace(denormalize_keyspace(keyspace, values))
        ref.assert_keyspace_equal(actual, keyspace, what=label)


def test_raw_examples_worker_id_run_at_started_heartbeat() -> None:
    recording = ref.load("worker_success")
    raw = recording.raw_examples
    mid_job = recording.snapshot("mid_job")
    normalizer = recording.normalizer(host="vm", pids=[29985], now=RECORDED_AROUND)
    (worker_id,) = raw["workers_set"]
    assert normalizer.text(worker_id) == recording.observations["worker_id"]
    assert [normalizer.text(worker_id)] == mid_job["resque:workers"]["value"]
    payload_key = normalizer.text(raw["worker_payload_key"])
    assert normalizer.value(raw["worker_payload_value"]) == mid_job[payload_key]["value"]
    assert '"run_at":"<TIME_ISO8601_UTC>"' in normalizer.text(raw["worker_payload_value"])
    started_key = normalizer.text(raw["worker_started_key"])
    assert normalizer.value(raw["worker_started_value"]) == mid_job[started_key]["value"]
    heartbeats = {normalizer.text(k): normalizer.text(v) for k, v in raw["heartbeat_hash"].items()}
    assert heartbeats == mid_job["resque:workers:heartbeat"]["value"]
    titles = {k: normalizer.text(v) for k, v in raw["process_titles_mid_job"].items()}
    assert titles == recording.observations["process_titles_mid_job"]


def test_raw_examples_failed_at_backtrace_and_child_pid() -> None:
    recording = ref.load("worker_failure")
    failed_raw = recording.raw_examples["failed_entries_raw"]
    expected = rpush_failed_values(recording)
    by_context = recording.normalizer(host="vm", pids=[24434], now=RECORDED_AROUND)
    by_pid = recording.normalizer(host="vm", pids=[24434], child_pids=[24446], now=RECORDED_AROUND)
    assert [by_context.value(entry) for entry in failed_raw] == expected
    assert [by_pid.value(entry) for entry in failed_raw] == expected
    zero_div = json.loads(str(by_context.value(recording.raw_examples["failed_entry"])))
    assert zero_div["failed_at"] == "<TIME_RESQUE_FAILED_AT>"
    assert zero_div["backtrace"] == ["<BACKTRACE_LINE>"] * 2  # one per frame: count matters
    killed = json.loads(str(by_context.value(failed_raw[-1])))
    assert killed["backtrace"] == []
    assert "pid <CHILD_PID> SIGKILL" in killed["error"]


def test_raw_examples_in_a_non_utc_zone() -> None:
    recording = ref.load("time_formats_non_utc")
    raw = recording.raw_examples
    normalizer = recording.normalizer(host="vm", pids=[24268], now=RECORDED_AROUND)
    after_requeue = normalizer.value(raw["failed_entry_after_requeue"])
    assert [after_requeue] == recording.keys["resque:failed"]["value"]
    assert normalizer.value(raw["worker_started_value"]) == "<TIME_RUBY_TO_S>"
    before = recording.snapshot("before_unregister")
    heartbeats = {normalizer.text(k): normalizer.text(v) for k, v in raw["heartbeat_hash"].items()}
    assert heartbeats == before["resque:workers:heartbeat"]["value"]


def test_raw_examples_of_other_hosts_and_fixed_dates_stay() -> None:
    recording = ref.load("prune_dead_workers")
    raw = recording.raw_examples
    # The pruning worker's own pid is not among the examples: fake pids on this host stay.
    normalizer = recording.normalizer(host="vm", pids=[], now=RECORDED_AROUND)
    failed = [normalizer.value(entry) for entry in raw["failed_entries_raw"]]
    assert failed == recording.keys["resque:failed"]["value"]
    key = normalizer.text(raw["worker_payload_key"])
    assert key == "resque:worker:otherhost:4343:file_serve"
    assert normalizer.value(raw["worker_payload_value"]) == recording.keys[key]["value"]
    assert normalizer.value(raw["worker_started_value"]) == "2000-01-01 00:00:00 +0000"
    heartbeats = {k: normalizer.text(v) for k, v in raw["heartbeat_hash"].items()}
    assert heartbeats == recording.keys["resque:workers:heartbeat"]["value"]


def test_raw_examples_activejob_uuid_and_enqueued_at() -> None:
    recording = ref.load("activejob")
    normalizer = recording.normalizer(now=RECORDED_AROUND)
    snapshot = recording.snapshot("after_enqueue")
    for queue, payloads in recording.raw_examples["queue_payloads"].items():
        normalized = [normalizer.value(payload) for payload in payloads]
        assert normalized == snapshot[f"resque:queue:{queue}"]["value"], queue


def test_raw_ttl_becomes_the_ttl_placeholder(raw_redis: redis.Redis) -> None:
    recording = ref.load("worker_success")
    worker_id = recording.raw_examples["workers_set"][0]
    raw_redis.set("resque:pruning_dead_workers_in_progress", worker_id, ex=60, nx=True)
    raw_redis.set("resque:stat:processed", "1")
    raw_redis.sadd("resque:queues", "file_serve")
    normalizer = recording.normalizer(host="vm", pids=[29985], now=RECORDED_AROUND)
    dumped = ref.dump_keyspace(raw_redis, normalizer=normalizer)
    ref.assert_keyspace_equal(dumped, recording.keys)
    exact = ref.dump_keyspace(raw_redis, exact_ttl=True)
    ttl = exact["resque:pruning_dead_workers_in_progress"]["ttl"]
    assert isinstance(ttl, int) and 0 < ttl <= 60


def test_time_window_keeps_far_timestamps() -> None:
    table = ref.load("worker_success").placeholders
    normalizer = ref.Normalizer(table, host="vm", now=RECORDED_AROUND)
    assert normalizer.text("2026-11-28T06:00:00Z") == "<TIME_ISO8601_UTC>"
    assert normalizer.text("2026-12-01T06:00:00Z") == "2026-12-01T06:00:00Z"
    anywhere = ref.Normalizer(table, host="vm", now=RECORDED_AROUND, window=None)
    assert anywhere.text("2000-01-01T00:00:00Z") == "<TIME_ISO8601_UTC>"
    # a 10-digit number is only a <UNIX_TIME> when near now (and when the table has it)
    near = str(int(RECORDED_AROUND.timestamp()))
    assert normalizer.text(f"since {near} [Job]") == "since <UNIX_TIME> [Job]"
    assert normalizer.text("args [2147483648]") == "args [2147483648]"
    assert ref.normalize_value(near, placeholders={}, now=RECORDED_AROUND) == near


def test_invalid_utf8_values_are_normalised_as_bytes() -> None:
    table = ref.load("worker_success").placeholders
    raw = b'{"run_at":"2026-11-28T07:19:17Z","x":"\xff"}'
    value = ref.value_from_bytes(raw)
    assert value == {"invalid_utf8_hex": raw.hex()}
    normalized = ref.normalize_value(value, placeholders=table, now=RECORDED_AROUND)
    placeholder = raw.replace(b"2026-11-28T07:19:17Z", b"<TIME_ISO8601_UTC>")
    assert normalized == ref.value_from_bytes(placeholder)


# --------------------------------------------------------------------------------------------
# MONITOR capture
# --------------------------------------------------------------------------------------------


def test_monitor_line_escapes_are_decoded() -> None:
    line = (
        b'+1795852929.658109 [2 127.0.0.1:60544] "SET" '
        b'"k\\xc3\\xa9\\n\\"\\\\ x" "\\xff\\x00\\a\\b"\r\n'
    )
    entry = ref.parse_monitor_line(line)
    assert entry.db == 2
    assert entry.client == "127.0.0.1:60544"
    assert entry.args == ["set", 'k\u00e9\n"\\ x', {"invalid_utf8_hex": "ff000708"}]
    ipv6 = ref.parse_monitor_line(b'+1.5 [0 [::1]:6000] "PING"\r\n')
    assert (ipv6.client, ipv6.args) == ("[::1]:6000", ["ping"])
    assert ref.parse_monitor_line(b'+1.5 [0 lua] "get" ""\r\n').args == ["get", ""]


def test_capture_filters_handshake_and_its_own_connections(redis_url: str) -> None:
    with CommandCapture(redis_url) as capture:
        named = redis.Redis.from_url(url_with_db(redis_url, 2), client_name="x", protocol=3)
        named.set("k", "v")
        capture.control.set("invisible", "1")
        assert capture.dump_keyspace()["invisible"]["value"] == "1"
        with CommandCapture(redis_url) as inner:
            named.get("k")
        named.close()
    assert inner.commands == [["get", "k"]]
    # HELLO and CLIENT SETNAME dropped; SELECT kept, as redis-rb's appears in the recordings.
    assert capture.commands == [["select", "2"], ["set", "k", "v"], ["get", "k"]]
    assert capture.meta == [Meta("conn1", 2)] * 3
    with CommandCapture(redis_url, drop_select=True) as capture:
        again = redis.Redis.from_url(url_with_db(redis_url, 2), client_name="x")
        again.get("k")
        again.close()
    assert capture.commands == [["get", "k"]]
    assert capture.meta == [Meta("conn1", 2)]
    assert capture.dump_keyspace(2) == {"k": KeyEntry(type="string", ttl=-1, value="v")}


def test_capture_waits_for_everything_sent(redis_url: str) -> None:
    sent = 3000

    def hammer() -> None:
        client = redis.Redis.from_url(redis_url)
        pipe = client.pipeline(transaction=False)
        for number in range(sent):
            pipe.rpush("numbers", str(number))
        pipe.execute()
        client.close()

    with CommandCapture(redis_url) as capture:
        thread = threading.Thread(target=hammer)
        thread.start()
        thread.join()
    assert capture.commands == [["rpush", "numbers", str(n)] for n in range(sent)]
    assert {m.conn for m in capture.meta} == {"conn1"}


def test_capture_checkpoints_slice_the_stream(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    with CommandCapture(redis_url) as capture:
        client.set("a", "1")
        first = capture.checkpoint()
        client.set("b", "2")
        client.get("a")
        second = capture.checkpoint()
    client.close()
    assert capture.commands[:first] == [["set", "a", "1"]]
    assert capture.commands[first:second] == [["set", "b", "2"], ["get", "a"]]


# --------------------------------------------------------------------------------------------
# replaying recordings and comparing
# --------------------------------------------------------------------------------------------


def test_replay_of_the_first_enqueues_matches(redis_url: str) -> None:
    """Three ``Resque.enqueue`` calls: pipelined SADD + RPUSH with the recording's bytes."""
    recording = ref.load("enqueue_basic")
    client = one_connection_client(redis_url, 0)
    with CommandCapture(redis_url) as capture:
        for call in range(3):
            sadd, rpush = recording.commands_for_call(call)
            pipe = client.pipeline(transaction=False)
            pipe.sadd("resque:queues", ref.value_to_bytes(sadd[2]))
            pipe.rpush("resque:queue:file_serve", ref.value_to_bytes(rpush[2]))
            pipe.execute()
        keyspace = capture.dump_keyspace()
    client.close()
    expected = recording.calls_slice(0, 2)
    ref.assert_slice_matches(capture.commands, expected, actual_meta=capture.meta)
    assert capture.commands == recording.commands[:6]
    queue = recording.keys["resque:queue:file_serve"]["value"]
    assert isinstance(queue, list)
    ref.assert_keyspace_equal(
        keyspace,
        {
            "resque:queue:file_serve": KeyEntry(type="list", ttl=-1, value=queue[:3]),
            "resque:queues": recording.keys["resque:queues"],
        },
    )


def test_a_wrong_byte_is_detected(redis_url: str) -> None:
    recording = ref.load("enqueue_basic")
    sadd, rpush = recording.commands_for_call(1)
    payload = ref.value_to_bytes(rpush[2]).replace(b"42", b"43", 1)
    client = redis.Redis.from_url(redis_url)
    with CommandCapture(redis_url) as capture:
        pipe = client.pipeline(transaction=False)
        pipe.sadd("resque:queues", ref.value_to_bytes(sadd[2]))
        pipe.rpush("resque:queue:file_serve", payload)
        pipe.execute()
        keyspace = capture.dump_keyspace()
    client.close()
    with pytest.raises(AssertionError) as commands_failure:
        ref.assert_commands_equal(capture.commands, recording.commands_for_call(1))
    message = str(commands_failure.value)
    assert "+" + json.dumps(["rpush", "resque:queue:file_serve", payload.decode()]) in message
    assert "-" + json.dumps(rpush) in message
    expected_keys: Keyspace = {
        "resque:queue:file_serve": KeyEntry(type="list", ttl=-1, value=[rpush[2]]),
        "resque:queues": recording.keys["resque:queues"],
    }
    with pytest.raises(AssertionError, match=r"changed keys: \['resque:queue:file_serve'\]"):
        ref.assert_keyspace_equal(keyspace, expected_keys)


def test_replay_of_enqueue_to_dequeue_with_set_order_changed(
    redis_url: str, replayer: Replayer
) -> None:
    recording = ref.load("enqueue_to_dequeue")
    commands, meta = list(recording.commands), recording.command_meta
    for start, end in recording.unordered_ranges:  # as if SMEMBERS had answered the other way
        commands[start:end] = reversed(commands[start:end])
    after_enqueues = recording.calls[11].first_command_index
    with CommandCapture(redis_url) as capture:
        replayer.replay(commands[:after_enqueues], meta[:after_enqueues])
        mid = capture.dump_keyspace()
        replayer.replay(commands[after_enqueues:], meta[after_enqueues:])
        final = capture.dump_keyspace()
    ref.assert_keyspace_equal(mid, recording.snapshot("after_enqueues"))
    ref.assert_keyspace_equal(final, recording.keys)
    ref.assert_slice_matches(capture.commands, recording.slice(0), actual_meta=capture.meta)
    with pytest.raises(AssertionError, match="llen"):
        ref.assert_commands_equal(capture.commands, recording.commands)


def replay_with_fresh_values(recording: Recording, replayer: Replayer) -> None:
    values = placeholder_values(
        recording,
        host=socket.gethostname(),
        pid=os.getpid(),
        child_pid=os.getppid(),
        moment=datetime.now(timezone.utc),
    )
    raw = [[denormalize_value(arg, values) for arg in c] for c in recording.commands]
    replayer.replay(raw, recording.command_meta)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_replay_of_every_recording_compares_equal(
    scenario: str, redis_url: str, replayer: Replayer
) -> None:
    """Placeholders filled with this run's host, pid and clock, replayed on the recorded
    connections: capture + normalisation give back the recording, meta included."""
    recording = ref.load(scenario)
    with CommandCapture(redis_url) as capture:
        replay_with_fresh_values(recording, replayer)
        if recording.timing_dependent:
            wait_for_expiry(capture.control)
        normalizer = recording.normalizer()
        keyspaces = {db: capture.dump_keyspace(db, normalizer=normalizer) for db in range(6)}
    actual = normalizer.commands(capture.commands)
    ref.assert_slice_matches(actual, recording.slice(0), actual_meta=capture.meta)
    ref.assert_commands_equal(
        actual, recording.commands, actual_meta=capture.meta, expected_meta=recording.command_meta
    )
    ref.assert_keyspace_equal(keyspaces[0], recording.keys)
    for db in range(1, 6):
        expected = recording.keys_other_dbs.get(db, {})
        ref.assert_keyspace_equal(keyspaces[db], expected, what=f"keyspace of db {db}")


def test_worker_snapshot_mid_job(redis_url: str, replayer: Replayer) -> None:
    recording = ref.load("worker_success")
    values = placeholder_values(
        recording,
        host=socket.gethostname(),
        pid=os.getpid(),
        child_pid=1,
        moment=datetime.now(timezone.utc),
    )
    raw = [[denormalize_value(arg, values) for arg in c] for c in recording.commands]
    normalizer = recording.normalizer()
    with CommandCapture(redis_url) as capture:
        replayer.replay(raw[:16], recording.command_meta[:16])  # up to the child's PING
        mid_job = capture.dump_keyspace(normalizer=normalizer)
        replayer.replay(raw[16:22], recording.command_meta[16:22])
        before_unregister = capture.dump_keyspace(normalizer=normalizer)
    ref.assert_keyspace_equal(mid_job, recording.snapshot("mid_job"))
    ref.assert_keyspace_equal(before_unregister, recording.snapshot("before_unregister"))


def test_heartbeat_position_is_compared_as_a_multiset() -> None:
    recording = ref.load("worker_success")
    commands, meta = list(recording.commands), list(recording.command_meta)
    moved = commands[:5] + commands[7:12] + commands[5:7] + commands[12:]
    moved_meta = meta[:5] + meta[7:12] + meta[5:7] + meta[12:]
    expected = recording.slice(0)
    ref.assert_slice_matches(moved, expected, actual_meta=moved_meta)
    ref.assert_slice_matches(moved, expected, heartbeats="ignore")
    with pytest.raises(AssertionError):
        ref.assert_slice_matches(moved, expected, heartbeats="strict")
    # a heartbeat on its own connection (a Python heartbeat thread) still pairs up
    own = [Meta("conn9", 0) if i in (10, 11) else m for i, m in enumerate(moved_meta)]
    ref.assert_slice_matches(moved, expected, actual_meta=own)
    assert ref.find_heartbeat_indexes(moved, own) == [10, 11]
    missing = commands[:5] + commands[7:]
    with pytest.raises(AssertionError, match="heartbeat commands"):
        ref.assert_slice_matches(missing, expected, actual_meta=meta[:5] + meta[7:])


def test_connection_use_is_compared_with_meta() -> None:
    recording = ref.load("worker_success")
    expected = recording.slice(0)
    one_connection = [Meta("conn1", 0)] * len(recording.commands)
    ref.assert_slice_matches(recording.commands, expected)  # without meta: equal
    with pytest.raises(AssertionError, match="c2 db0"):
        ref.assert_slice_matches(recording.commands, expected, actual_meta=one_connection)


def test_ignore_indexes_leaves_out_read_backs() -> None:
    recording = ref.load("enqueue_basic")
    read_backs = [
        i
        for call in range(len(recording.calls))
        if recording.calls[call].is_setup
        for i in range(*recording.call_bounds(call))
    ]
    assert read_backs == [30, 37]
    without = [c for i, c in enumerate(recording.commands) if i not in read_backs]
    ref.assert_commands_equal(without, recording.commands, ignore_indexes=read_backs)
    with pytest.raises(AssertionError):
        ref.assert_commands_equal(without, recording.commands)


def test_normalize_commands_signature_matches_the_normalizer() -> None:
    recording = ref.load("worker_failure")
    raw: Value = recording.raw_examples["failed_entry"]
    via_function = ref.normalize_commands(
        [["rpush", "resque:failed", raw]],
        placeholders=recording,
        host="vm",
        pids=[24434],
        now=RECORDED_AROUND,
    )
    assert via_function == [recording.commands[32]]
    keyspace: Keyspace = {"resque:failed": KeyEntry(type="list", ttl=-1, value=[raw])}
    normalized = ref.normalize_keyspace(
        keyspace, placeholders=recording.placeholders, host="vm", pids=[24434], now=RECORDED_AROUND
    )
    assert normalized["resque:failed"]["value"] == [recording.commands[32][2]]
    assert ref.normalize_value(raw, placeholders={}) == raw  # empty table: nothing replaced


def test_recorded_around_matches_the_raw_heartbeats() -> None:
    heartbeat = ref.load("worker_success").raw_examples["heartbeat_hash"]["vm:29985:file_serve"]
    assert abs(datetime.fromisoformat(heartbeat) - RECORDED_AROUND) < timedelta(hours=1)


def test_capture_with_acl_credentials(raw_redis: redis.Redis, redis_url: str) -> None:
    raw_redis.acl_setuser(
        "harness", enabled=True, passwords=["+s3cret"], keys=["*"], commands=["+@all"]
    )
    try:
        url = redis_url.replace("redis://", "redis://harness:s3cret@")
        client = redis.Redis.from_url(url)
        with CommandCapture(url) as capture:
            client.set("k", "v")
        client.close()
    finally:
        raw_redis.acl_deluser("harness")
    assert capture.commands == [["set", "k", "v"]]  # HELLO ... AUTH (redacted) is dropped
