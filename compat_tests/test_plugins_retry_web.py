"""resque-web's Retry tab (resque-retry 1.8.1's ``resque-retry/server``) on a retry Python
delayed, beside one Ruby delayed: both listed with their attempt, both detail pages show the
failure kept while the retry is pending, and the tab's Remove cancels the Python one (the
delayed job, its counter and its failure record)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import quote_plus

import pytest
import redis

from compat_tests.resque_web import Element, ResqueWeb, parse_html
from compat_tests.ruby_retry import ONE_ATTEMPT, PLUGINS
from compat_tests.runtimes import RUBY_FIXTURES, requires_ruby, ruby_eval
from resque_compat import Resque
from resque_compat.plugins.retry import retry_key
from tests.workerproc import PythonWorker

pytestmark = requires_ruby


@pytest.fixture
def web(redis_url: str) -> Iterator[ResqueWeb]:
    with ResqueWeb.start(redis_url, script=RUBY_FIXTURES / "resque_web_retry.ru") as web:
        yield web


def _python_attempt(redis_url: str) -> None:
    args = ("--interval", "0", "--app", "compat_tests.plugin_jobs")
    backend = ("--failure-backend", "multiple_with_retry_suppression:redis")
    with PythonWorker(redis_url, "retry", *args, *backend) as worker:
        assert worker.wait(30) == 0, worker.output()


def _page(web: ResqueWeb, path: str) -> Element:
    """A healthy page; unlike ``ResqueWeb.page``, a Ruby backtrace in it is expected: the
    detail page shows the Ruby attempt's own (``eval.rb:23:in `eval'``)."""
    response = web.get(path)
    assert response.status == 200, response.describe()
    for marker in ("Internal Server Error", "NoMethodError", "id='backtrace'"):
        assert marker not in response.body, response.describe()
    return parse_html(response.body)


def _shown(cell: Element) -> str:
    """A cell as it reads before a click: the error cell's backtrace is hidden behind its
    link (the message)."""
    links = cell.find_all("a", "backtrace")
    return links[0].words() if links else cell.words()


def _row(listing: Element, klass: str) -> list[str]:
    rows = [row for row in listing.find_all("tr") if klass in row.words()]
    assert len(rows) == 1, listing.words()
    return [cell.words() for cell in rows[0].find_all("td")]


def test_retry_tab_shows_and_cancels_a_python_delayed_retry(
    web: ResqueWeb, redis_url: str, raw_redis: redis.Redis
) -> None:
    with Resque.from_url(redis_url) as resque:
        resque.enqueue_to("retry", "ExceptionDelayJob", "ruby", 1)
    ruby_eval(ONE_ATTEMPT, redis_url, env=PLUGINS)
    with Resque.from_url(redis_url) as resque:
        resque.enqueue_to("retry", "DelayedRetryJob", "python", 2)
    _python_attempt(redis_url)

    listing = _page(web, "/retry")
    assert _row(listing, "ExceptionDelayJob")[2:] == ["1", "ExceptionDelayJob", '["ruby", 1]', "0"]
    assert _row(listing, "DelayedRetryJob")[2:] == ["1", "DelayedRetryJob", '["python", 2]', "0"]

    by_class = {}
    members: list[bytes] = raw_redis.zrange("resque:delayed_queue_schedule", 0, -1)  # type: ignore[assignment]
    for member in members:
        timestamp = int(member)
        page = _page(web, f"/retry/{timestamp}")
        cells = [_shown(cell) for cell in page.find("table", "jobs").find_all("td")]
        by_class[cells[0]] = (timestamp, cells[1:5])
    assert by_class["ExceptionDelayJob"][1] == [
        '["ruby", 1]',
        "0",
        "RuntimeError",
        "exception delay failed",
    ]
    assert by_class["DelayedRetryJob"][1] == [
        '["python", 2]',
        "0",
        "RuntimeError",
        "delayed attempt failed",
    ]
    assert 55 <= by_class["DelayedRetryJob"][0] - time.time() <= 61

    timestamp = by_class["DelayedRetryJob"][0]
    job = '{"class":"DelayedRetryJob","args":["python",2],"queue":"retry"}'
    removal = web.post_form(f"/retry/{timestamp}/jobs/{quote_plus(job)}/remove")
    assert removal.status in (302, 303), removal.describe()
    counter = f"resque:{retry_key('DelayedRetryJob', ['python', 2])}"
    assert (
        raw_redis.exists(counter, counter.replace(":resque-retry:", ":failure-resque-retry:")) == 0
    )
    assert raw_redis.zrange("resque:delayed_queue_schedule", 0, -1) != []
    assert raw_redis.llen(f"resque:delayed:{timestamp}") == 0
