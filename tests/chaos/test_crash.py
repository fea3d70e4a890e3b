"""Workers SIGKILLed at random while they drain a queue lose no job (CI size of the crash test).

The large run is ``python -m tests.chaos.crash --jobs 5000 --workers 4`` (docs/reliability.md).
"""

from __future__ import annotations

import os
import random

from compat_tests.runtimes import ruby_skip_reason
from tests.chaos.crash import CrashConfig, run_crash
from tests.chaos.jobs import CHAOS_QUEUE

SEED_VARIABLE = "RESQUE_COMPAT_CHAOS_SEED"


def test_no_job_vanishes_when_workers_are_killed(redis_url: str) -> None:
    """Python workers (fork and no-fork, parents and job children) and, where Ruby Resque is
    present, Ruby workers (job children; a Ruby parent only on its own queue) are killed
    every 50-500 ms. Every job runs or sits in the failed list, and runs after a retry."""
    seed = int(os.environ.get(SEED_VARIABLE) or random.randrange(1 << 30))
    config = CrashConfig(
        jobs=500, workers=4, ruby=ruby_skip_reason() is None, max_job_ms=150, seed=seed
    )
    report = run_crash(redis_url, config)
    context = f"\n(rerun with {SEED_VARIABLE}={seed})\n{report.summary()}"
    assert report.after_crash is not None
    assert report.kills["python parent"] > 0 and report.kills["python child"] > 0, context
    assert report.unexpected_exits == [], context + "\n".join(report.unexpected_exits)
    assert report.tracebacks == [], context + "\n".join(report.tracebacks)
    assert report.vanished(CHAOS_QUEUE) == [], context
    assert report.after_crash.other_failures == [], context
    assert report.leftover_workers == [], context
    assert report.never_ran(CHAOS_QUEUE) == [], context
    print(context)
