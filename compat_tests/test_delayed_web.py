"""resque-web's Delayed tab (resque-scheduler 5.0's own) on jobs delayed by Python: listed,
shown per timestamp, and its "Enqueue now" and cancel buttons work on them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from compat_tests.resque_web import ResqueWeb
from compat_tests.runtimes import RUBY_FIXTURES, SHARED_RUBY, requires_ruby
from resque_compat.client import Resque

pytestmark = requires_ruby

SCHEDULER_LIB = str(SHARED_RUBY / "resque-scheduler-5.0.0" / "lib")


@pytest.fixture
def web(redis_url: str) -> Iterator[ResqueWeb]:
    script = RUBY_FIXTURES / "resque_web_scheduler.ru"
    with ResqueWeb.start(
        redis_url, script=script, env={"RESQUE_SCHEDULER_LIB": SCHEDULER_LIB}
    ) as web:
        yield web


def test_delayed_tab_lists_enqueues_and_cancels_python_delayed_jobs(
    web: ResqueWeb, redis_url: str, raw_redis: redis.Redis
) -> None:
    at = int(time.time()) + 3600
    with Resque.from_url(redis_url) as resque:
        resque.enqueue_at_with_queue("compat", at, "RecordArgs", "first", 1)
        resque.enqueue_at_with_queue("compat", at, "RecordArgs", "second", 2)
        resque.enqueue_at_with_queue("compat", at + 60, "RecordArgs", "later", 3)

    listing = web.page("/delayed").words()
    assert "RecordArgs" in listing and "2" in listing, listing
    detail = web.page(f"/delayed/{at}").words()
    for shown in ("RecordArgs", '"first"', '"second"'):
        assert shown in detail, (shown, detail)

    assert web.post_form("/delayed/queue_now", {"timestamp": str(at)}).status in (200, 302, 303)
    assert raw_redis.lrange("resque:queue:compat", 0, -1) == [
        b'{"class":"RecordArgs","args":["first",1]}'
    ]
    cancel = {"klass": "RecordArgs", "timestamp": str(at), "args": '["second",2]'}
    assert web.post_form("/delayed/cancel_now", cancel).status in (302, 303)
    with Resque.from_url(redis_url) as resque:
        assert resque.delayed_queue_peek(0, 10) == [at + 60]
        assert resque.delayed_timestamp_size(at) == 0
