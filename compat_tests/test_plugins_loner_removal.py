"""resque-loner 1.2.1 hooks ``Job.destroy`` (so ``Resque.dequeue``) and ``Resque.remove_queue``
to clear the markers of the jobs they remove; Python's ``dequeue``, ``destroy`` and
``remove_queue`` do the same, for a Ruby-only unique class when the client is told the
deployment runs loner (``ClientOptions.loner``), and for a class declared unique in Python.

Each removal is done once by Ruby (with the real plugin) and once by Python on the same
starting keys, and must leave the same queue and markers; then a Ruby enqueue must be
accepted again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import redis

import compat_tests.plugin_jobs  # noqa: F401 - registers UniqueRecord as unique
from compat_tests.runtimes import requires_ruby, ruby_eval
from resque_compat import JobRegistry, RedisSettings, Resque
from resque_compat.client import ClientOptions

pytestmark = requires_ruby

PLUGINS = {"COMPAT_PLUGINS": "1"}
QUEUED: list[list[Any]] = [[1], [2, {"b": 1, "a": [None]}], ["x", 2.5], [{"k": "v"}]]


def _ruby(code: str, redis_url: str) -> Any:
    return ruby_eval(code, redis_url, env=PLUGINS)


def _ruby_args(args: list[Any]) -> str:
    return f"*JSON.parse({json.dumps(json.dumps(args))})"


def _arrange(redis_url: str, raw_redis: redis.Redis) -> None:
    """Four unique jobs on ``compat``, one on ``other``, a plain job: all by Ruby."""
    raw_redis.flushdb()
    enqueues = [f"Resque.enqueue(UniqueRecord, {_ruby_args(args)})" for args in QUEUED]
    enqueues.append('Resque.enqueue_to("other", UniqueRecord, 1)')
    enqueues.append('Resque.enqueue_to("compat", RecordArgs, 1)')
    _ruby("; ".join(enqueues) + "; true", redis_url)


def _leaves(raw_redis: redis.Redis) -> dict[str, Any]:
    return {
        "markers": sorted(raw_redis.keys("resque:loners:*")),
        "compat": raw_redis.lrange("resque:queue:compat", 0, -1),
        "other": raw_redis.lrange("resque:queue:other", 0, -1),
        "queues": sorted(raw_redis.smembers("resque:queues")),
    }


def _python(redis_url: str, loner: bool) -> Resque:
    """With ``loner`` a client that knows no job (UniqueRecord is unique only in Ruby, as
    far as it can tell); without, the default registry, where UniqueRecord is unique."""
    if not loner:
        return Resque.from_url(redis_url)
    return Resque(
        RedisSettings.from_url(redis_url), ClientOptions(registry=JobRegistry(), loner=True)
    )


REMOVALS: dict[str, tuple[str, Callable[[Resque], Any]]] = {
    "dequeue with args": (
        f"Resque.dequeue(UniqueRecord, {_ruby_args(QUEUED[1])})",
        lambda r: r.destroy("compat", "UniqueRecord", *QUEUED[1]),
    ),
    "dequeue with a reordered hash": (
        f"Resque.dequeue(UniqueRecord, {_ruby_args([{'k': 'v', 'z': 1}])})",
        lambda r: r.destroy("compat", "UniqueRecord", {"k": "v", "z": 1}),
    ),
    "destroy every job of the class": (
        'Resque::Job.destroy("compat", UniqueRecord)',
        lambda r: r.destroy("compat", "UniqueRecord"),
    ),
    "remove_queue": ('Resque.remove_queue("compat")', lambda r: r.remove_queue("compat")),
}


@pytest.mark.parametrize("loner", [True, False], ids=["ruby-only class", "python unique"])
@pytest.mark.parametrize("removal", list(REMOVALS))
def test_python_removals_clear_markers_as_ruby_loner_does(
    redis_url: str, raw_redis: redis.Redis, removal: str, loner: bool
) -> None:
    ruby_code, python_call = REMOVALS[removal]
    _arrange(redis_url, raw_redis)
    if "reordered" in removal:
        _ruby(f"Resque.enqueue(UniqueRecord, {_ruby_args([{'z': 1, 'k': 'v'}])})", redis_url)
    before = _leaves(raw_redis)
    _ruby(ruby_code + "; true", redis_url)
    ruby = _leaves(raw_redis)
    assert len(ruby["markers"]) < len(before["markers"])
    _arrange(redis_url, raw_redis)
    if "reordered" in removal:
        _ruby(f"Resque.enqueue(UniqueRecord, {_ruby_args([{'z': 1, 'k': 'v'}])})", redis_url)
    with _python(redis_url, loner) as resque:
        python_call(resque)
    assert _leaves(raw_redis) == ruby


def test_ruby_enqueues_again_after_a_python_dequeue(redis_url: str, raw_redis: redis.Redis) -> None:
    _arrange(redis_url, raw_redis)
    with _python(redis_url, loner=True) as resque:
        assert resque.destroy("compat", "UniqueRecord", 1) == 1
    assert _ruby("Resque.enqueued?(UniqueRecord, 1)", redis_url) is False
    _ruby("Resque.enqueue(UniqueRecord, 1)", redis_url)
    assert raw_redis.lrange("resque:queue:compat", -1, -1) == [
        b'{"class":"UniqueRecord","args":[1]}'
    ]
    with Resque.from_url(redis_url) as resque:
        assert resque.dequeue("UniqueRecord", 1) == 1
        assert resque.enqueue("UniqueRecord", 1) is True


def test_without_the_option_a_ruby_only_unique_job_keeps_its_marker(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """Why ``ClientOptions.loner`` exists: a plain client sends plain Resque's commands only,
    and Ruby then drops the next enqueue of the dequeued job."""
    _arrange(redis_url, raw_redis)
    plain = Resque(RedisSettings.from_url(redis_url), ClientOptions(registry=JobRegistry()))
    with plain:
        assert plain.destroy("compat", "UniqueRecord", 1) == 1
    assert _ruby("Resque.enqueued?(UniqueRecord, 1)", redis_url) is True
    _ruby("Resque.enqueue(UniqueRecord, 1)", redis_url)
    assert b'{"class":"UniqueRecord","args":[1]}' not in raw_redis.lrange(
        "resque:queue:compat", 0, -1
    )
