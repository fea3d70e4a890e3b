"""The ``resque-compat`` command: thin click commands that parse, build settings, call one
function. Options are declared once, with the environment variable Ruby's tools read."""

from __future__ import annotations

import importlib
import sys

import click
import setproctitle

from .. import __version__
from ..connection import RedisSettings, redact
from ..errors import ConfigurationError
from .context import pass_settings, redis_options

__all__ = ["RedisSettings", "main", "pass_settings"]


COMMANDS = {
    "work": "work",
    "demo": "demo",
    "top": "top",
    "metrics": "metrics",
    "info": "ops",
    "queues": "ops",
    "peek": "ops",
    "enqueue": "ops",
    "dequeue": "ops",
    "remove-queue": "ops",
    "pause": "ops",
    "resume": "ops",
    "stats": "ops",
    "failed": "failed",
    "workers": "workers",
    "scheduler": "scheduler",
    "delayed": "delayed",
    "schedule": "schedule",
}
"""Each command and the module of ``resque_compat.cli`` that defines it."""


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs (or help lists them all): a
    worker starting with ``work`` does not load the scheduler, ActiveJob, the views and
    the operator commands, about half of its start-up time."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        defined = importlib.import_module(f"{__name__}.{module}")
        command: click.Command = getattr(defined, cmd_name.replace("-", "_"))
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="resque-compat")
@redis_options
@click.pass_context
def main(ctx: click.Context, redis_url: str | None, namespace: str | None) -> None:
    """Ruby Resque's protocol in Python: workers, producers and operator tools.

    Every command talks to the Redis in REDIS_URL (or --redis; default
    redis://localhost:6379/0) under the namespace in RESQUE_NAMESPACE (default resque).
    """
    hide_credentials_from_ps()
    try:
        ctx.obj = RedisSettings.from_url(redis_url, namespace)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from error


def hide_credentials_from_ps() -> None:
    """``ps`` shows every process's command line to every user: a password given with
    ``--redis`` must not stay there (workers later set Ruby's titles anyway)."""
    command = " ".join(sys.argv)
    if redact(command) != command:
        setproctitle.setproctitle(redact(command))
