"""The scheduler's settings, built once (the CLI maps resque-scheduler's variables onto them)."""

from __future__ import annotations

from dataclasses import dataclass

#: resque-scheduler's version whose behaviour and process titles are reproduced.
RESQUE_SCHEDULER_VERSION = "5.0.0"


@dataclass(frozen=True)
class SchedulerSettings:
    """What resque-scheduler reads from its environment, with its defaults.

    ``interval`` (RESQUE_SCHEDULER_INTERVAL) is Ruby's poll sleep; here it bounds a wait that
    otherwise ends at the next due time or at a Python producer's wake-up, so it only delays
    jobs that Ruby producers schedule earlier than everything already waiting.
    """

    interval: float = 5.0
    lock_timeout: int = 180
    lock_prefix: str = ""
    dynamic: bool = False
    app_name: str = ""
    env: str = ""
    move_budget: int = 1000
    version: str = RESQUE_SCHEDULER_VERSION

    def title(self, text: str) -> str:
        """Ruby's procline: ``resque-scheduler-5.0.0[app][env]: <text>``."""
        app = f"[{self.app_name}]" if self.app_name else ""
        env = f"[{self.env}]" if self.env else ""
        return f"resque-scheduler-{self.version}{app}{env}: {text}"
