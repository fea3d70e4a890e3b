"""The ``resque-compat`` command: thin click commands that parse, build settings, call one
function. Options are declared once, with the environment variable Ruby's tools read."""

from __future__ import annotations

import sys

import click
import setproctitle

from .. import __version__
from ..connection import RedisSettings, redact
from ..errors import ConfigurationError
from .context import pass_settings, redis_options
from .delayed import delayed
from .demo import demo
from .failed import failed
from .metrics import metrics
from .ops import dequeue, enqueue, info, pause, peek, queues, remove_queue, resume, stats
from .schedule import schedule
from .scheduler import scheduler
from .top import top
from .work import work
from .workers import workers

__all__ = ["RedisSettings", "main", "pass_settings"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


main.add_command(work)
main.add_command(demo)
main.add_command(top)
main.add_command(metrics)
main.add_command(info)
main.add_command(queues)
main.add_command(peek)
main.add_command(enqueue)
main.add_command(dequeue)
main.add_command(remove_queue)
main.add_command(pause)
main.add_command(resume)
main.add_command(stats)
main.add_command(failed)
main.add_command(workers)
main.add_command(scheduler)
main.add_command(delayed)
main.add_command(schedule)
