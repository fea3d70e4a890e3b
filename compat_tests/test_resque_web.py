"""resque-web, the real one, shows Python workers as it shows Ruby's and manages their failures.

Ruby Resque's Sinatra app (``Resque::Server``) is started once for the module against the
test Redis (``compat_tests/resque_web.py``). A real Python worker (``resque-compat work`` in
a subprocess) is then idle, busy, or has failed jobs, and every page an operator uses is read
over HTTP and parsed: it must answer 200 without an error page and show the worker's host,
pid, queues, current job and failures as recorded in Redis. Where a Ruby worker can do the
same thing at the same time, the page is compared with the Ruby worker's, markup and all.
The Retry and Remove links and the bulk forms are exercised with the requests the buttons
send, and Redis is checked afterwards. Finally headless Chromium renders the pages, so the
dates resque-web turns into "2 minutes ago" with JavaScript are seen as a browser shows them.

Run with ``RESQUE_RUBY_LIB=/path/to/resque/lib`` (see docs/resque-web.md); set
``RESQUE_WEB_SCREENSHOTS=docs/img`` to refresh the screenshots in the docs.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import socket
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import redis

from compat_tests.resque_web import (
    Element,
    ResqueWeb,
    page_errors,
    parse_html,
    render_in_chromium,
    requires_chromium,
    screenshot_dir,
)
from compat_tests.runtimes import RuntimeProcess, requires_ruby, start_ruby, wait_for_performed
from resque_compat import Resque
from resque_compat.codec import encode_payload
from resque_compat.devserver import RedisServerProcess
from resque_compat.keys import Keys
from tests.workerproc import PythonWorker, text, wait_for

pytestmark = requires_ruby

HOST = socket.gethostname()
KEYS = Keys()

UNICODE = "ünïcödé ✓"
#: Arguments of the Failing jobs; ``show_args`` renders each with Ruby's ``to_yaml``.
FAILING_ARGS = [[i, UNICODE, {"count": i}] for i in range(21)]
SLOW_ARGS = [60, "héllo wörld", {"k": [1, 2.5]}]


def failing_yaml(i: int) -> str:
    return f"--- {i}\n\n--- {UNICODE}\n\n---\ncount: {i}\n"


@pytest.fixture(scope="module")
def web(redis_server: RedisServerProcess) -> Iterator[ResqueWeb]:
    """One resque-web for the module; each test's ``redis_url`` flush resets what it shows."""
    with ResqueWeb.start(redis_server.url) as server:
        yield server


@pytest.fixture
def resque(redis_url: str) -> Iterator[Resque]:
    """The Python producer, enqueuing as ``Resque.enqueue`` does."""
    with Resque.from_url(redis_url) as client:
        yield client


# --------------------------------------------------------------------------------------------
# Reading resque-web's pages
# --------------------------------------------------------------------------------------------


def main(web: ResqueWeb, path: str) -> Element:
    """The ``#main`` part of a healthy page (the tabs and footer are the same everywhere)."""
    return web.page(path).by_id("main")


def cells(row: Element) -> list[Element]:
    return row.find_all("td")


def data_rows(table: Element) -> list[Element]:
    """Rows with ``td`` cells (header rows hold ``th``), minus resque-web's "no data" rows."""
    return [
        row
        for row in table.find_all("tr")
        if row.find_all("td") and not row.find_all(cls="no-data")
    ]


def stats_table(page: Element) -> dict[str, str]:
    """``table.stats`` as header text to cell text."""
    table = page.find("table", "stats")
    return {
        row.find("th").words(): row.find("td").words()
        for row in table.find_all("tr")
        if row.find_all("td")
    }


def working_heading(page: Element) -> str:
    """The "N of M Workers Working" heading (``/overview`` also has a "Queues" one)."""
    headings = [h.words() for h in page.find_all("h1", "wi")]
    (heading,) = [h for h in headings if h.endswith("Working")]
    return heading


def worker_row(page: Element, worker_id: str) -> Element:
    """The ``/workers`` or ``/working`` row whose "Where" link points at ``worker_id``."""
    for row in page.find_all("tr"):
        for link in row.find_all("a"):
            if link.attrs.get("href") == f"/workers/{worker_id}":
                return row
    raise AssertionError(f"no row for {worker_id} in: {page.words()[:800]}")


def where(worker_id: str) -> str:
    """What resque-web shows as "Where": ``host:pid``."""
    return ":".join(worker_id.split(":")[:2])


def queue_tags(cell: Element) -> list[tuple[str, str]]:
    return [(a.words(), a.attrs["href"]) for a in cell.find_all("a", "queue-tag")]


def expected_queue_tags(queues: str) -> list[tuple[str, str]]:
    return [(q, f"/queues/{q}") for q in queues.split(",")]


def worker_detail(web: ResqueWeb, worker_id: str) -> dict[str, Any]:
    """``/workers/<id>``: the one row of its table, by column."""
    page = main(web, f"/workers/{worker_id}")
    assert page.find("h1").words() == f"Worker {worker_id}"
    (row,) = data_rows(page.find("table", "workers"))
    icon, host, pid, started, heartbeat, queues, processed, failed, processing = cells(row)
    return {
        "state": icon.find("img").attrs["alt"],
        "host": host.words(),
        "pid": pid.words(),
        "started": started.find("span", "time").words(),
        "heartbeat": heartbeat.find("span", "time").words(),
        "queues": queue_tags(queues),
        "processed": int(processed.words()),
        "failed": int(failed.words()),
        "processing": processing,
    }


def ruby_time_to_s(iso: str) -> str:
    """Ruby's ``Time.parse(iso).to_s``: how ``Worker#heartbeat`` is shown."""
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S %z")


def ruby_failed_date(failed_at: str) -> str:
    """``DateTime.parse(failed_at).strftime("%Y/%m/%d %T %z")`` for a ``... UTC`` stamp."""
    parsed = datetime.strptime(failed_at, "%Y/%m/%d %H:%M:%S UTC").replace(tzinfo=timezone.utc)
    return parsed.strftime("%Y/%m/%d %H:%M:%S %z")


def normalise(markup: str, pids: Sequence[str]) -> str:
    """A page with pids and times blanked, to compare a Python worker's with a Ruby's."""
    for pid in pids:
        markup = re.sub(rf"\b{pid}\b", "<PID>", markup)
    markup = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<RUN_AT>", markup)
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}", "<TIME>", markup)


# --------------------------------------------------------------------------------------------
# Reading Redis
# --------------------------------------------------------------------------------------------


def failed_records(raw_redis: redis.Redis) -> list[bytes]:
    return list(raw_redis.lrange(KEYS.failed(), 0, -1))  # type: ignore[arg-type]


def queue_items(raw_redis: redis.Redis, queue: str) -> list[bytes]:
    return list(raw_redis.lrange(KEYS.queue(queue), 0, -1))  # type: ignore[arg-type]


def counter(raw_redis: redis.Redis, key: str) -> int:
    return int(text(raw_redis.get(key)) or 0)


def wait_idle(raw_redis: redis.Redis, worker_id: str, what: str) -> None:
    wait_for(lambda: not raw_redis.exists(KEYS.worker(worker_id)), 30, what)


def stop_gracefully(worker: PythonWorker) -> None:
    """QUIT, as an operator does: the worker unregisters and exits 0."""
    worker.signal(signal.SIGQUIT)
    assert worker.wait() == 0, worker.output()


def operator_pages(worker_id: str) -> list[str]:
    """Every page an operator opens, for one worker (some only make sense in some states)."""
    return [
        "/overview",
        "/workers",
        f"/workers/{worker_id}",
        "/working",
        f"/working/{worker_id}",
        "/queues",
        "/queues/compat",
        "/queues/file_serve",
        "/failed",
        "/failed?start=20",
        "/failed?class=Failing",
        "/stats/resque",
        "/stats/redis",
        "/stats/keys",
        "/stats/keys/workers",
        f"/stats/keys/worker:{worker_id}",
        f"/stats/keys/worker:{worker_id}:started",
        "/stats/keys/workers:heartbeat",
        "/stats/keys/failed",
        "/overview.poll",
        "/workers.poll",
    ]


def sweep(web: ResqueWeb, worker_id: str) -> None:
    """Each operator page answers 200 with no error page (``main`` asserts both)."""
    for path in operator_pages(worker_id):
        web.page(path)


# --------------------------------------------------------------------------------------------
# The rig itself
# --------------------------------------------------------------------------------------------


def test_error_pages_are_recognised(web: ResqueWeb, redis_url: str) -> None:
    """A real resque-web error (Retry on an empty failed list) trips the error detection."""
    response = web.get("/failed/requeue/0")
    assert response.status == 500
    assert {"NoMethodError", "Sinatra's exception page", "a Ruby backtrace"} <= set(
        page_errors(response.body)
    )
    assert page_errors(web.get("/overview").body) == []


# --------------------------------------------------------------------------------------------
# An idle Python worker
# --------------------------------------------------------------------------------------------


def test_idle_python_worker_on_every_page(
    web: ResqueWeb, redis_url: str, raw_redis: redis.Redis, resque: Resque
) -> None:
    resque.enqueue_many("later", "RecordArgs", [[i, "two"] for i in range(25)])
    with PythonWorker(redis_url, "compat,file_serve") as worker:
        worker_id = worker.wait_registered()
        wait_for(lambda: raw_redis.hget(KEYS.heartbeats(), worker_id), 15, "a heartbeat")
        assert worker_id == f"{HOST}:{worker.pid}:compat,file_serve"

        check_idle_worker_pages(web, raw_redis, worker_id)
        check_queue_pages(web, raw_redis)
        check_stats_pages(web, raw_redis, worker_id)
        sweep(web, worker_id)

        stop_gracefully(worker)
    # With no worker at all /workers lists hosts (none); /workers/all lists the workers.
    assert main(web, "/workers").find("h1").words() == "Workers"
    page = main(web, "/workers/all")
    assert page.find("h1").words() == "0 Workers"
    assert page.find(cls="no-data").words() == "There are no registered workers"
    assert worker_id not in main(web, "/stats/keys").text()


def check_idle_worker_pages(web: ResqueWeb, raw_redis: redis.Redis, worker_id: str) -> None:
    host, pid, queues = worker_id.split(":")
    workers = main(web, "/workers")
    assert workers.find("h1").words() == "1 Workers"
    row = worker_row(workers, worker_id)
    assert row.attrs["class"] == "idle"
    assert row.find("td", "where").words() == f"{host}:{pid}"
    assert queue_tags(row.find("td", "queues")) == expected_queue_tags(queues)
    assert row.find("td", "process").words() == "Waiting for a job..."

    detail = worker_detail(web, worker_id)
    started = text(raw_redis.get(KEYS.worker_started(worker_id)))
    heartbeat = text(raw_redis.hget(KEYS.heartbeats(), worker_id))
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}", detail["started"])
    assert {k: v for k, v in detail.items() if k != "processing"} == {
        "state": "idle",
        "host": host,
        "pid": pid,
        "started": started,
        "heartbeat": ruby_time_to_s(heartbeat),
        "queues": expected_queue_tags(queues),
        "processed": 0,
        "failed": 0,
    }
    assert detail["processing"].words() == "Waiting for a job..."

    for path in ("/working", "/overview"):
        page = main(web, path)
        assert working_heading(page) == "0 of 1 Workers Working", path
        assert page.find(cls="no-data").words() == "Nothing is happening right now...", path
    # Worker#job is {} when idle, and {} is truthy in Ruby: the job page shows an empty job.
    (job_row,) = data_rows(main(web, f"/working/{worker_id}").find("table"))
    assert [c.words() for c in cells(job_row)][1:] == [f"{host}:{pid}", "", "", "—", "—"]


def check_queue_pages(web: ResqueWeb, raw_redis: redis.Redis) -> None:
    page = main(web, "/queues")
    shown = [
        (row.find("td", "queue").words(), row.find("td", "size").words())
        for row in data_rows(page.find("table", "queues"))
    ]
    assert shown == [("later", "25"), ("failed", "0")]
    assert main(web, "/overview").find("table", "queues").find("a").attrs["href"] == "/queues/later"

    first = main(web, "/queues/later")
    assert first.find("h1").words() == "Pending jobs on later"
    assert first.find("p", "sub").words() == "Showing 0-19 of 25 jobs"
    rows = data_rows(first.find("table", "jobs"))
    assert [(r.find("td", "class").words(), r.find("td", "args").words()) for r in rows] == [
        ("RecordArgs", f'[{i}, "two"]') for i in range(20)
    ]
    more = first.find("a", "more").attrs["href"]
    assert more == "/queues/later?start=20"
    rest = data_rows(main(web, more).find("table", "jobs"))
    assert [r.find("td", "args").words() for r in rest] == [f'[{i}, "two"]' for i in range(20, 25)]
    assert len(queue_items(raw_redis, "later")) == 25


def check_stats_pages(web: ResqueWeb, raw_redis: redis.Redis, worker_id: str) -> None:
    resque_stats = stats_table(main(web, "/stats/resque"))
    port = raw_redis.connection_pool.connection_kwargs["port"]
    # "servers" is Ruby's inspect of its client; it names the test server.
    assert f"redis://127.0.0.1:{port}/0" in resque_stats.pop("servers")
    assert resque_stats == {
        "environment": "development",
        "failed": "0",
        "pending": "25",
        "processed": "0",
        "queues": "1",
        "workers": "1",
        "working": "0",
    }
    redis_stats = stats_table(main(web, "/stats/redis"))
    assert redis_stats["redis_version"] == raw_redis.info()["redis_version"]

    keys_page = main(web, "/stats/keys")
    listed = {
        row.find("a").words(): (cells(row)[0].words(), cells(row)[1].words())
        for row in keys_page.find("table", "stats").find_all("tr")
        if row.find_all("a")
    }
    started_key = f"worker:{worker_id}:started"
    started = text(raw_redis.get(KEYS.worker_started(worker_id)))
    expected = {
        "queues": ("set", "1"),
        "queue:later": ("list", "25"),
        "workers": ("set", "1"),
        "workers:heartbeat": ("hash", "1"),
        started_key: ("string", str(len(started))),
    }
    assert {key: listed.get(key) for key in expected} == expected

    for key, (kind, _size) in expected.items():
        page = main(web, f"/stats/keys/{key}")
        assert page.find("h1").words() == f'Key "{key}" is a {kind}'
    assert started in main(web, f"/stats/keys/{started_key}").find("table").words()
    heartbeat_rows = main(web, "/stats/keys/workers:heartbeat").find("table").words()
    assert worker_id in heartbeat_rows
    assert worker_id in main(web, "/stats/keys/workers").find("table").words()


# --------------------------------------------------------------------------------------------
# A busy Python worker, next to a busy Ruby worker
# --------------------------------------------------------------------------------------------


def test_busy_python_worker_shows_like_a_ruby_worker(
    web: ResqueWeb, redis_url: str, raw_redis: redis.Redis, resque: Resque
) -> None:
    with PythonWorker(redis_url, "compat") as worker:
        python_id = worker.wait_registered()
        ruby = start_ruby("worker.rb", redis_url, env={"QUEUE": "compat", "INTERVAL": "0.2"})
        with ruby:
            ruby_id = wait_for_other_worker(raw_redis, python_id, ruby)
            both = (python_id, ruby_id)
            beats = KEYS.heartbeats()
            wait_for(lambda: all(raw_redis.hget(beats, w) for w in both), 15, "both heartbeats")
            # Ruby's startup pruning looked for our pid among resque processes: still here.
            assert python_id in {text(m) for m in raw_redis.smembers(KEYS.workers())}
            resque.enqueue_to("compat", "Slow", *SLOW_ARGS)
            resque.enqueue_to("compat", "Slow", *SLOW_ARGS)
            wait_for(lambda: all(raw_redis.exists(KEYS.worker(w)) for w in both), 30, "both busy")

            check_busy_pages(web, raw_redis, python_id, ruby_id)
            sweep(web, python_id)
            pids = [python_id.split(":")[1], ruby_id.split(":")[1]]
            for path in ("/working/{}", "/workers/{}"):
                python_page = markup(main(web, path.format(python_id)), pids)
                assert python_page == markup(main(web, path.format(ruby_id)), pids), path
            working = main(web, "/working")
            python_row = markup(worker_row(working, python_id), pids)
            assert python_row == markup(worker_row(working, ruby_id), pids)


def markup(element: Element, pids: Sequence[str]) -> list[str]:
    """Each element inside as tag, attributes and text, pids and times blanked: a Python
    worker's page and a Ruby worker's must match element for element, links included."""
    return [
        normalise(f"{e.tag} {sorted(e.attrs.items())} {e.words()}", pids) for e in element.iter()
    ]


def wait_for_other_worker(raw_redis: redis.Redis, python_id: str, ruby: RuntimeProcess) -> str:
    def others() -> list[str]:
        members = {text(m) for m in raw_redis.smembers(KEYS.workers())}
        return sorted(members - {python_id})

    try:
        wait_for(others, 30, "the Ruby worker to register")
    except AssertionError as error:
        raise AssertionError(f"{error}\n{ruby.output()}") from None
    (ruby_id,) = others()
    return ruby_id


def check_busy_pages(web: ResqueWeb, raw_redis: redis.Redis, python_id: str, ruby_id: str) -> None:
    job = json.loads(raw_redis.get(KEYS.worker(python_id)))  # type: ignore[arg-type]
    assert job["payload"] == {"class": "Slow", "args": SLOW_ARGS}

    working = main(web, "/working")
    assert working_heading(working) == "2 of 2 Workers Working"
    row = worker_row(working, python_id)
    assert row.find("td", "where").words() == where(python_id)
    assert queue_tags(row) == [("compat", "/queues/compat")]
    process = row.find("td", "process")
    assert process.find("code").words() == "Slow"
    run_at = process.find("a", "time")
    assert (run_at.words(), run_at.attrs["href"]) == (job["run_at"], f"/working/{python_id}")

    page = main(web, f"/working/{python_id}")
    assert page.find("h1").words() == f"{python_id}'s job"
    (job_row,) = data_rows(page.find("table"))
    _icon, where_cell, queue, started, klass, args = cells(job_row)
    assert where_cell.words() == where(python_id)
    assert queue.words() == "compat"
    assert started.words() == job["run_at"]
    assert klass.words() == "Slow"
    assert args.find("pre").text() == "--- 60\n\n--- héllo wörld\n\n---\nk:\n- 1\n- 2.5\n"

    workers = main(web, "/workers")
    assert workers.find("h1").words() == "2 Workers"
    for worker_id in (python_id, ruby_id):
        listed = worker_row(workers, worker_id)
        assert listed.attrs["class"] == "working"
        assert listed.find("td", "process").find("code").words() == "Slow"
    detail = worker_detail(web, python_id)
    assert detail["state"] == "working"
    assert detail["processing"].find("code").words() == "Slow"

    overview = main(web, "/overview")
    assert working_heading(overview) == "2 of 2 Workers Working"
    assert worker_row(overview, python_id).find("code").words() == "Slow"
    assert main(web, "/queues/compat").find(cls="no-data").words() == (
        "There are no pending jobs in this queue"
    )
    stats = stats_table(main(web, "/stats/resque"))
    assert (stats["workers"], stats["working"]) == ("2", "2")
    # The key page shows [value].inspect: for this value, a JSON array of the raw string.
    shown = main(web, f"/stats/keys/worker:{python_id}").find("table").text().strip()
    assert json.loads(shown) == [text(raw_redis.get(KEYS.worker(python_id)))]


# --------------------------------------------------------------------------------------------
# Failures recorded by a Python worker
# --------------------------------------------------------------------------------------------

BAD_PAYLOAD = b"not json{"


def enqueue_failures(resque: Resque, raw_redis: redis.Redis) -> None:
    """27 failures in a known order (``compat`` is drained first), then one job that works."""
    resque.enqueue_many("compat", "Failing", FAILING_ARGS)
    resque.enqueue_to("file_serve", "ZeroDivJob", 5)
    resque.enqueue_to("file_serve", "ArityJob", 1, 2)
    resque.enqueue_to("file_serve", "NoSuchJob", "x")
    resque.push("file_serve", {"class": "Failing"})
    resque.enqueue_to("file_serve", "KilledJob")
    # Not producible through any API: a payload someone wrote by hand.
    raw_redis.rpush(KEYS.queue("file_serve"), BAD_PAYLOAD)
    resque.enqueue_to("file_serve", "OkJob", "fine")


def test_failures_of_a_python_worker(
    web: ResqueWeb, redis_url: str, raw_redis: redis.Redis, resque: Resque
) -> None:
    enqueue_failures(resque, raw_redis)
    with PythonWorker(redis_url, "compat,file_serve") as worker:
        worker_id = worker.wait_registered()
        wait_for_performed(redis_url, 1)
        wait_idle(raw_redis, worker_id, "the last job to finish")
        records = [json.loads(raw) for raw in failed_records(raw_redis)]
        assert len(records) == 27

        detail = worker_detail(web, worker_id)
        assert (detail["processed"], detail["failed"]) == (
            counter(raw_redis, KEYS.worker_stat("processed", worker_id)),
            counter(raw_redis, KEYS.worker_stat("failed", worker_id)),
        )
        # Every job counts as processed; failures too, except the child killed by a signal
        # (Ruby's DirtyExit does not count either). The bad payload counts as a failure.
        assert (detail["processed"], detail["failed"]) == (28, 26)
        # Resque.info's "failed" is the failed list's length, not stat:failed.
        stats = stats_table(main(web, "/stats/resque"))
        assert (stats["processed"], stats["failed"]) == ("28", "27")
        sweep(web, worker_id)
        stop_gracefully(worker)

    check_failed_pages(web, records, worker_id)
    check_class_filter(web, records, worker_id)
    queues = main(web, "/queues")
    assert failed_row_size(queues) == "27"


def failed_row_size(queues_page: Element) -> str:
    """The "failed" row of ``/queues``: the length of the failed list."""
    row = queues_page.find("tr", "failure")
    assert row.find("a").words() == "failed"
    return row.find("td", "size").words()


def failed_entries(page: Element) -> dict[int, Element]:
    """The ``ul.failed`` entries by failure index (read off their Remove link)."""
    entries: dict[int, Element] = {}
    for item in page.find("ul", "failed").find_all("li"):
        remove = next(a for a in item.find_all("a") if a.attrs.get("rel") == "remove")
        entries[int(remove.attrs["href"].rsplit("/", 1)[1])] = item
    return entries


def definitions(entry: Element) -> dict[str, Element]:
    """An entry's ``<dl>`` as term to ``<dd>``."""
    terms = entry.find("dl").find_all("dt")
    values = entry.find("dl").find_all("dd")
    assert len(terms) == len(values)
    return {dt.words(): dd for dt, dd in zip(terms, values, strict=True)}


def check_entry(entry: Element, index: int, record: dict[str, Any]) -> None:
    """One failure as resque-web lists it against the record in Redis."""
    fields = definitions(entry)
    worker = fields["Worker"]
    link = worker.find("a")
    assert (link.attrs["href"], link.words()) == (
        f"/workers/{record['worker']}",
        where(record["worker"]),
    )
    assert worker.find("b", "queue-tag").words() == record["queue"]
    assert worker.find("span", "time").words() == ruby_failed_date(record["failed_at"])
    controls = {a.attrs["rel"]: a.attrs["href"] for a in worker.find_all("a") if "rel" in a.attrs}
    assert controls == {"retry": f"/failed/requeue/{index}", "remove": f"/failed/remove/{index}"}

    payload = record["payload"]
    if isinstance(payload, dict):
        assert fields["Class"].find("code").words() == payload["class"]
        assert fields["Class"].find("a").attrs["href"] == f"/failed/?class={payload['class']}"
    else:
        assert fields["Class"].words() == "nil"
    assert fields["Exception"].words() == record["exception"]
    assert fields["Error"].find("a", "backtrace").text() == record["error"]
    assert fields["Error"].find("pre").text() == "\n".join(record["backtrace"])


def check_failed_pages(web: ResqueWeb, records: list[dict[str, Any]], worker_id: str) -> None:
    first = main(web, "/failed")
    assert first.find("h1").words() == "Failed Jobs"
    forms = {f.attrs["action"]: f.attrs["method"] for f in first.find_all("form")}
    assert forms == {
        "/failed/clear": "POST",
        "/failed/clear_retried": "POST",
        "/failed/requeue/all": "POST",
    }
    assert first.find("p", "sub").words() == "Showing 0-19 of 27 jobs"
    shown = failed_entries(first)
    assert list(shown) == list(range(19, -1, -1))  # newest first within the page

    second_path = first.find("a", "more").attrs["href"]
    assert second_path == "/failed?start=20"
    second = main(web, second_path)
    shown.update(failed_entries(second))
    assert list(shown)[20:] == list(range(26, 19, -1))
    assert second.find("a", "less").attrs["href"] == "/failed?start=0"

    for index, entry in shown.items():
        check_entry(entry, index, records[index])
    for i in range(21):
        args = definitions(shown[i])["Arguments"].find("pre").text()
        assert args == failing_yaml(i)
    assert definitions(shown[21])["Arguments"].find("pre").text() == "--- 5\n"
    assert definitions(shown[22])["Arguments"].find("pre").text() == "--- 1\n\n--- 2\n"
    assert definitions(shown[24])["Arguments"].find("pre").text() == ""  # no "args" at all
    killed = records[25]
    assert (killed["exception"], killed["payload"]["class"]) == ("Resque::DirtyExit", "KilledJob")
    assert re.fullmatch(
        r"Child process received unhandled signal pid \d+ SIGKILL \(signal 9\)", killed["error"]
    )
    assert records[26]["payload"] == {
        "class": "ResqueCompat::UnreadablePayload",
        "args": [BAD_PAYLOAD.decode(), base64.b64encode(BAD_PAYLOAD).decode()],
    }
    assert {r["worker"] for r in records} == {worker_id}


def check_class_filter(web: ResqueWeb, records: list[dict[str, Any]], worker_id: str) -> None:
    # The class link of an entry, followed as a click would.
    link = definitions(failed_entries(main(web, "/failed"))[0])["Class"].find("a").attrs["href"]
    page = main(web, link)
    assert page.find("h1").words() == "Failed Jobs with class 'Failing'"
    entries = failed_entries(page)
    failing = [
        i
        for i, r in enumerate(records)
        if isinstance(r["payload"], dict) and r["payload"]["class"] == "Failing"
    ]
    assert sorted(entries) == failing
    assert len(failing) == 22
    for index, entry in entries.items():
        check_entry(entry, index, records[index])

    killed = failed_entries(main(web, "/failed?class=KilledJob"))
    assert list(killed) == [25]
    assert definitions(killed[25])["Exception"].words() == "Resque::DirtyExit"
    assert where(worker_id) in definitions(killed[25])["Worker"].words()


# --------------------------------------------------------------------------------------------
# Retry, Remove and the bulk forms on failures recorded by a Python worker
# --------------------------------------------------------------------------------------------


def record_failures_and_exit(redis_url: str, resque: Resque, raw_redis: redis.Redis) -> str:
    """Failures 0-2 Failing (compat), 3 ZeroDivJob, 4 Failing without args, 5 KilledJob."""
    resque.enqueue_many("compat", "Failing", FAILING_ARGS[:3])
    resque.enqueue_to("file_serve", "ZeroDivJob", 5)
    resque.push("file_serve", {"class": "Failing"})
    resque.enqueue_to("file_serve", "KilledJob")
    return run_until_empty(redis_url, raw_redis, 6)


def run_until_empty(redis_url: str, raw_redis: redis.Redis, failures: int) -> str:
    """A Python worker with ``--interval 0``: it works the queues empty and exits."""
    with PythonWorker(redis_url, "compat,file_serve", "--interval", "0") as worker:
        worker_id = f"{HOST}:{worker.pid}:compat,file_serve"
        assert worker.wait(60) == 0, worker.output()
    assert len(failed_records(raw_redis)) == failures
    return worker_id


def test_retry_and_remove_links_and_bulk_forms(
    web: ResqueWeb, redis_url: str, raw_redis: redis.Redis, resque: Resque
) -> None:
    record_failures_and_exit(redis_url, resque, raw_redis)
    before = failed_records(raw_redis)
    links = retry_and_remove_links(web)
    assert set(links) == set(range(6))

    # Retry, as the link's jQuery handler sends it: an XHR GET answering the retried_at stamp.
    retried = web.get(links[3]["retry"], xhr=True)
    assert retried.status == 200, retried.describe()
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d UTC", retried.body)
    assert queue_items(raw_redis, "file_serve") == [encode_payload("ZeroDivJob", [5])]
    assert json.loads(failed_records(raw_redis)[3]) == {
        **json.loads(before[3]),
        "retried_at": retried.body,
    }
    assert untouched(raw_redis, before, changed={3})
    entry = failed_entries(main(web, "/failed"))[3]
    assert definitions(entry)["Worker"].find("div", "retried").words().startswith("Retried")

    # Retry without JavaScript: a plain GET redirected back to the list.
    plain = web.get(links[0]["retry"])
    assert (plain.status, plain.location) == (302, "/failed")
    assert queue_items(raw_redis, "compat") == [encode_payload("Failing", FAILING_ARGS[0])]
    assert untouched(raw_redis, before, changed={0, 3})

    # Remove the DirtyExit entry: gone, the others byte for byte as they were.
    removed = web.get(links[5]["remove"])
    assert (removed.status, removed.location) == (302, "/failed")
    after_remove = failed_records(raw_redis)
    assert len(after_remove) == 5
    assert [after_remove[i] for i in (1, 2, 4)] == [before[i] for i in (1, 2, 4)]

    check_bulk_forms(web, raw_redis, before)

    # The requeued jobs go back to a Python worker, with their arguments intact.
    worker_id = run_until_empty(redis_url, raw_redis, 5)
    again = [json.loads(raw) for raw in failed_records(raw_redis)]
    assert [(r["queue"], r["payload"]) for r in again] == [
        ("compat", {"class": "Failing", "args": FAILING_ARGS[0]}),
        ("compat", {"class": "Failing", "args": FAILING_ARGS[1]}),
        ("compat", {"class": "Failing", "args": FAILING_ARGS[2]}),
        ("file_serve", {"class": "ZeroDivJob", "args": [5]}),
        ("file_serve", {"class": "Failing", "args": []}),
    ]
    assert {r["worker"] for r in again} == {worker_id}


def retry_and_remove_links(web: ResqueWeb) -> dict[int, dict[str, str]]:
    """Each entry's control links, read off ``/failed`` (not built from the routes)."""
    return {
        index: {a.attrs["rel"]: a.attrs["href"] for a in entry.find_all("a") if "rel" in a.attrs}
        for index, entry in failed_entries(main(web, "/failed")).items()
    }


def untouched(raw_redis: redis.Redis, before: list[bytes], changed: set[int]) -> bool:
    now = failed_records(raw_redis)
    return len(now) == len(before) and all(
        now[i] == before[i] for i in range(len(before)) if i not in changed
    )


def submit(web: ResqueWeb, page: Element, action: str) -> None:
    """Submit the form of ``page`` whose action is ``action`` (must exist on the page)."""
    form = next(f for f in page.find_all("form") if f.attrs["action"] == action)
    response = web.post_form(form.attrs["action"])
    # Sinatra answers a POST over HTTP/1.1 with 303 See Other; the browser then GETs /failed.
    assert (response.status, response.location) == (303, "/failed"), response.describe()


def check_bulk_forms(web: ResqueWeb, raw_redis: redis.Redis, before: list[bytes]) -> None:
    """Clear Retried, Retry Failed (all), Clear Failed: the three forms of ``/failed``."""
    submit(web, main(web, "/failed"), "/failed/clear_retried")
    assert failed_records(raw_redis) == [before[i] for i in (1, 2, 4)]

    submit(web, main(web, "/failed"), "/failed/requeue/all")
    requeued = [json.loads(raw) for raw in failed_records(raw_redis)]
    assert [{k: v for k, v in r.items() if k != "retried_at"} for r in requeued] == [
        json.loads(before[i]) for i in (1, 2, 4)
    ]
    assert all("retried_at" in r for r in requeued)
    assert queue_items(raw_redis, "compat") == [
        encode_payload("Failing", args) for args in FAILING_ARGS[:3]
    ]
    assert queue_items(raw_redis, "file_serve") == [
        encode_payload("ZeroDivJob", [5]),
        encode_payload("Failing", []),
    ]
    retried = failed_entries(main(web, "/failed"))
    assert all(definitions(e)["Worker"].find_all("div", "retried") for e in retried.values())

    submit(web, main(web, "/failed"), "/failed/clear")
    assert failed_records(raw_redis) == []
    assert main(web, "/failed").find("p", "sub").words() == "No jobs"
    assert len(queue_items(raw_redis, "compat")) == 3


def test_retry_all_survives_a_bad_payload_failure(
    web: ResqueWeb, redis_url: str, raw_redis: redis.Redis, resque: Resque
) -> None:
    resque.enqueue_to("file_serve", "ZeroDivJob", 5)
    raw_redis.rpush(KEYS.queue("file_serve"), BAD_PAYLOAD)
    resque.enqueue_to("file_serve", "ZeroDivJob", 6)
    run_until_empty(redis_url, raw_redis, 3)

    submit(web, main(web, "/failed"), "/failed/requeue/all")
    # The unreadable payload was recorded inside a job-shaped wrapper, so Ruby's requeue
    # handles it like any other entry (and the entries after it are requeued too).
    wrapped = ["not json{", base64.b64encode(BAD_PAYLOAD).decode()]
    assert queue_items(raw_redis, "file_serve") == [
        encode_payload("ZeroDivJob", [5]),
        encode_payload("ResqueCompat::UnreadablePayload", wrapped),
        encode_payload("ZeroDivJob", [6]),
    ]


# --------------------------------------------------------------------------------------------
# In a browser
# --------------------------------------------------------------------------------------------

RELATIVE_TIME = re.compile(
    r"just now|about a minute ago|\d+ minutes ago|about an hour ago|about \d+ hours ago"
    r"|1 day ago|\d+ days ago|[A-Z][a-z]+ \d\d, \d{4}"
)


@requires_chromium
def test_pages_in_a_headless_browser(
    web: ResqueWeb, redis_url: str, raw_redis: redis.Redis, resque: Resque, tmp_path: Path
) -> None:
    resque.enqueue_many("later", "RecordArgs", [[i] for i in range(7)])
    resque.enqueue_many("compat", "Failing", FAILING_ARGS[:2])
    resque.enqueue_to("compat", "ZeroDivJob", 5)
    resque.enqueue_to("compat", "KilledJob")
    resque.enqueue_to("compat", "Slow", *SLOW_ARGS)
    with PythonWorker(redis_url, "compat,file_serve") as worker:
        worker_id = worker.wait_registered()
        wait_for(lambda: len(failed_records(raw_redis)) == 4, 30, "four failures")
        wait_for(lambda: raw_redis.exists(KEYS.worker(worker_id)), 30, "the Slow job to start")

        shots = screenshot_dir(tmp_path)
        # name of the screenshot (None: DOM only), path, how many dates the page relatizes
        pages: list[tuple[str | None, str, int]] = [
            ("overview", "/overview", 1),
            ("workers", "/workers", 1),
            ("worker", f"/workers/{worker_id}", 3),
            ("working", "/working", 1),
            (None, f"/working/{worker_id}", 1),
            ("failed", "/failed", 4),
        ]
        for name, path, dates in pages:
            shot = shots / f"resque-web-{name}.png" if name else None
            dom = render_in_chromium(web.url(path), screenshot=shot)
            check_rendered(dom, path, dates, worker_id)
            if shot is not None:
                assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot
        assert raw_redis.exists(KEYS.worker(worker_id)), "the job ended before the screenshots"


def check_rendered(dom: str, path: str, dates: int, worker_id: str) -> None:
    """The page after its scripts ran: dates relatized into words, none of them NaN."""
    assert "NaN" not in dom, f"{path} renders NaN:\n{dom}"
    assert "Invalid Date" not in dom, f"{path} renders Invalid Date:\n{dom}"
    page = parse_html(dom)
    relatized = [e.words() for e in page.iter() if {"relatized", "relatized_time"} & e.classes]
    assert len(relatized) >= dates, f"{path}: {relatized}"
    assert all(RELATIVE_TIME.fullmatch(words) for words in relatized), f"{path}: {relatized}"
    assert where(worker_id) in page.by_id("main").words(), path


@requires_chromium
def test_browser_check_sees_an_unparseable_date(web: ResqueWeb, raw_redis: redis.Redis) -> None:
    """The NaN check can fail: a worker whose start time JavaScript cannot parse."""
    worker_id = f"{HOST}:1:nowhere"
    raw_redis.sadd(KEYS.workers(), worker_id)
    raw_redis.set(KEYS.worker_started(worker_id), "started at teatime")
    dom = render_in_chromium(web.url(f"/workers/{worker_id}"))
    with pytest.raises(AssertionError, match="renders NaN"):
        check_rendered(dom, f"/workers/{worker_id}", 1, worker_id)
