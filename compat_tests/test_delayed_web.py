"""resque-web's Delayed tab (resque-scheduler 5.0's own) on jobs delayed by Python: listed,
shown per timestamp, and its "Enqueue now" and cancel buttons work on them; rendered in
headless Chromium for the screenshots in docs/scheduler.md (``RESQUE_WEB_SCREENSHOTS=docs/img``
refreshes them)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import redis

from compat_tests.resque_web import (
    ResqueWeb,
    page_errors,
    parse_html,
    render_in_chromium,
    requires_chromium,
    screenshot_dir,
)
from compat_tests.runtimes import requires_ruby
from compat_tests.scheduler_rig import web_with_scheduler_tabs
from resque_compat.client import Resque

pytestmark = requires_ruby


@pytest.fixture
def web(redis_url: str) -> Iterator[ResqueWeb]:
    with web_with_scheduler_tabs(redis_url) as web:
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


def shown_time(timestamp: int) -> str:
    """A timestamp as the Delayed tab prints it (``TIMESTAMP_FORMAT``, the server's zone,
    which is this process's: resque-web inherits its environment)."""
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


@requires_chromium
def test_delayed_tab_in_a_headless_browser(web: ResqueWeb, redis_url: str, tmp_path: Path) -> None:
    """What an operator sees of Python-delayed jobs: one plain job, a timestamp holding
    several, a Rails job delayed with ``wait:``; and one timestamp opened."""
    hour = (int(time.time()) // 3600 + 1) * 3600
    busy = hour + 1800
    with Resque.from_url(redis_url) as resque:
        resque.enqueue_at_with_queue("files", hour, "Archive", "reports/2026-12.pdf", 42)
        for user in (17, 23, 99):
            resque.enqueue_at_with_queue("mail", busy, "Mailers::Digest", user, {"weekly": True})
        resque.enqueue_at_with_queue("compat", busy, "RecordArgs", "ünïcödé ✓")
        resque.enqueue_activejob(
            "CleanupJob", "tmp/uploads", queue="default", wait_until=hour + 7200, keep_days=7
        )
    shots = screenshot_dir(tmp_path)
    dom = render_in_chromium(web.url("/delayed"), shots / "resque-web-delayed.png")
    assert not page_errors(dom), dom
    words = parse_html(dom).by_id("main").words()
    for shown in (
        "of 3 timestamps",
        shown_time(hour),
        shown_time(busy),
        shown_time(hour + 7200),
        'Archive "reports/2026-12.pdf" 42',
        "see details",
        "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper",
    ):
        assert shown in words, (shown, words)

    detail_shot = shots / "resque-web-delayed-timestamp.png"
    detail = parse_html(render_in_chromium(web.url(f"/delayed/{busy}"), detail_shot))
    words = detail.by_id("main").words()
    assert f"Delayed jobs scheduled for {shown_time(busy)}" in words, words
    assert "of 4 jobs" in words, words
    rows = [row.words() for row in detail.find_all("tr")[1:]]
    assert rows == [
        'Mailers::Digest 17 {"weekly"=>true}',
        'Mailers::Digest 23 {"weekly"=>true}',
        'Mailers::Digest 99 {"weekly"=>true}',
        'RecordArgs "ünïcödé ✓"',
    ], rows
    for shot in (shots / "resque-web-delayed.png", detail_shot):
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot
