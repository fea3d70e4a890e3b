"""The README's first command works: the demo runs end to end on a private redis-server."""

from __future__ import annotations

import subprocess
import sys

from tests.workerproc import REPO_ROOT


def test_demo_enqueues_and_works_off_sample_jobs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "resque_compat", "demo"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "PYTHONPATH": str(REPO_ROOT)},
    )
    assert "Started a private redis-server" in result.stdout
    assert "Archive files/report.pdf {'size': 42}" in result.stdout
    assert "Done. processed=5 failed=1 pending=0" in result.stdout
    assert "Failed list: Flaky RuntimeError: shows how a failure is recorded" in result.stdout
