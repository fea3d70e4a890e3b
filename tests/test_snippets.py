"""Every ```python and ```sh block of the README and docs runs as written (see
:mod:`tests.snippets` for how, and for the ``<!-- snippet: ... -->`` comments)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from tests.snippets import DOCUMENTS, GIVEN, REPO_ROOT, Block, blocks, for_redis

ALL = [block for document in DOCUMENTS for block in blocks(document)]
RUN = sorted({block.document for block in ALL if block.skip is None})
SKIPPED = [block for block in ALL if block.skip is not None]
CLEARED = ("REDIS_URL", "RESQUE_NAMESPACE", "QUEUE", "QUEUES", "RESQUE_APP", "COUNT", "INTERVAL")


def project_folder(tmp_path: Path) -> dict[str, str]:
    """A reader's project folder with ``resque-compat`` and ``python`` on the PATH, as
    ``pip install`` leaves them; the environment the blocks run in."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    command = bin_dir / "resque-compat"
    command.write_text(f"#!{sys.executable}\nfrom resque_compat.cli import main\nmain()\n")
    command.chmod(0o755)
    for name in ("python", "python3"):
        (bin_dir / name).symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


@pytest.mark.parametrize("document", RUN)
def test_code_blocks_run_as_written(document: str, redis_url: str, tmp_path: Path) -> None:
    plan = [for_redis(b, redis_url) for b in ALL if b.document == document and b.skip is None]
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps([asdict(block) for block in plan]))
    project = tmp_path / "project"
    project.mkdir()
    env = {**project_folder(tmp_path), "REDIS_URL": redis_url, "INTERVAL": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.snippets", str(plan_file)],
        cwd=project,
        env={**env, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{project}"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("block", SKIPPED, ids=[block.label for block in SKIPPED])
def test_skipped_blocks_say_why(block: Block) -> None:
    pytest.skip(f"{block.label} not run: {block.skip}")


def test_every_block_is_found_and_every_given_exists() -> None:
    assert len(ALL) >= 30
    assert {block.given for block in ALL if block.given} <= set(GIVEN)
    readme = [block for block in ALL if block.document == "README.md"]
    assert [block.language for block in readme] == ["sh", "python", "python", "sh", "python"]
