"""Worker hooks for the hook tests (``--app compat_tests.hooks_app``): each hook appends its
name, and the pid it ran in, to the plain list ``compat:hooks``."""

from __future__ import annotations

import os
from typing import Any

import redis

from resque_compat.worker import worker_hook

HOOKS_KEY = "compat:hooks"


def note(name: str) -> None:
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        client.rpush(HOOKS_KEY, f"{name} {os.getpid()}")
    finally:
        client.close()


def _register(name: str) -> None:
    def hook(*_args: Any) -> None:
        note(name)

    worker_hook(name)(hook)


for _name in (
    "before_first_fork",
    "before_fork",
    "after_fork",
    "queue_empty",
    "worker_exit",
    "before_pause",
    "after_pause",
    "shutdown",
):
    _register(_name)
