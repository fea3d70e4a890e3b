"""resque-web's Schedule tab (resque-scheduler 5.0's own) on schedules set and fired by Python:
it lists them with their last firing, and its "Queue now" and Delete buttons work on them;
rendered in headless Chromium, with a Python scheduler as master, for the screenshot in
docs/recurring.md (``RESQUE_WEB_SCREENSHOTS=docs/img`` refreshes it)."""

from __future__ import annotations

from collections.abc import Iterator
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
from compat_tests.scheduler_rig import (
    lock_holder,
    start_python_scheduler,
    wait_until,
    web_with_scheduler_tabs,
)
from resque_compat.client import Resque
from resque_compat.scheduler.recurring import RecurringSchedules

pytestmark = requires_ruby


@pytest.fixture
def web(redis_url: str) -> Iterator[ResqueWeb]:
    with web_with_scheduler_tabs(redis_url) as web:
        yield web


def test_schedule_tab_lists_queues_and_deletes_python_schedules(
    web: ResqueWeb, redis_url: str, raw_redis: redis.Redis
) -> None:
    with Resque.from_url(redis_url) as resque:
        resque.set_schedule(
            "py_report",
            {
                "every": ["1h", {"first_in": "1s"}],
                "class": "Reports::Daily",
                "queue": "reports",
                "args": {"kind": "daily"},
                "description": "set from Python",
            },
        )
        recurring = RecurringSchedules(resque, dynamic=True)
        due = recurring.next_due()
        assert due is not None and recurring.fire_due(due) == 1
        fired_at = resque.get_last_enqueued_at("py_report")
    raw_redis.delete("resque:queue:reports")

    page = web.page("/schedule").words()
    for shown in ("py_report", "set from Python", "every: 1h (first in 1s)", "Reports::Daily"):
        assert shown in page, (shown, page)
    assert fired_at is not None and fired_at in page

    assert web.post_form("/schedule/requeue", {"job_name": "py_report"}).status == 303
    queued = raw_redis.lrange("resque:queue:reports", 0, -1)
    assert queued == [b'{"class":"Reports::Daily","args":[{"kind":"daily"}]}']

    # The Delete button posts ``_method=delete``, which needs Rack::MethodOverride in front
    # of Resque::Server; the request it stands for is a DELETE.
    answer = web.request("DELETE", "/schedule?job_name=py_report", headers={"Origin": web.base_url})
    assert answer.status == 303, answer.describe()
    with Resque.from_url(redis_url) as resque:
        assert resque.fetch_schedule("py_report") is None
        assert recurring.reload_if_changed()
        assert recurring.entries() == {}


#: What the screenshot shows: schedules of each kind, set from Python.
SCHEDULES: dict[str, dict[str, object]] = {
    "hourly_report": {
        "every": ["1h", {"first_in": "1s"}],
        "class": "Reports::Hourly",
        "queue": "reports",
        "args": [{"kind": "hourly"}],
        "description": "Fired by the Python scheduler",
    },
    "nightly_cleanup": {
        "cron": "30 2 * * * Europe/Berlin",
        "class": "Cleanup",
        "queue": "maintenance",
        "args": ["tmp/uploads", 7],
        "description": "Uploads older than a week",
    },
    "monday_digest": {
        "cron": "0 8 * * 1",
        "class": "Mailers::Digest",
        "queue": "mail",
        "args": [{"weekly": True}],
        "description": "Weekly digest mails",
    },
    "queue_probe": {
        "every": "30s",
        "class": "Probe",
        "queue": "monitoring",
        "description": "Every 30 seconds",
    },
}


@requires_chromium
def test_schedule_tab_in_a_headless_browser(
    web: ResqueWeb, redis_url: str, raw_redis: redis.Redis, tmp_path: Path
) -> None:
    """Python-set schedules, one already fired by a running Python scheduler, which resque-web
    names as the current master."""
    with Resque.from_url(redis_url) as resque:
        for name, config in SCHEDULES.items():
            resque.set_schedule(name, config)
        with start_python_scheduler(redis_url, "--dynamic-schedule"):
            holder = wait_until(lambda: lock_holder(raw_redis), 20, "the scheduler to be master")
            fired_at = wait_until(
                lambda: resque.get_last_enqueued_at("hourly_report"), 20, "the first firing"
            )
            shot = screenshot_dir(tmp_path) / "resque-web-schedule.png"
            dom = render_in_chromium(web.url("/schedule"), shot)
    assert not page_errors(dom), dom
    words = parse_html(dom).by_id("main").words()
    assert f"Current master: {holder}" in words, words
    rows = [row.words() for row in parse_html(dom).find_all("tr")[1:]]
    assert rows == [
        "1. hourly_report Fired by the Python scheduler every: 1h (first in 1s) Reports::Hourly "
        f'reports {{"kind"=>"hourly"}} {fired_at}',
        "2. monday_digest Weekly digest mails cron: 0 8 * * 1 Mailers::Digest mail "
        '{"weekly"=>true} Never',
        "3. nightly_cleanup Uploads older than a week cron: 30 2 * * * Europe/Berlin Cleanup "
        'maintenance "tmp/uploads" 7 Never',
        "4. queue_probe Every 30 seconds every: 30s Probe monitoring Never",
    ], rows
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot
