"""The scheduler's process title, in resque-scheduler's words, so ``ps`` reads the same."""

from __future__ import annotations

import setproctitle


def set_title(title: str) -> None:
    setproctitle.setproctitle(title.replace("\0", "\\0"))
