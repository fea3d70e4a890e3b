"""The demo's Python jobs (``resque-compat work --app demo_jobs``).

``PythonEcho`` arrives from two sides: the Python producer enqueues it directly, and the
Ruby job ``RubyEcho`` enqueues it by class name after the producer sent that one to Ruby.
``Unreliable`` always fails, so that resque-web's Failed tab and ``resque-compat top`` have
something to show.
"""

from __future__ import annotations

import os
import platform

from resque_compat import job


@job("PythonEcho", queue="python")
def python_echo(round_number: int, message: str) -> None:
    version = platform.python_version()
    # flush: a forked job child leaves with os._exit, which drops buffered output.
    print(f"PythonEcho {round_number}: {message} (Python {version}, pid {os.getpid()})", flush=True)


@job("Unreliable", queue="python")
def unreliable(round_number: int) -> None:
    raise RuntimeError(f"round {round_number}: this demo job always fails")
