"""``resque-compat delayed``: list, show, remove, enqueue-now and clear, text and ``--json``."""

from __future__ import annotations

import time

import redis

from resque_compat import JobRegistry, Resque
from resque_compat.client import ClientOptions
from resque_compat.connection import RedisSettings
from tests.test_cli import invoke, refused, run_cli


def _schedule(url: str) -> int:
    registry = JobRegistry()
    registry.register_function("Archive", lambda *args: None, queue="files")
    resque = Resque(RedisSettings.from_url(url), ClientOptions(registry=registry))
    at = int(time.time()) + 3600
    resque.enqueue_at(at, "Archive", "a.txt", 1)
    resque.enqueue_at(at, "Archive", "b.txt", 2)
    resque.enqueue_at(at + 60, "Archive", "a.txt", 1)
    resque.close()
    return at


def test_list_and_show(redis_url: str) -> None:
    at = _schedule(redis_url)
    listed = invoke(redis_url, "delayed", "list", "--json").json()
    assert listed["timestamps"] == 2
    assert [(i["timestamp"], i["jobs"]) for i in listed["items"]] == [(at, 2), (at + 60, 1)]
    text = invoke(redis_url, "delayed", "list").out
    assert "2 timestamps" in text and str(at) in text
    shown = invoke(redis_url, "delayed", "show", str(at), "--json").json()
    assert shown["size"] == 2
    assert [(j["class"], j["args"], j["queue"]) for j in shown["jobs"]] == [
        ("Archive", ["a.txt", 1], "files"),
        ("Archive", ["b.txt", 2], "files"),
    ]
    assert "b.txt" in invoke(redis_url, "delayed", "show", str(at)).out


def test_remove_every_copy_or_at_one_timestamp(redis_url: str, raw_redis: redis.Redis) -> None:
    at = _schedule(redis_url)
    remove = ("delayed", "remove", "Archive", "--queue", "files", "--args", '["a.txt",1]')
    assert invoke(redis_url, *remove, "--at", str(at), "--json").json() == {"removed": 1}
    assert invoke(redis_url, *remove, "--json").json() == {"removed": 1}
    assert invoke(redis_url, *remove, "--json").json() == {"removed": 0}
    assert raw_redis.llen(f"resque:delayed:{at}") == 1


def test_enqueue_now_moves_a_timestamp(redis_url: str, raw_redis: redis.Redis) -> None:
    at = _schedule(redis_url)
    assert invoke(redis_url, "delayed", "enqueue-now", str(at), "--json").json() == {"enqueued": 2}
    assert raw_redis.lrange("resque:queue:files", 0, -1) == [
        b'{"class":"Archive","args":["a.txt",1]}',
        b'{"class":"Archive","args":["b.txt",2]}',
    ]
    assert raw_redis.zcard("resque:delayed_queue_schedule") == 1
    refused(invoke(redis_url, "delayed", "enqueue-now", str(at)), 1, "no delayed jobs")


def test_clear_needs_yes(redis_url: str, raw_redis: redis.Redis) -> None:
    _schedule(redis_url)
    refused(run_cli(redis_url, "delayed", "clear"), 1, "--yes")
    assert invoke(redis_url, "delayed", "clear", "--yes", "--json").json() == {
        "cleared_timestamps": 2
    }
    assert raw_redis.keys("*") == []
