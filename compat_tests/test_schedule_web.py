"""resque-web's Schedule tab (resque-scheduler 5.0's own) on schedules set and fired by Python:
it lists them with their last firing, and its "Queue now" and Delete buttons work on them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from compat_tests.resque_web import ResqueWeb
from compat_tests.runtimes import RUBY_FIXTURES, SHARED_RUBY, requires_ruby
from resque_compat.client import Resque
from resque_compat.scheduler.recurring import RecurringSchedules

pytestmark = requires_ruby

SCHEDULER_LIB = str(SHARED_RUBY / "resque-scheduler-5.0.0" / "lib")


@pytest.fixture
def web(redis_url: str) -> Iterator[ResqueWeb]:
    script = RUBY_FIXTURES / "resque_web_scheduler.ru"
    with ResqueWeb.start(
        redis_url, script=script, env={"RESQUE_SCHEDULER_LIB": SCHEDULER_LIB}
    ) as web:
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
