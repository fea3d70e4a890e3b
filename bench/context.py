"""What every scenario gets: the server, the placement, the baselines, the sizes, the results."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .env import BenchServer, Placement, Runtimes
from .measure import median
from .procs import NODE, PYTHON, RUBY, Workers, WorkerSpec
from .report import Measurement, Printer, Results, print_case


@dataclass(frozen=True)
class Sizes:
    """How much each scenario does. ``FULL`` for figures, ``QUICK`` to check that it runs."""

    repeat: int
    nofork_jobs: int
    fork_jobs: int
    processes: tuple[int, ...]
    enqueue_jobs: int
    enqueue_many_jobs: int
    latency_samples: int
    idle_seconds: float
    monitor_jobs: int
    rss_jobs: int
    payload_jobs: dict[int, int] = field(default_factory=dict)
    rtt_requests: int = 20000
    cpu_jobs: int = 20000
    """Jobs drained per runtime for the Redis-CPU figures (a tenth of it with fork per job)."""
    fleet_jobs: int = 200000
    fleet_processes: tuple[int, ...] = (1, 4, 16)
    scheduler_seconds: int = 30
    """The window of due times in the scheduler's lateness figures."""
    scheduler_move_jobs: int = 100000
    idle_window_seconds: float = 30.0
    """How long the idle scenario counts commands: six of Ruby's default 5 s polls."""
    settle_seconds: float = 0.3
    """How long workers are left alone after registering, before a run starts."""


FULL = Sizes(
    repeat=3,
    nofork_jobs=10000,
    fork_jobs=1000,
    processes=(1, 2, 4),
    enqueue_jobs=20000,
    enqueue_many_jobs=100000,
    latency_samples=200,
    idle_seconds=5.0,
    monitor_jobs=1000,
    rss_jobs=1000,
    payload_jobs={1024: 5000, 102400: 500},
    rtt_requests=50000,
)

QUICK = Sizes(
    repeat=1,
    nofork_jobs=100,
    fork_jobs=20,
    processes=(2,),
    enqueue_jobs=200,
    enqueue_many_jobs=1000,
    latency_samples=5,
    idle_seconds=0.5,
    monitor_jobs=10,
    rss_jobs=20,
    payload_jobs={1024: 20, 102400: 5},
    rtt_requests=2000,
    cpu_jobs=200,
    fleet_jobs=400,
    fleet_processes=(1, 2),
    scheduler_seconds=1,
    scheduler_move_jobs=3000,
    idle_window_seconds=0.5,
    settle_seconds=0.05,
)


@dataclass
class Context:
    server: BenchServer
    placement: Placement
    runtimes: Runtimes
    sizes: Sizes
    results: Results
    out: Printer

    def available(self, runtime: str) -> bool:
        if runtime == RUBY:
            return self.runtimes.ruby
        if runtime == NODE:
            return self.runtimes.node
        return runtime == PYTHON

    def specs(self, fork: bool, processes: int = 1, poll: float = 0.1) -> list[WorkerSpec]:
        """The worker of each available runtime for a mode (node-resque has no fork mode:
        it appears with the no-fork workers, which is how it runs jobs)."""
        runtimes = [PYTHON, RUBY] if fork else [PYTHON, RUBY, NODE]
        return [
            WorkerSpec(runtime, fork, processes, poll)
            for runtime in runtimes
            if self.available(runtime)
        ]

    def workers(self, spec: WorkerSpec, cpus: Sequence[int] | None = None) -> Workers:
        self.server.flush()
        return Workers(
            spec, self.server.url, self.runtimes, self.placement, cpus, self.sizes.settle_seconds
        )

    def record(self, measurement: Measurement) -> Measurement:
        return self.results.add(measurement)

    def record_rates(
        self,
        scenario: str,
        case: str,
        trials: Sequence[tuple[str, Callable[[], float]]],
        detail: dict[str, Any],
    ) -> None:
        """Run each runtime's trial ``repeat`` times, round-robin, and record the medians.

        Round-robin (python, ruby, node, python, ...) rather than one runtime's repetitions
        back to back, so that a burst of load from elsewhere on the machine hits every
        runtime alike instead of skewing one ratio.
        """
        runs: dict[str, list[float]] = {runtime: [] for runtime, _trial in trials}
        for _ in range(self.sizes.repeat):
            for runtime, trial in trials:
                runs[runtime].append(trial())
        for runtime, values in runs.items():
            full = {**detail, "runs": values}
            self.record(Measurement(scenario, case, runtime, median(values), "jobs/s", detail=full))

    def show(self, scenario: str, case: str, extra: Sequence[str] = ()) -> None:
        """Print one case with its ratios; ``extra`` adds baselines from other cases."""
        rows = [m for m in self.results.of_scenario(scenario) if m.case == case]
        more = [m for key in extra if (m := self.results.get(key)) is not None]
        print_case(self.out, case, rows, more)

    def heading(self, text: str) -> None:
        self.out("")
        self.out(f"== {text} ==")

    def skipped_baselines(self) -> None:
        for runtime, reason in self.runtimes.reasons.items():
            self.out(f"  ({runtime} baseline not run: {reason})")
