"""Every producer-side Ruby recording, replayed through the Python API.

Each test performs, with ``resque_compat.Resque``, what the Ruby script did, captures the
commands Redis received (MONITOR) and compares them, command for command and key for key,
with what Ruby Resque 3.0 sent and left (after the recordings' normalisation).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from compat_tests import reference as ref
from compat_tests.reference import CommandCapture, Recording
from resque_compat import EncodeError, JobRegistry, JsonStyle, NoClassError, Resque
from resque_compat.client import ClientOptions
from resque_compat.connection import RedisSettings

STYLES = {
    "enqueue_basic": JsonStyle.JSON_GEM,
    "enqueue_basic_oj": JsonStyle.OJ,
    "enqueue_basic_activesupport": JsonStyle.ACTIVESUPPORT,
    "enqueue_basic_activesupport_oj": JsonStyle.ACTIVESUPPORT_OJ,
}


def client(url: str, registry: JobRegistry | None = None, **options: Any) -> Resque:
    opts = ClientOptions(registry=registry or JobRegistry(), **options)
    return Resque(RedisSettings.from_url(url), opts)


def recorded_enqueues(recording: Recording) -> Iterator[tuple[str, str, list[Any]]]:
    """(queue, class, args) of every SADD+RPUSH pair Ruby sent, decoded from its bytes."""
    commands = recording.commands
    for sadd, rpush in itertools.pairwise(commands):
        if sadd[0] == "sadd" and rpush[0] == "rpush" and str(rpush[1]).startswith("resque:queue:"):
            document = ref_decode(rpush[2])
            yield str(sadd[2]), document["class"], document.get("args", [])


def ref_decode(value: ref.Value) -> Any:
    from resque_compat import codec

    return codec.decode(ref.value_to_bytes(value))


@pytest.mark.parametrize("scenario", sorted(STYLES))
def test_enqueue_basic_bytes_and_keyspace(scenario: str, redis_url: str) -> None:
    """Resque.enqueue of every JSON-relevant value: the same pipelined SADD + RPUSH bytes."""
    recording = ref.load(scenario)
    resque = client(redis_url, json_style=STYLES[scenario])
    expected = [c for c in recording.commands if c[0] in ("sadd", "rpush")]
    with CommandCapture(redis_url) as capture:
        for queue, class_name, args in recorded_enqueues(recording):
            if class_name == "Raw::Push":
                resque.push(queue, {"class": class_name, "args": args, "extra": "kept"})
            else:
                resque.enqueue_to(queue, class_name, *args)
        keyspace = capture.dump_keyspace()
    resque.close()
    ref.assert_commands_equal(capture.commands, expected, actual_meta=capture.meta)
    ref.assert_keyspace_equal(keyspace, recording.keys)


@pytest.mark.parametrize(
    "bad",
    [float("nan"), float("inf"), "\udcff bad utf8", b"\xff\xfe binary", object(), {1: "one"}],
    ids=["nan", "infinity", "invalid-utf8", "binary", "object", "int-key"],
)
def test_values_ruby_cannot_encode_are_refused_before_sending(redis_url: str, bad: Any) -> None:
    resque = client(redis_url)
    with CommandCapture(redis_url) as capture:
        with pytest.raises(EncodeError):
            resque.enqueue_to("file_serve", "FileServe", 1, bad)
        with pytest.raises(EncodeError):
            resque.enqueue_many("file_serve", "FileServe", [[1], [bad]])
    resque.close()
    assert capture.commands == []


def test_enqueue_to_dequeue(redis_url: str) -> None:
    recording = ref.load("enqueue_to_dequeue")
    registry = JobRegistry()
    file_serve = registry.register_function("FileServe", _noop, queue="file_serve")
    archive = registry.register_function("Archive", _noop, queue="file_serve")
    from_method = registry.register_function("QueueFromMethod", _noop, queue="from_method")
    resque = client(redis_url, registry)
    results: list[Any] = []
    with CommandCapture(redis_url) as capture:
        for step in _enqueue_to_dequeue_steps(resque, file_serve, archive, from_method):
            results.append(step())
            if len(results) == 11:
                after_enqueues = capture.dump_keyspace()
        keyspace = capture.dump_keyspace()
    resque.close()
    ref.assert_commands_equal(
        capture.commands, recording.commands, unordered_ranges=recording.unordered_ranges
    )
    ref.assert_keyspace_equal(after_enqueues, recording.snapshot("after_enqueues"))
    ref.assert_keyspace_equal(keyspace, recording.keys)
    returned = [call.returned for call in recording.calls if call.returned is not None]
    assert _as_ruby(results[11:17]) == returned[11:17]
    info = results[19]
    assert {k: v for k, v in info.items() if k != "servers"} == {
        "pending": 11,
        "processed": 0,
        "queues": 4,
        "workers": 0,
        "working": 0,
        "failed": 0,
        "environment": "development",
    }
    assert results[22:26] == [2, 1, 0, 2] and results[26] == 3


def _noop(*_args: Any) -> None:
    return None


def _enqueue_to_dequeue_steps(
    r: Resque, file_serve: Any, archive: Any, from_method: Any
) -> list[Callable[[], Any]]:
    return [
        lambda: r.enqueue(file_serve, "a"),
        lambda: r.enqueue(archive, 1),
        lambda: r.enqueue(file_serve, "b", {"x": 1}),
        lambda: r.enqueue(file_serve, "a"),
        lambda: r.enqueue(archive, 2),
        lambda: r.enqueue(file_serve, "c"),
        lambda: r.enqueue_to("other_queue", file_serve, "elsewhere"),
        lambda: r.enqueue_to("symbol_queue", "Archive", 3),
        lambda: r.enqueue(from_method, 1),
        lambda: r.push("file_serve", {"args": ["x"], "class": "FileServe"}),
        lambda: r.enqueue(file_serve, "x"),
        lambda: r.size("file_serve"),
        lambda: r.size("nonexistent"),
        lambda: r.peek("file_serve"),
        lambda: r.peek("file_serve", 1, 3),
        lambda: r.peek("file_serve", 100, 1),
        lambda: r.peek("file_serve", 100, 2),
        lambda: r.queues(),
        lambda: r.queue_sizes(),
        lambda: r.info(),
        lambda: r.info(),
        lambda: r.keys(),
        lambda: r.dequeue(file_serve, "a"),
        lambda: r.dequeue(file_serve, "x"),
        lambda: r.dequeue(file_serve, "b"),
        lambda: r.dequeue(archive),
        lambda: r.destroy("file_serve", "FileServe"),
        lambda: r.size("file_serve"),
        lambda: r.remove_queue("other_queue"),
        lambda: r.pop("symbol_queue"),
        lambda: r.pop("symbol_queue"),
        lambda: r.pop("from_method"),
        lambda: r.queues(),
    ]


def _as_ruby(values: list[Any]) -> list[str]:
    """Python results written the way the recording wrote Ruby's (inspect)."""
    return [_ruby_inspect(value) for value in values]


def _ruby_inspect(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_ruby_inspect(item) for item in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_ruby_inspect(k)}=>{_ruby_inspect(v)}" for k, v in value.items())
        return "{" + items + "}"
    return str(value)


def test_enqueue_hooks(redis_url: str) -> None:
    recording = ref.load("enqueue_hooks")
    registry = JobRegistry()
    events: list[str] = []
    gated = registry.register_function("Gated", _noop, queue="gated")

    def before_enqueue(arg: str) -> bool:
        events.append(f"before {arg}")
        return arg != "reject"

    gated.hook("before_enqueue")(before_enqueue)
    gated.hook("after_enqueue")(lambda arg: events.append(f"after {arg}"))
    gated.hook("before_dequeue")(lambda arg: arg != "keep")
    resque = client(redis_url, registry)
    with CommandCapture(redis_url) as capture:
        assert resque.enqueue(gated, "reject") is None
        assert resque.enqueue(gated, "accept") is True
        assert resque.enqueue(gated, "keep") is True
        assert resque.dequeue(gated, "keep") is None
        assert resque.dequeue(gated, "accept") == 1
        assert resque.enqueue(gated, "front") is True
        keyspace = capture.dump_keyspace()
    resque.close()
    ref.assert_commands_equal(capture.commands, recording.commands)
    ref.assert_keyspace_equal(keyspace, recording.keys)
    assert events == [
        "before reject",
        "before accept",
        "after accept",
        "before keep",
        "after keep",
        "before front",
        "after front",
    ]


def test_class_given_as_nothing_is_refused(redis_url: str) -> None:
    resque = client(redis_url)
    with pytest.raises(NoClassError):
        resque.enqueue_to("file_serve", "")
    resque.close()


def test_namespace_and_db_forms(redis_url: str) -> None:
    """Ruby's connection strings and namespaces: same SELECTs, same prefixed keys."""
    recording = ref.load("namespace_and_db")
    port = urlsplit(redis_url).port
    forms = [
        (f"localhost:{port}:2", None),
        (f"localhost:{port}/myapp", None),
        (f"redis://localhost:{port}/3", None),
        (f"redis://localhost:{port}/4", None),
        (f"redis://127.0.0.1:{port}/5", "custom"),
        (f"localhost:{port}", "resque:GitHub"),
    ]
    with CommandCapture(redis_url) as capture:
        for location, namespace in forms:
            resque = Resque.from_url(location, namespace)
            resque.enqueue_to("file_serve", "FileServe", "x")
            assert resque.queues() == ["file_serve"]
            resque.close()
        keyspaces = {db: capture.dump_keyspace(db) for db in range(2, 6)}
    worker_call = next(c for c in recording.calls if "Worker.new" in c.text)
    producer_part = recording.commands[: worker_call.first_command_index]
    ref.assert_commands_equal(
        capture.commands,
        producer_part,
        actual_meta=capture.meta,
        expected_meta=recording.command_meta[: len(producer_part)],
    )
    for db, keys in (recording.keys_other_dbs or {}).items():
        ref.assert_keyspace_equal(keyspaces[int(db)], keys)
