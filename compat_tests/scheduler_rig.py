"""resque-scheduler (Ruby) and ``resque-compat scheduler`` (Python) as child processes.

Ruby runs from the shared source trees beside the checkout (``../shared/ruby``): scheduler
5.0.0 with Resque 3.0.0, and 4.11.0 with Resque 2.7.0. ``ruby_fixtures/scheduler_boot.rb``
loads the scheduler from ``RESQUE_SCHEDULER_LIB`` on top of ``boot.rb``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import redis

from compat_tests.resque_web import ResqueWeb
from compat_tests.runtimes import (
    REPO_ROOT,
    RUBY_FIXTURES,
    SHARED_RUBY,
    RuntimeProcess,
    _inherited_env,
    ruby_eval,
    start_ruby,
)

#: resque-scheduler version -> the Resque it runs with.
RUBY_SCHEDULERS = {"5.0.0": "3.0.0", "4.11.0": "2.7.0"}

LOCK_KEY = "resque:resque:resque_scheduler_master_lock"


def scheduler_lib(version: str = "5.0.0") -> str:
    return str(SHARED_RUBY / f"resque-scheduler-{version}" / "lib")


def web_with_scheduler_tabs(redis_url: str) -> ResqueWeb:
    """resque-web with resque-scheduler 5.0's Delayed and Schedule tabs
    (``require 'resque/scheduler/server'``); use it as a context manager."""
    script = RUBY_FIXTURES / "resque_web_scheduler.ru"
    return ResqueWeb.start(redis_url, script=script, env={"RESQUE_SCHEDULER_LIB": scheduler_lib()})


def ruby_env(version: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables that make the Ruby fixtures load this scheduler version and its Resque."""
    lib = SHARED_RUBY / f"resque-{RUBY_SCHEDULERS[version]}" / "lib"
    env = {"RESQUE_RUBY_LIB": str(lib), "RESQUE_SCHEDULER_LIB": scheduler_lib(version)}
    env.update(extra or {})
    return env


def skip_unless_present(version: str) -> None:
    if not (SHARED_RUBY / f"resque-scheduler-{version}" / "lib").is_dir():
        pytest.skip(f"resque-scheduler {version} is not in {SHARED_RUBY}")


def scheduler_eval(code: str, redis_url: str, version: str = "5.0.0") -> Any:
    """``ruby_eval`` with resque-scheduler loaded (``Resque.enqueue_at`` and friends)."""
    wrapped = f'require_relative "{REPO_ROOT}/ruby_fixtures/scheduler_boot"\n{code}'
    return ruby_eval(wrapped, redis_url, env=ruby_env(version))


def start_ruby_scheduler(
    redis_url: str, version: str = "5.0.0", env: Mapping[str, str] | None = None
) -> RuntimeProcess:
    """``ruby_fixtures/scheduler.rb``: Ruby's ``Resque::Scheduler.run`` in the foreground."""
    return start_ruby("scheduler.rb", redis_url, env=ruby_env(version, env))


def start_python_scheduler(
    redis_url: str, *args: str, env: Mapping[str, str] | None = None
) -> RuntimeProcess:
    """``resque-compat scheduler`` as a user runs it, with the compat jobs registered."""
    command = [sys.executable, "-m", "resque_compat", "--redis", redis_url, "scheduler"]
    command += ["--app", "compat_tests.jobs", "--verbose", *args]
    full_env = _inherited_env()
    full_env.update({"PYTHONPATH": str(REPO_ROOT), "REDIS_URL": redis_url})
    full_env.update(env or {})
    return RuntimeProcess.launch(command, full_env, REPO_ROOT)


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def lock_holder(client: redis.Redis) -> str | None:
    value = client.get(LOCK_KEY)
    return None if value is None else bytes(value).decode()  # type: ignore[arg-type]
