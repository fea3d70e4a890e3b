"""Process titles in Ruby Resque's exact words.

A Ruby worker that starts on the same host prunes every registered worker whose pid it
cannot find in ``ps`` among processes titled ``resque-<version>: ...`` or
``resque: Starting``. A Python worker therefore carries the same titles, with the version
of the fleet (configurable), or Ruby would unregister it while it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import setproctitle


@dataclass(frozen=True)
class ProcessTitles:
    version: str = "3.0.0"
    prefix: str = ""

    def _set(self, text: str) -> str:
        # A NUL (from a payload's class name, say) would make setproctitle raise.
        title = f"{self.prefix}resque-{self.version}: {text}".replace("\0", "\\0")
        setproctitle.setproctitle(title)
        return title

    def starting(self) -> str:
        title = "resque: Starting"
        setproctitle.setproctitle(title)
        return title

    def waiting(self, queues: Sequence[str]) -> str:
        return self._set(f"Waiting for {','.join(queues)}")

    def paused(self) -> str:
        return self._set("Paused")

    def processing(self, queue: str, since: int, class_name: str) -> str:
        return self._set(f"Processing {queue} since {since} [{class_name}]")

    def forked(self, child_pid: int, at: int) -> str:
        return self._set(f"Forked {child_pid} at {at}")

    def fork_server(self, worker_pid: int) -> str:
        """Not a Resque title on purpose: Ruby's pruning must not take it for a worker."""
        return f"{self.prefix}resque-compat: fork server of {worker_pid}"


def current() -> str:
    return str(setproctitle.getproctitle())
