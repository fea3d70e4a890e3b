"""resque-scheduler's side of the protocol: delayed jobs, the master lock, recurring schedules.

A ``Scheduler`` (``core``) moves due delayed jobs onto their queues (``mover``) while it holds
the master lock that Ruby schedulers take too (``lock``), so one scheduler of either language
is master at a time. Recurring schedules (``recurring.RecurringSchedules``) plug in as a
``Recurring`` object, which the scheduler drives only while it is master.
"""

from __future__ import annotations

from .core import Recurring, Scheduler
from .settings import SchedulerSettings

__all__ = ["Recurring", "Scheduler", "SchedulerSettings"]
