"""``resque-compat demo``: the quick look that needs nothing but what the install brought."""

from __future__ import annotations

import click

from ..demo import run_demo
from ..errors import ConfigurationError


@click.command()
@click.option(
    "--redis",
    "redis_url",
    envvar="REDIS_URL",
    default=None,
    help="Use this Redis instead of a private redis-server.",
)
@click.option("--namespace", default=None, help="Namespace for the demo's keys.")
def demo(redis_url: str | None, namespace: str | None) -> None:
    """Enqueue sample jobs and run them with a Python worker."""
    try:
        run_demo(redis_url, namespace, click.echo)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from error
