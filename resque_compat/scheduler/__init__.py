"""resque-scheduler in Python: the delayed-job mover under Ruby's master lock, and the seam for
recurring schedules.

A ``Scheduler`` moves due delayed jobs onto their queues while it holds the master lock that
Ruby schedulers take too, so one scheduler of either language is master at a time. Recurring
schedules plug in as a ``Recurring`` object; the scheduler calls it only while it is master.
"""

from __future__ import annotations

from .core import Recurring, Scheduler
from .settings import SchedulerSettings

__all__ = ["Recurring", "Scheduler", "SchedulerSettings"]
