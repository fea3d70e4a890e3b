"""Failure backends against a real Redis: records, management calls, races, Multiple, names."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import pytest
import redis

from resque_compat.codec import JsonStyle
from resque_compat.connection import RedisSettings
from resque_compat.errors import ConfigurationError
from resque_compat.failure import (
    FailedEntry,
    Failure,
    FailureBackend,
    FailureNotFoundError,
    FailureQuery,
    FailureRecordError,
    Failures,
    InvalidFailureQueueError,
    MultipleBackend,
    RawRecord,
    RedisBackend,
    RedisMultiQueueBackend,
    backend_from_name,
    encode_record,
    failure_record,
    format_failed_at,
    read_record,
)
from resque_compat.keys import Keys
from resque_compat.store import AsyncDriver, SyncDriver
from resque_compat.store.base import Batch, Operation

T = TypeVar("T")

FAILED_AT = datetime(2026, 11, 28, 7, 18, 24, tzinfo=timezone.utc)
RETRIED_AT = datetime(2026, 11, 28, 7, 20, 0, tzinfo=timezone.utc)
EST = timezone(timedelta(hours=-5), "EST")
WORKER = "vm:23706:q1,q2"
LINE = "/srv/app/jobs/failure_management.rb:5:in `perform'"
# Resque 3.0.0's record for the first failure of the failure_management recording.
RUBY_RECORD = (
    b'{"failed_at":"2026/11/28 07:18:24 UTC","payload":{"class":"FailJob","args":["A"]},'
    b'"exception":"ZeroDivisionError","error":"divided by 0 (A)",'
    b'"backtrace":["/srv/app/jobs/failure_management.rb:5:in `perform\'"],'
    b'"worker":"vm:23706:q1,q2","queue":"q1"}'
)


def fixed_clock() -> datetime:
    return RETRIED_AT


def failure(arg: str, queue: str = "q1", job: str = "FailJob", **changes: Any) -> Failure:
    fields: dict[str, Any] = {
        "payload": {"class": job, "args": [arg]},
        "exception": "ZeroDivisionError",
        "error": f"divided by 0 ({arg})",
        "backtrace": [LINE],
        "worker": WORKER,
        "queue": queue,
        "failed_at": FAILED_AT,
    }
    fields.update(changes)
    return Failure(**fields)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = RedisSettings.from_url(redis_url).client()
    yield connection
    connection.close()


@pytest.fixture
def driver(client: redis.Redis) -> SyncDriver:
    return SyncDriver(client)


@pytest.fixture
def redis_backend() -> RedisBackend:
    return RedisBackend(Keys(), clock=fixed_clock)


@pytest.fixture
def multi_backend() -> RedisMultiQueueBackend:
    return RedisMultiQueueBackend(Keys(), clock=fixed_clock)


def save_all(driver: SyncDriver, backend: FailureBackend, *failures: Failure) -> None:
    for item in failures:
        driver.run(backend.save(item))


def five_failures(driver: SyncDriver, backend: FailureBackend) -> None:
    """The failure_management recording's order: A, C, E from q1, then B, D from q2."""
    save_all(
        driver,
        backend,
        *(failure(arg) for arg in "ACE"),
        *(failure(arg, "q2") for arg in "BD"),
    )


def stored(raw_redis: redis.Redis, key: str) -> list[dict[str, Any]]:
    return [json.loads(item) for item in raw_redis.lrange(key, 0, -1)]


def args_of(records: Any) -> list[str]:
    return [record["payload"]["args"][0] for record in records]


def whole_keyspace(raw_redis: redis.Redis) -> dict[bytes | str, Any]:
    result: dict[bytes | str, Any] = {}
    for key in sorted(raw_redis.keys("*")):
        kind = raw_redis.type(key)
        if kind == b"list":
            result[key] = raw_redis.lrange(key, 0, -1)
        elif kind == b"set":
            result[key] = sorted(raw_redis.smembers(key))
        else:
            result[key] = raw_redis.get(key)
    return result


def entry_at(raw_redis: redis.Redis, index: int, key: str = "resque:failed") -> bytes:
    value = raw_redis.lindex(key, index)
    assert isinstance(value, bytes)
    return value


def lrem_one(raw_redis: redis.Redis, value: bytes, key: str = "resque:failed") -> None:
    """Another client removing a record (redis-py's stubs want str; the JSON is UTF-8)."""
    raw_redis.lrem(key, 1, value.decode())


def run_interrupted(
    client: redis.Redis, operation: Operation[T], meanwhile: Callable[[], Any]
) -> T:
    """Run ``operation``, doing ``meanwhile`` (another client's writes) after its first round
    trip: the window in which Ruby's index-based removal deletes the wrong entry."""
    sync = SyncDriver(client)
    batch = next(operation)
    reply = batch.read(sync.send(batch))
    meanwhile()
    try:
        while True:
            batch = operation.send(reply)
            reply = batch.read(sync.send(batch))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


# --- the record ----------------------------------------------------------------------------


def test_record_is_byte_identical_to_ruby() -> None:
    assert encode_record(failure("A")) == RUBY_RECORD


def test_record_key_order_and_fields() -> None:
    record = failure_record(failure("A"))
    assert list(record) == [
        "failed_at",
        "payload",
        "exception",
        "error",
        "backtrace",
        "worker",
        "queue",
    ]
    assert record["backtrace"] == [LINE]


def test_failed_at_in_a_non_utc_zone_uses_the_abbreviation() -> None:
    assert format_failed_at(datetime(2026, 11, 28, 2, 18, 31, tzinfo=EST)) == (
        "2026/11/28 02:18:31 EST"
    )
    assert format_failed_at(FAILED_AT) == "2026/11/28 07:18:24 UTC"


def test_failed_at_follows_the_process_zone() -> None:
    """As Ruby's ``Time.now.strftime``: the TZ of the process decides (time_formats_non_utc)."""
    script = (
        "from resque_compat.failure import format_failed_at\n"
        "from resque_compat.timefmt import local_now\n"
        "print(format_failed_at(local_now()))\n"
    )
    env = {**os.environ, "TZ": "America/New_York"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} E[SD]T", out), out


def test_naive_failed_at_is_local_time() -> None:
    naive = datetime(2026, 11, 28, 7, 18, 24)
    assert format_failed_at(naive) == format_failed_at(naive.astimezone())


def test_raw_payload_is_kept_as_text() -> None:
    record = json.loads(encode_record(failure("A", payload="{not json")))
    assert record["payload"] == "{not json"
    assert record["backtrace"] == [LINE]


def test_undecodable_bytes_are_cleaned_not_fatal() -> None:
    """Text kept with surrogateescape (bytes that were not UTF-8) cannot be written by the
    json gem style; the record is still saved, with ``?`` as Ruby's UTF8Util writes."""
    odd = b"caf\xe9".decode("utf-8", "surrogateescape")
    record = json.loads(encode_record(failure("A", error=odd, payload=odd)))
    assert record["error"] == "caf?"
    assert record["payload"] == "caf?"


def test_a_payload_nested_too_deep_is_saved_as_text() -> None:
    deep: list[Any] = []
    for _ in range(150):
        deep = [deep]
    record = json.loads(encode_record(failure("A", payload={"class": "X", "args": deep})))
    assert record["payload"].startswith("{'class': 'X', 'args': [[[")
    assert record["error"] == "divided by 0 (A)"


def test_oj_style_keeps_undecodable_payload_bytes() -> None:
    odd = b"caf\xe9".decode("utf-8", "surrogateescape")
    assert b'"payload":"caf\xe9"' in encode_record(failure("A", payload=odd), JsonStyle.OJ)


def test_read_record_keeps_anything_that_is_not_an_object() -> None:
    assert read_record(b'{"a":1,"b":2}') == {"a": 1, "b": 2}
    for raw in (b"", b"{not json", b"[1,2]", b'"text"'):
        record = read_record(raw)
        assert isinstance(record, RawRecord)
        assert record.raw == raw


# --- saving --------------------------------------------------------------------------------


def test_redis_backend_saves_to_the_failed_list(
    driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    driver.run(redis_backend.save(failure("A")))
    assert raw_redis.lrange("resque:failed", 0, -1) == [RUBY_RECORD]
    assert raw_redis.keys("*") == [b"resque:failed"]  # no counters: the worker adds those


def test_multi_queue_backend_saves_per_queue(
    driver: SyncDriver, multi_backend: RedisMultiQueueBackend, raw_redis: redis.Redis
) -> None:
    save_all(driver, multi_backend, failure("A"), failure("B", "q2"))
    assert raw_redis.lrange("resque:q1_failed", 0, -1) == [RUBY_RECORD]
    assert args_of(stored(raw_redis, "resque:q2_failed")) == ["B"]
    assert raw_redis.smembers("resque:failed_queues") == {b"q1_failed", b"q2_failed"}


def test_namespace_is_honoured(driver: SyncDriver, raw_redis: redis.Redis) -> None:
    backend = RedisMultiQueueBackend(Keys("resque:GitHub"))
    driver.run(backend.save(failure("A")))
    assert sorted(raw_redis.keys("*")) == [
        b"resque:GitHub:failed_queues",
        b"resque:GitHub:q1_failed",
    ]


# --- Redis backend: reading ----------------------------------------------------------------


def test_count_all_each_queues(driver: SyncDriver, redis_backend: RedisBackend) -> None:
    five_failures(driver, redis_backend)
    assert driver.run(redis_backend.count()) == 5
    assert driver.run(redis_backend.count(class_name="FailJob")) == 5
    assert driver.run(redis_backend.count(class_name="Other")) == 0
    assert driver.run(redis_backend.queues()) == ["failed"]
    assert args_of(driver.run(redis_backend.all(0, 2))) == ["A", "C"]
    single = driver.run(redis_backend.all(3))
    assert isinstance(single, dict)
    assert single["payload"] == {"class": "FailJob", "args": ["B"]}
    assert driver.run(redis_backend.all(9)) is None
    walked = driver.run(redis_backend.each())
    assert [(i, r["payload"]["args"][0]) for i, r in walked if isinstance(r, dict)] == [
        (4, "D"),
        (3, "B"),
        (2, "E"),
        (1, "C"),
        (0, "A"),
    ]
    ascending = driver.run(redis_backend.each(FailureQuery(1, 2, order="asc")))
    assert [i for i, _ in ascending] == [1, 2]


def test_each_by_class_keeps_the_first_matches_in_walking_order(
    driver: SyncDriver, redis_backend: RedisBackend
) -> None:
    save_all(
        driver,
        redis_backend,
        failure("A"),
        failure("X", job="Other"),
        failure("B"),
        failure("C"),
    )
    walked = driver.run(redis_backend.each(FailureQuery(0, 2, class_name="FailJob")))
    assert [index for index, _ in walked] == [3, 2]
    assert driver.run(redis_backend.count(class_name="Other")) == 1


def test_entries_is_the_plain_list_form(driver: SyncDriver, redis_backend: RedisBackend) -> None:
    five_failures(driver, redis_backend)
    entries = driver.run(redis_backend.entries(1, 1))
    assert [(e.index, e.list_name, e.class_name, e.queue) for e in entries] == [
        (1, "failed", "FailJob", "q1")
    ]
    assert [e.index for e in driver.run(redis_backend.entries(3))] == [3, 4]
    assert driver.run(redis_backend.entries(0, 0)) == []
    found = driver.run(redis_backend.entry(4))
    assert found is not None and found.readable and not found.retried
    assert driver.run(redis_backend.entry(5)) is None


def test_the_redis_backend_has_one_list(driver: SyncDriver, redis_backend: RedisBackend) -> None:
    with pytest.raises(InvalidFailureQueueError, match="invalid queue: q2"):
        driver.run(redis_backend.requeue(0, "q2"))
    with pytest.raises(InvalidFailureQueueError):
        driver.run(redis_backend.count("q1_failed"))
    assert driver.run(redis_backend.count("failed")) == 0


# --- Redis backend: requeue ----------------------------------------------------------------


def test_requeue_marks_the_record_and_enqueues_the_job(
    driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    five_failures(driver, redis_backend)
    driver.run(redis_backend.requeue(3))
    assert raw_redis.lindex("resque:failed", 3) == (
        b'{"failed_at":"2026/11/28 07:18:24 UTC","payload":{"class":"FailJob","args":["B"]},'
        b'"exception":"ZeroDivisionError","error":"divided by 0 (B)",'
        b'"backtrace":["/srv/app/jobs/failure_management.rb:5:in `perform\'"],'
        b'"worker":"vm:23706:q1,q2","queue":"q2","retried_at":"2026/11/28 07:20:00 UTC"}'
    )
    assert raw_redis.lrange("resque:queue:q2", 0, -1) == [b'{"class":"FailJob","args":["B"]}']
    assert raw_redis.smembers("resque:queues") == {b"q2"}
    entry = driver.run(redis_backend.entry(3))
    assert entry is not None and entry.retried


def test_requeue_to_another_queue(
    driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    driver.run(redis_backend.save(failure("A")))
    driver.run(redis_backend.requeue_to(0, "urgent"))
    assert raw_redis.lrange("resque:queue:urgent", 0, -1) == [b'{"class":"FailJob","args":["A"]}']
    assert stored(raw_redis, "resque:failed")[0]["queue"] == "q1"


def test_requeue_past_the_end(driver: SyncDriver, redis_backend: RedisBackend) -> None:
    with pytest.raises(FailureNotFoundError):
        driver.run(redis_backend.requeue(0))


def test_unknown_fields_and_failure_id_survive_requeue(
    driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    """Resque 3.1 writes a ``failure_id``; other tools add fields too. Every field stays, in
    its place; ``retried_at`` is appended once, then replaced where it is."""
    record = (
        b'{"failed_at":"2026/11/28 07:18:24 UTC","payload":{"class":"FailJob","args":[1],'
        b'"meta":{"x":1.0e+20}},"exception":"E","error":"e","backtrace":[],"worker":"w:1:q",'
        b'"queue":"q","failure_id":"0b5c9e1a","extra":[true,null]}'
    )
    raw_redis.rpush("resque:failed", record)
    listed = driver.run(redis_backend.all(0))
    assert isinstance(listed, dict)
    assert list(listed)[-2:] == ["failure_id", "extra"]
    driver.run(redis_backend.requeue(0))
    once = raw_redis.lindex("resque:failed", 0)
    assert once == record[:-1] + b',"retried_at":"2026/11/28 07:20:00 UTC"}'
    later = RedisBackend(Keys(), clock=lambda: RETRIED_AT + timedelta(seconds=5))
    driver.run(later.requeue(0))
    twice = raw_redis.lindex("resque:failed", 0)
    assert twice == record[:-1] + b',"retried_at":"2026/11/28 07:20:05 UTC"}'
    assert raw_redis.lrange("resque:queue:q", 0, -1) == [b'{"class":"FailJob","args":[1]}'] * 2


def test_requeue_refuses_unusable_records_and_changes_nothing(
    driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    raw_redis.rpush(
        "resque:failed",
        b"not json at all",
        encode_record(failure("A", payload="{truncated")),
        encode_record(failure("A", payload={"args": [1]})),
        encode_record(failure("A", queue="")),
    )
    before = whole_keyspace(raw_redis)
    for index, reason in enumerate(
        ["not an object|not valid JSON", "not a JSON object", "no class", "no queue"]
    ):
        with pytest.raises(FailureRecordError, match=reason) as refused:
            driver.run(redis_backend.requeue(index))
        assert refused.value.raw == raw_redis.lindex("resque:failed", index)
    assert whole_keyspace(raw_redis) == before


def test_requeue_of_a_payload_without_args(
    driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    driver.run(redis_backend.save(failure("A", payload={"class": "NoArgs"})))
    driver.run(redis_backend.requeue(0))
    assert raw_redis.lrange("resque:queue:q1", 0, -1) == [b'{"class":"NoArgs","args":[]}']


def test_listing_shows_raw_entries(
    driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    driver.run(redis_backend.save(failure("A")))
    raw_redis.rpush("resque:failed", b"{broken", b"[1]")
    driver.run(redis_backend.save(failure("B")))
    listed = driver.run(redis_backend.all(0, 4))
    assert isinstance(listed, list)
    assert [type(item).__name__ for item in listed] == ["dict", "RawRecord", "RawRecord", "dict"]
    assert isinstance(listed[1], RawRecord) and listed[1].raw == b"{broken"
    assert driver.run(redis_backend.count(class_name="FailJob")) == 2
    assert [i for i, _ in driver.run(redis_backend.each())] == [3, 2, 1, 0]
    assert [e.readable for e in driver.run(redis_backend.entries())] == [True, False, False, True]


def test_bulk_requeues_skip_unusable_records(
    driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    driver.run(redis_backend.save(failure("A")))
    raw_redis.rpush("resque:failed", b"{broken")
    driver.run(redis_backend.save(failure("B", payload="raw text")))
    driver.run(redis_backend.save(failure("C")))
    assert driver.run(redis_backend.requeue_all()) == 2
    assert driver.run(redis_backend.requeue_queue("q1")) == 2
    assert raw_redis.lindex("resque:failed", 1) == b"{broken"
    assert len(raw_redis.lrange("resque:queue:q1", 0, -1)) == 4


# --- Redis backend: removal ----------------------------------------------------------------


def test_remove_clear_and_queue_operations(
    driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    five_failures(driver, redis_backend)
    assert driver.run(redis_backend.remove(2)) == 1
    assert driver.run(redis_backend.remove(10)) == 0
    assert args_of(stored(raw_redis, "resque:failed")) == ["A", "C", "B", "D"]
    assert driver.run(redis_backend.requeue_queue("q2")) == 2
    assert raw_redis.lrange("resque:queue:q2", 0, -1) == [
        b'{"class":"FailJob","args":["B"]}',
        b'{"class":"FailJob","args":["D"]}',
    ]
    assert driver.run(redis_backend.clear_retried()) == 2
    assert args_of(stored(raw_redis, "resque:failed")) == ["A", "C"]
    assert driver.run(redis_backend.requeue_all()) == 2
    driver.run(redis_backend.save(failure("F", "q3")))
    assert driver.run(redis_backend.remove_queue("q1")) == 2
    assert args_of(stored(raw_redis, "resque:failed")) == ["F"]
    assert driver.run(redis_backend.clear()) == 1
    assert driver.run(redis_backend.count()) == 0
    assert not raw_redis.exists("resque:failed")


def test_remove_with_expected_bytes_needs_no_read(
    driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    five_failures(driver, redis_backend)
    listing: list[FailedEntry] = driver.run(redis_backend.entries())
    lrem_one(raw_redis, listing[0].raw)  # the list moved since the listing
    assert driver.run(redis_backend.remove(3, expected=listing[3].raw)) == 1
    assert args_of(stored(raw_redis, "resque:failed")) == ["C", "E", "D"]


def test_remove_sends_a_read_and_a_removal_of_those_bytes(redis_backend: RedisBackend) -> None:
    operation = redis_backend.remove(2)
    assert next(operation).commands == (("LINDEX", "resque:failed", 2),)
    removal = operation.send(b"<entry 2>")
    assert removal.commands == (("LREM", "resque:failed", 1, b"<entry 2>"),)


def test_remove_is_safe_when_an_earlier_entry_goes_meanwhile(
    client: redis.Redis, driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    """After our LINDEX 1 (B), another client removes A: B is now at index 0. Ruby's
    ``LSET 1 ""`` + ``LREM 1 ""`` would delete C; ours deletes B."""
    save_all(driver, redis_backend, failure("A"), failure("B"), failure("C"))
    first = entry_at(raw_redis, 0)
    removed = run_interrupted(client, redis_backend.remove(1), lambda: lrem_one(raw_redis, first))
    assert removed == 1
    assert args_of(stored(raw_redis, "resque:failed")) == ["C"]


def test_what_rubys_removal_does_in_the_same_race(
    driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    """The counter-example the design avoids (same interleaving, Ruby's two commands)."""
    save_all(driver, redis_backend, failure("A"), failure("B"), failure("C"))
    lrem_one(raw_redis, entry_at(raw_redis, 0))
    raw_redis.lset("resque:failed", 1, "")
    raw_redis.lrem("resque:failed", 1, "")
    assert args_of(stored(raw_redis, "resque:failed")) == ["B"]  # C was deleted instead of B


def test_remove_survives_a_concurrent_push_and_a_ruby_removal_in_flight(
    client: redis.Redis, driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    """A Ruby client has done ``LSET 0 ""`` and sends its ``LREM 1 ""`` while we remove B,
    and a worker pushes a new failure: exactly A (Ruby's) and B (ours) go."""
    save_all(driver, redis_backend, failure("A"), failure("B"), failure("C"))
    raw_redis.lset("resque:failed", 0, "")

    def meanwhile() -> None:
        raw_redis.lrem("resque:failed", 1, "")
        raw_redis.rpush("resque:failed", encode_record(failure("D")))

    assert run_interrupted(client, redis_backend.remove(1), meanwhile) == 1
    assert args_of(stored(raw_redis, "resque:failed")) == ["C", "D"]


def test_remove_leaves_a_record_that_changed_meanwhile(
    client: redis.Redis, driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    """Requeued between our read and our removal: it is another record now; nothing goes."""
    save_all(driver, redis_backend, failure("A"), failure("B"))
    other = SyncDriver(raw_redis)
    removed = run_interrupted(
        client, redis_backend.remove(1), lambda: other.run(redis_backend.requeue(1))
    )
    assert removed == 0
    assert [r.get("retried_at") for r in stored(raw_redis, "resque:failed")] == [
        None,
        "2026/11/28 07:20:00 UTC",
    ]


class ChangeBefore(SyncDriver):
    """A driver that lets another client write just before its round trip number ``at``: a
    concurrent change at a chosen moment, with real commands on the real Redis."""

    def __init__(self, client: redis.Redis, at: int, change: Callable[[], Any]) -> None:
        super().__init__(client)
        self.at, self.change, self.sent = at, change, 0

    def send(self, batch_: Batch[Any]) -> list[Any]:
        self.sent += 1
        if self.sent == self.at:
            self.change()
        return super().send(batch_)


@pytest.mark.parametrize("at", [2, 3, 4, 5])
def test_retry_all_by_class_requeues_only_the_record_it_listed(
    client: redis.Redis,
    driver: SyncDriver,
    redis_backend: RedisBackend,
    raw_redis: redis.Redis,
    at: int,
) -> None:
    """``failed retry-all --class Archive`` lists A at index 0; another client removes A before
    round trip ``at``, so index 0 holds B (another class) from then on. Whatever the moment,
    B is neither requeued nor overwritten: each requeue checks the record's exact bytes."""
    save_all(driver, redis_backend, failure("A", job="Archive"), failure("B", job="Other"))
    first, second = entry_at(raw_redis, 0), entry_at(raw_redis, 1)
    manager = Failures(redis_backend, ChangeBefore(client, at, lambda: lrem_one(raw_redis, first)))
    requeued = manager.retry_all(None, "Archive")
    queued = [json.loads(raw) for raw in raw_redis.lrange("resque:queue:q1", 0, -1)]
    assert [job["class"] for job in queued] == ["Archive"] * requeued
    assert second in raw_redis.lrange("resque:failed", 0, -1)


def test_retry_all_by_class_follows_a_record_that_moved(
    client: redis.Redis, driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    """The record listed at index 1 is at index 0 by the time it is requeued (an earlier
    failure was removed meanwhile): it is found by its bytes and requeued, once."""
    save_all(driver, redis_backend, failure("X", job="Other"), failure("A", job="Archive"))
    first = entry_at(raw_redis, 0)
    manager = Failures(redis_backend, ChangeBefore(client, 2, lambda: lrem_one(raw_redis, first)))
    assert manager.retry_all(None, "Archive") == 1
    [record] = stored(raw_redis, "resque:failed")
    assert (args_of([record]), record["retried_at"]) == (["A"], "2026/11/28 07:20:00 UTC")
    assert [json.loads(raw) for raw in raw_redis.lrange("resque:queue:q1", 0, -1)] == [
        {"class": "Archive", "args": ["A"]}
    ]


def test_remove_queue_and_clear_retried_under_concurrent_removal(
    client: redis.Redis, driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    five_failures(driver, redis_backend)
    driver.run(redis_backend.requeue(1))
    driver.run(redis_backend.requeue(3))
    first = entry_at(raw_redis, 0)
    run_interrupted(client, redis_backend.clear_retried(), lambda: lrem_one(raw_redis, first))
    assert args_of(stored(raw_redis, "resque:failed")) == ["E", "D"]
    # remove_queue("q1") reads E at index 0; someone else removes E before we do. Ruby's
    # LSET 0 "" would now blank D (q2) and delete it; ours removes nothing and moves on.
    gone = entry_at(raw_redis, 0)
    removed = run_interrupted(
        client, redis_backend.remove_queue("q1"), lambda: lrem_one(raw_redis, gone)
    )
    assert removed == 0
    assert args_of(stored(raw_redis, "resque:failed")) == ["D"]


# --- RedisMultiQueue backend ---------------------------------------------------------------


def test_multi_queue_management(
    driver: SyncDriver, multi_backend: RedisMultiQueueBackend, raw_redis: redis.Redis
) -> None:
    save_all(
        driver,
        multi_backend,
        failure("A"),
        failure("C"),
        failure("B", "q2"),
        failure("D", "q2", job="Other"),
    )
    assert driver.run(multi_backend.queues()) == ["q1_failed", "q2_failed"]
    assert driver.run(multi_backend.count()) == 4
    assert driver.run(multi_backend.count("q1_failed")) == 2
    assert driver.run(multi_backend.count(class_name="Other")) == 1
    assert driver.run(multi_backend.count("q2_failed", "FailJob")) == 1
    assert args_of(driver.run(multi_backend.all(0, 2, "q1_failed"))) == ["A", "C"]
    assert [i for i, _ in driver.run(multi_backend.each(FailureQuery(queue="q1_failed")))] == [1, 0]
    driver.run(multi_backend.requeue(0, "q1_failed"))
    retried = driver.run(multi_backend.all(0, 1, "q1_failed"))
    assert isinstance(retried, dict) and retried["retried_at"] == "2026/11/28 07:20:00"
    assert driver.run(multi_backend.remove(1, "q2_failed")) == 1
    assert args_of(stored(raw_redis, "resque:q2_failed")) == ["B"]
    assert driver.run(multi_backend.requeue_queue("q2")) == 1
    assert driver.run(multi_backend.requeue_all()) == 3
    assert driver.run(multi_backend.clear_retried("q2_failed")) == 1
    assert driver.run(multi_backend.remove_queue("q1")) == 1
    assert driver.run(multi_backend.count()) == 0
    assert raw_redis.smembers("resque:failed_queues") == {b"q1_failed", b"q2_failed"}
    assert [len(raw_redis.lrange(f"resque:queue:{q}", 0, -1)) for q in ("q1", "q2")] == [3, 2]


def test_multi_queue_clear_and_its_quirks(
    driver: SyncDriver, multi_backend: RedisMultiQueueBackend, raw_redis: redis.Redis
) -> None:
    save_all(driver, multi_backend, failure("A"), failure("B", "q2"), failure("C", "q3"))
    assert driver.run(multi_backend.clear("q1_failed")) == 1
    assert driver.run(multi_backend.count()) == 2
    assert driver.run(multi_backend.requeue_queue("never")) == 0
    assert b"never_failed" in raw_redis.smembers("resque:failed_queues")  # as Ruby: SADD
    assert driver.run(multi_backend.clear()) == 2
    assert raw_redis.keys("resque:*_failed") == []
    assert driver.run(multi_backend.count("failed")) == 0  # Ruby's default list name


def test_multi_queue_clear_retried_over_every_list(
    driver: SyncDriver, multi_backend: RedisMultiQueueBackend, raw_redis: redis.Redis
) -> None:
    save_all(driver, multi_backend, failure("A"), failure("B", "q2"), failure("C", "q2"))
    driver.run(multi_backend.requeue(0, "q1_failed"))
    driver.run(multi_backend.requeue(1, "q2_failed"))
    assert driver.run(multi_backend.clear_retried()) == 2
    assert args_of(stored(raw_redis, "resque:q2_failed")) == ["B"]
    assert raw_redis.llen("resque:q1_failed") == 0


# --- Multiple ------------------------------------------------------------------------------


@pytest.fixture
def multiple(redis_backend: RedisBackend, multi_backend: RedisMultiQueueBackend) -> MultipleBackend:
    return MultipleBackend((redis_backend, multi_backend))


def test_multiple_saves_everywhere_and_reads_the_first(
    driver: SyncDriver, multiple: MultipleBackend, raw_redis: redis.Redis
) -> None:
    five_failures(driver, multiple)
    assert raw_redis.lrange("resque:failed", 0, -1)[:1] == [RUBY_RECORD]
    assert args_of(stored(raw_redis, "resque:q2_failed")) == ["B", "D"]
    assert driver.run(multiple.count()) == 5
    assert driver.run(multiple.queues()) == ["failed"]
    assert args_of(driver.run(multiple.all(0, 2))) == ["A", "C"]
    assert [e.index for e in driver.run(multiple.entries(3))] == [3, 4]
    assert [i for i, _ in driver.run(multiple.each(FailureQuery(0, 2)))] == [1, 0]
    found = driver.run(multiple.entry(0))
    assert found is not None and found.raw == RUBY_RECORD


def test_multiple_removes_the_same_record_everywhere(
    driver: SyncDriver, multiple: MultipleBackend, raw_redis: redis.Redis
) -> None:
    five_failures(driver, multiple)
    assert driver.run(multiple.remove(3)) == 1  # B: index 3 here, index 0 of q2_failed
    assert args_of(stored(raw_redis, "resque:failed")) == ["A", "C", "E", "D"]
    assert args_of(stored(raw_redis, "resque:q2_failed")) == ["D"]
    assert driver.run(multiple.remove(9)) == 0


def test_multiple_requeues_once_and_clear_retried_follows(
    driver: SyncDriver, multiple: MultipleBackend, raw_redis: redis.Redis
) -> None:
    five_failures(driver, multiple)
    driver.run(multiple.requeue(0))
    driver.run(multiple.requeue_to(1, "elsewhere"))
    assert raw_redis.llen("resque:queue:q1") == 1
    assert raw_redis.llen("resque:queue:elsewhere") == 1
    assert "retried_at" not in stored(raw_redis, "resque:q1_failed")[0]
    assert driver.run(multiple.clear_retried()) == 2
    assert args_of(stored(raw_redis, "resque:failed")) == ["E", "B", "D"]
    assert args_of(stored(raw_redis, "resque:q1_failed")) == ["E"]
    assert driver.run(multiple.requeue_queue("q2")) == 2
    assert driver.run(multiple.requeue_all()) == 3


def test_multiple_clear_and_remove_queue(
    driver: SyncDriver, multiple: MultipleBackend, raw_redis: redis.Redis
) -> None:
    five_failures(driver, multiple)
    assert driver.run(multiple.remove_queue("q2")) == 2
    assert not raw_redis.exists("resque:q2_failed")
    assert driver.run(multiple.clear("failed")) == 1
    assert raw_redis.llen("resque:q1_failed") == 3
    five_failures(driver, multiple)
    assert driver.run(multiple.discard(entry_at(raw_redis, 0))) == 2
    driver.run(multiple.clear())
    assert raw_redis.keys("resque:*failed") == []


def test_multiple_needs_a_backend() -> None:
    with pytest.raises(ConfigurationError):
        MultipleBackend(())


class Notifier(FailureBackend):
    """A save-only backend, as Ruby's notifier backends (Airbrake...) are."""

    def __init__(self) -> None:
        self.seen: list[Failure] = []

    def save(self, failure: Failure) -> Operation[None]:
        self.seen.append(failure)
        yield from ()


def test_a_save_only_backend_behind_redis(
    driver: SyncDriver, redis_backend: RedisBackend, raw_redis: redis.Redis
) -> None:
    notifier = Notifier()
    both = MultipleBackend((redis_backend, notifier))
    save_all(driver, both, failure("A"), failure("B"))
    assert [f.payload["args"] for f in notifier.seen] == [["A"], ["B"]]
    assert driver.run(both.remove(0)) == 1
    assert driver.run(both.clear_retried()) == 0
    assert driver.run(both.remove_queue("q1")) == 1
    assert driver.run(notifier.count()) == 0
    assert driver.run(notifier.all()) is None
    assert driver.run(notifier.all(0, 5)) == []
    assert driver.run(notifier.each()) == []
    assert driver.run(notifier.entries()) == []
    assert driver.run(notifier.entry(0)) is None
    assert driver.run(notifier.queues()) == []
    assert driver.run(notifier.requeue_all()) == 0
    assert driver.run(notifier.clear()) == 0
    assert raw_redis.llen("resque:failed") == 0


# --- choosing by name ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kinds"),
    [
        ("redis", [RedisBackend]),
        ("Resque::Failure::Redis", [RedisBackend]),
        ("redis_multi_queue", [RedisMultiQueueBackend]),
        (" Resque::Failure::RedisMultiQueue ", [RedisMultiQueueBackend]),
        ("multiple:redis,redis_multi_queue", [RedisBackend, RedisMultiQueueBackend]),
        (
            "Resque::Failure::Multiple:redis_multi_queue, redis",
            [RedisMultiQueueBackend, RedisBackend],
        ),
    ],
)
def test_backend_from_name(name: str, kinds: list[type[FailureBackend]]) -> None:
    keys = Keys("jobs")
    backend = backend_from_name(name, keys, JsonStyle.OJ)
    parts = list(backend.backends) if isinstance(backend, MultipleBackend) else [backend]
    assert [type(part) for part in parts] == kinds
    assert all(getattr(part, "keys", None) == keys for part in parts)
    assert all(getattr(part, "json_style", None) is JsonStyle.OJ for part in parts)


@pytest.mark.parametrize("name", ["", "airbrake", "multiple:", "multiple:redis,,redis", "multiple"])
def test_backend_from_name_refuses_unknown_names(name: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid failure backend"):
        backend_from_name(name, Keys())


# --- asyncio -------------------------------------------------------------------------------


def test_the_same_operations_run_on_asyncio(redis_url: str, redis_backend: RedisBackend) -> None:
    async def scenario() -> tuple[int, Any]:
        client = RedisSettings.from_url(redis_url).async_client()
        try:
            run = AsyncDriver(client).run
            await run(redis_backend.save(failure("A")))
            await run(redis_backend.requeue(0))
            return await run(redis_backend.count()), await run(redis_backend.all(0))
        finally:
            await client.aclose()

    count, record = asyncio.run(scenario())
    assert count == 1
    assert isinstance(record, dict) and record["retried_at"] == "2026/11/28 07:20:00 UTC"
