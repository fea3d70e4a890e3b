"""Options every command shares: where Redis is and which namespace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..connection import RedisSettings

F = TypeVar("F", bound=Callable[..., Any])


def redis_options(function: F) -> F:
    function = click.option(
        "--namespace",
        envvar="RESQUE_NAMESPACE",
        default=None,
        show_envvar=True,
        help="Key namespace (default resque; Ruby: Resque.redis.namespace).",
    )(function)
    return click.option(
        "--redis",
        "redis_url",
        envvar="REDIS_URL",
        default=None,
        show_envvar=True,
        help=(
            "redis://, rediss://, unix://, redis+sentinel:// URL or Ruby's "
            "host:port[:db][/namespace]."
        ),
    )(function)


pass_settings = click.make_pass_decorator(RedisSettings)
