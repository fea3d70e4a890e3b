"""What an operator meets before any job runs: ``--version``, help that names ``REDIS_URL``,
Redis locations refused in one line, ``failed show -1``, and the bulk commands that ask
before they destroy when (and only when) a person is at a terminal.

The terminal is a real pseudo-terminal: the command sees ``isatty()`` true on stdin and
stderr, as it would in an operator's shell; stdout stays a pipe, as in ``... | jq``.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest
import redis

from compat_tests.reference import dump_keyspace
from resque_compat import __version__
from resque_compat.connection import RedisSettings
from resque_compat.errors import ConfigurationError
from resque_compat.failure import RedisBackend
from tests.test_cli import (
    CLEARED_VARIABLES,
    KEYS,
    failed_list,
    invoke,
    queue_items,
    refused,
    run_cli,
    save_failures,
)
from tests.workerproc import REPO_ROOT


def test_version_and_help_name_what_an_operator_needs(redis_url: str) -> None:
    assert run_cli(redis_url, "--version").out == f"resque-compat, version {__version__}\n"
    assert invoke(redis_url, "-V").out == f"resque-compat, version {__version__}\n"
    top = invoke(redis_url, "--help").out
    assert "REDIS_URL" in top and "RESQUE_NAMESPACE" in top


@pytest.mark.parametrize(
    ("url", "phrase"),
    [
        ("redis://:abc/0", "bad port in Redis URL 'redis://:abc/0'"),
        ("redis://user:secret@host:abc/0", "'redis://user:***@host:abc/0'"),
        ("redis://localhost:6379/x", "bad database 'x' in Redis URL"),
        ("redis://localhost:6379/0?db=two", "bad database 'two'"),
        ("unix:///run/redis.sock?db=x", "bad database 'x'"),
        ("http://localhost:6379/0", "unsupported Redis URL scheme"),
        ("localhost:abc", "cannot parse Redis location"),
    ],
)
def test_a_bad_redis_location_is_one_line_and_exit_1(url: str, phrase: str) -> None:
    with pytest.raises(ConfigurationError):
        RedisSettings.from_url(url)
    done = invoke(url, "info")
    refused(done, 1, phrase)
    assert len(done.err.splitlines()) == 1
    assert "secret" not in done.err


@pytest.mark.parametrize(
    ("url", "database"),
    [
        ("redis://localhost:6379/3", "3"),
        ("redis://localhost:6379", None),
        ("redis://localhost/", None),
        ("unix:///run/redis.sock?db=2", "2"),
    ],
)
def test_good_locations_still_parse(url: str, database: str | None) -> None:
    assert RedisSettings.from_url(url).url == url
    if database is not None:
        assert RedisSettings.from_url(url).client().connection_pool.connection_kwargs["db"] == int(
            database
        )


def test_failed_show_takes_a_negative_index_as_ruby_does(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    save_failures(
        redis_url, RedisBackend(keys=KEYS), ("q1", "A", [1], "one"), ("q2", "B", [2], "two")
    )
    last = invoke(redis_url, "failed", "show", "-1", "--json").json()
    assert (last["index"], last["class"], last["args"]) == (-1, "B", [2])
    shown = run_cli(redis_url, "failed", "show", "-2")
    assert shown.code == 0, shown.err
    assert 'payload    {"class":"A","args":[1]}' in shown.out
    refused(invoke(redis_url, "failed", "show", "-3"), 1, "no failure at index -3")


# --- confirmation on a terminal ---------------------------------------------------------------


@dataclass(frozen=True)
class TerminalRun:
    code: int
    out: str
    terminal: str


def on_terminal(redis_url: str, *args: str, answer: str | None) -> TerminalRun:
    """Run the CLI with stdin and stderr on a pseudo-terminal; type ``answer`` at the prompt."""
    leader, follower = os.openpty()
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_VARIABLES}
    env.update({"REDIS_URL": redis_url, "PYTHONPATH": str(REPO_ROOT), "COLUMNS": "80"})
    process = subprocess.Popen(
        [sys.executable, "-m", "resque_compat", *args],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=follower,
        cwd=REPO_ROOT,
        env=env,
        text=True,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the last holder of the terminal exited
                break
            seen += chunk
            if answer is not None and b"[y/N]" in seen:
                os.write(leader, answer.encode() + b"\n")
                answer = None
        elif process.poll() is not None:
            break
    os.close(leader)
    out, _ = process.communicate(timeout=30)
    return TerminalRun(process.returncode, out, seen.decode(errors="replace"))


def test_destructive_bulk_commands_ask_on_a_terminal(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    save_failures(redis_url, RedisBackend(keys=KEYS), ("q1", "A", [1], "x"), ("q1", "B", [2], "y"))
    raw_redis.rpush(KEYS.queue("doomed"), b'{"class":"A","args":[]}')
    raw_redis.sadd(KEYS.queues(), "doomed")
    before = dump_keyspace(raw_redis)
    for args in (
        ("remove-queue", "doomed"),
        ("failed", "clear"),
        ("failed", "retry-all", "--queue", "q1"),
    ):
        declined = on_terminal(redis_url, *args, answer="n")
        assert declined.code == 1, declined
        assert "[y/N]" in declined.terminal
        assert "not confirmed; nothing changed" in declined.terminal
        assert dump_keyspace(raw_redis) == before
    assert (
        "Delete queue 'doomed' and its 1 job(s)? [y/N]"
        in on_terminal(redis_url, "remove-queue", "doomed", answer="n").terminal
    )

    accepted = on_terminal(redis_url, "failed", "retry-all", "--class", "B", answer="y")
    assert accepted.code == 0, accepted
    assert "Requeue every failure of class 'B'? [y/N]" in accepted.terminal
    assert "Requeueing" in accepted.terminal  # click's progress bar, on the terminal
    assert accepted.out == "requeued 1 failure(s)\n"
    assert queue_items(raw_redis, "q1") == [b'{"class":"B","args":[2]}']

    skipped = on_terminal(redis_url, "remove-queue", "doomed", "--yes", answer=None)
    assert skipped.code == 0, skipped
    assert "[y/N]" not in skipped.terminal
    assert skipped.out == "removed queue doomed and its 1 job(s)\n"


def test_without_a_terminal_bulk_commands_act_at_once(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """Scripts and cron jobs written before the question existed keep working."""
    save_failures(redis_url, RedisBackend(keys=KEYS), ("q1", "A", [1], "x"))
    cleared = run_cli(redis_url, "failed", "clear")
    assert (cleared.code, cleared.out, cleared.err) == (0, "removed 1 failure(s)\n", "")
    assert failed_list(raw_redis) == []
