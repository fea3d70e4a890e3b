"""The ``resque-compat`` command: thin click commands that parse, build settings, call one
function. Options are declared once, with the environment variable Ruby's tools read."""

from __future__ import annotations

import click

from ..connection import RedisSettings
from .context import pass_settings, redis_options
from .demo import demo
from .metrics import metrics
from .top import top
from .work import work

__all__ = ["RedisSettings", "main", "pass_settings"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@redis_options
@click.pass_context
def main(ctx: click.Context, redis_url: str | None, namespace: str | None) -> None:
    """Ruby Resque's protocol in Python: workers, producers and operator tools."""
    ctx.obj = RedisSettings.from_url(redis_url, namespace)


main.add_command(work)
main.add_command(demo)
main.add_command(top)
main.add_command(metrics)
