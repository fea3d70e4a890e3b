"""The Ruby Resque version matrix as a table: run its tests, write one row per version.

``python -m compat_tests.versions`` runs every test parametrised by ``ruby_version``
(:data:`MATRIX_TESTS`) under pytest with :class:`Collector` as a plugin, which files each
result under its version and its area (:data:`AREAS`), then replaces the table between the
markers in docs/compatibility.md. The table is therefore what this run saw, never typed by
hand; the differences column is :data:`DIFFERENCES`, each of which a test asserts.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import pytest

from compat_tests.runtimes import REPO_ROOT, RUBY_VERSIONS

MATRIX_TESTS = (
    "compat_tests/test_interop_ruby.py",
    "compat_tests/test_failure_ruby.py",
    "compat_tests/test_versions.py",
)
DOC = REPO_ROOT / "docs" / "compatibility.md"
BEGIN = "<!-- version-matrix:begin (python -m compat_tests.versions) -->"
END = "<!-- version-matrix:end -->"

#: (column heading, the test functions whose results fill it).
AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "jobs both ways, exact args",
        (
            "test_ruby_worker_performs_python_enqueued_jobs_with_exact_arguments",
            "test_python_worker_performs_ruby_enqueued_jobs_with_exact_arguments",
        ),
    ),
    (
        "Worker API on a Python worker",
        ("test_ruby_describes_the_worker_idle_busy_and_after_a_failure",),
    ),
    (
        "pruning both ways",
        (
            "test_ruby_wildcard_worker_leaves_a_live_python_worker_alone",
            "test_ruby_prunes_a_dead_worker_with_an_old_heartbeat_on_another_host",
            "test_python_worker_never_prunes_a_live_ruby_worker",
            "test_python_prunes_a_dead_ruby_worker_with_an_old_heartbeat",
        ),
    ),
    (
        "failures requeued/removed both ways",
        (
            "test_ruby_requeues_and_removes_python_failures",
            "test_python_requeues_and_removes_ruby_failures",
        ),
    ),
    ("resque-web pages", ("test_resque_web_shows_an_idle_a_failed_and_a_busy_python_worker",)),
    (
        "version checks",
        (
            "test_resque_1_needs_the_host_port_db_form_with_redis_rb_4",
            "test_resque_1_reports_the_redis_url_in_info_servers",
            "test_only_resque_3_takes_backoff_keywords_in_worker_work",
            "test_each_version_runs_its_own_tree",
        ),
    ),
)

#: What differs from 3.0.0, per version; each is asserted by a test of :data:`MATRIX_TESTS`.
DIFFERENCES = {
    "3.0.0": "the reference",
    "2.7.0": "`retried_at` without a zone; `Worker#work` has no backoff keywords",
    "1.27.4": (
        "`retried_at` without a zone; needs `host:port:db` (not a URL) with redis-rb 4.8; "
        "`PruneDeadWorkerDirtyExit` message is the bare worker id; `info[:servers]` is the URL; "
        "resque-web run as `Resque::Server` on Rack (no `vegas`)"
    ),
}


class Collector:
    """A pytest plugin: the outcome of each matrix test, by version and area."""

    def __init__(self) -> None:
        self.versions: dict[str, str] = {}
        self.outcomes: dict[tuple[str, str], list[str]] = defaultdict(list)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            callspec = getattr(item, "callspec", None)
            if callspec is not None and "ruby_version" in callspec.params:
                self.versions[item.nodeid] = str(callspec.params["ruby_version"])

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        version = self.versions.get(report.nodeid)
        if version is None or (report.when != "call" and report.passed):
            return
        name = report.nodeid.split("::")[-1].split("[")[0]
        self.outcomes[(version, name)].append(report.outcome)

    def cell(self, version: str, tests: Sequence[str]) -> str:
        results = [o for name in tests for o in self.outcomes.get((version, name), [])]
        if not results:
            return "not run"
        failed = sum(o == "failed" for o in results)
        skipped = sum(o == "skipped" for o in results)
        if failed:
            return f"**FAIL** ({failed} of {len(results)})"
        if skipped:
            return f"skipped ({skipped} of {len(results)})"
        return f"pass ({len(results)})"


def render(collector: Collector) -> str:
    """One row per version: each area's outcome (passed test count), then the differences."""
    headings = [heading for heading, _tests in AREAS]
    lines = [
        "| Resque | " + " | ".join(headings) + " | differs from 3.0.0 |",
        "| --- |" + " --- |" * (len(headings) + 1),
    ]
    for version in RUBY_VERSIONS:
        cells = [collector.cell(version, tests) for _heading, tests in AREAS]
        lines.append(f"| {version} | " + " | ".join(cells) + f" | {DIFFERENCES[version]} |")
    return "\n".join(lines)


def write_table(table: str, doc: Path = DOC) -> None:
    """Replace what lies between :data:`BEGIN` and :data:`END` in ``doc`` with ``table``."""
    text = doc.read_text()
    block = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if not block.search(text):
        raise SystemExit(f"{doc} has no {BEGIN} ... {END} block to fill")
    doc.write_text(block.sub(lambda _m: f"{BEGIN}\n{table}\n{END}", text))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    options, pytest_args = parser.parse_known_args(argv)
    collector = Collector()
    selection = ["-k", "resque-", "-q", "-p", "no:cacheprovider"]
    paths = [str(REPO_ROOT / path) for path in MATRIX_TESTS]  # from any working directory
    status = pytest.main([*paths, *selection, *pytest_args], plugins=[collector])
    table = render(collector)
    print(table)
    if not collector.outcomes:
        # A usage error or nothing selected: keep the last real table rather than "not run".
        print("no matrix test ran: docs/compatibility.md left as it was", file=sys.stderr)
        return int(status) or 1
    if not options.no_write:
        write_table(table)
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
