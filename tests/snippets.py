"""The code blocks of the README and docs, read out of the Markdown and run as written.

A reader copies a block and runs it; so does :mod:`tests.test_snippets`, block after block
in the order of the document, in one folder that stands for the reader's project:

- ```python blocks run in one namespace per document (a later block may use ``resque``
  from an earlier one), in a child process, so their job registrations stay there;
- a ```python block whose first line is ``# path/to/module.py`` is that file of the
  reader's project: it is written, not run (a later ``--app`` imports it);
- ```sh blocks run with ``bash -euo pipefail``, ``resque-compat`` and ``python`` on the
  PATH as an install puts them.

The only differences from the reader's machine: the Redis is the test suite's
(``localhost:6379`` is rewritten to it, and ``REDIS_URL`` points at it), and ``INTERVAL=0``
is set so that ``resque-compat work`` works off the queues and exits instead of waiting.

An HTML comment on the line before a block (invisible on GitHub) may say more:

- ``<!-- snippet: skip REASON -->``: not run (a long-running process, Docker, Ruby, an
  install); the test reports the reason;
- ``<!-- snippet: given NAME -->``: the reader's state the block assumes, arranged first
  (see :data:`GIVEN`).

``python -m tests.snippets PLAN.json`` is the child process: it runs the blocks of the plan.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = (REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md")))
LANGUAGES = ("python", "sh")
README_LOCATION = "localhost:6379"

_FENCE = re.compile(r"^```(\w*)\s*$")
_DIRECTIVE = re.compile(r"^<!--\s*snippet:\s*(?P<verb>skip|given)\s+(?P<rest>.+?)\s*-->$")
_FILE_HEADER = re.compile(r"^# (?P<path>[\w./-]+\.py)$")

MYAPP_JOBS = """\
from resque_compat import job

@job("Archive", queue="file_serve")
def archive(path: str, options: dict) -> None:
    ...
"""

GIVEN: dict[str, str] = {
    "myapp": (
        "from pathlib import Path\n"
        "Path('myapp').mkdir(exist_ok=True)\n"
        f"Path('myapp/jobs.py').write_text({MYAPP_JOBS!r})\n"
    ),
    "failures": (
        "import os\n"
        "from resque_compat import RedisSettings\n"
        "from resque_compat.failure import Failure, RedisBackend\n"
        "from resque_compat.store import SyncDriver\n"
        "from resque_compat.timefmt import local_now\n"
        "settings = RedisSettings.from_url(os.environ['REDIS_URL'])\n"
        "client = settings.client()\n"
        "for number in range(12):\n"
        "    SyncDriver(client).run(RedisBackend(settings.keys).save(Failure(\n"
        "        payload={'class': 'Archive', 'args': [number]}, exception='RuntimeError',\n"
        "        error='disk full', backtrace=(), worker='host:1:file_serve',\n"
        "        queue='file_serve', failed_at=local_now())))\n"
        "client.close()\n"
    ),
}
"""Python that arranges what a block assumes the reader already has."""


@dataclass(frozen=True)
class Block:
    document: str
    line: int
    language: str
    code: str
    skip: str | None = None
    given: str | None = None

    @property
    def label(self) -> str:
        return f"{self.document}:{self.line}"

    @property
    def file_path(self) -> str | None:
        """The project file a Python block stands for (``# myapp/jobs.py``), if any."""
        first = self.code.split("\n", 1)[0]
        match = _FILE_HEADER.match(first) if self.language == "python" else None
        return match["path"] if match else None


def blocks(document: Path) -> list[Block]:
    """The ```python and ```sh blocks of a document, with the directive before each."""
    lines = document.read_text().split("\n")
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = next(j for j in range(index + 1, len(lines)) if lines[j].startswith("```"))
        if opening[1] in LANGUAGES:
            found.append(_block(document, lines, index, end, opening[1]))
        index = end + 1
    return found


def _block(document: Path, lines: list[str], start: int, end: int, language: str) -> Block:
    before = next((line for line in reversed(lines[:start]) if line.strip()), "")
    directive = _DIRECTIVE.match(before.strip())
    return Block(
        document=str(document.relative_to(REPO_ROOT)),
        line=start + 1,
        language=language,
        code="\n".join(lines[start + 1 : end]) + "\n",
        skip=directive["rest"] if directive and directive["verb"] == "skip" else None,
        given=directive["rest"] if directive and directive["verb"] == "given" else None,
    )


def for_redis(block: Block, redis_url: str) -> Block:
    """The block with the README's Redis location replaced by the test server's."""
    host_port = redis_url.split("://", 1)[1].split("/", 1)[0]
    return Block(**{**asdict(block), "code": block.code.replace(README_LOCATION, host_port)})


# --- the child process ----------------------------------------------------------------------


def run_plan(plan: list[Block]) -> int:
    """Run the blocks in order; on the first failure say which block and why, and return 1."""
    namespace: dict[str, object] = {"__name__": "__snippet__"}
    sys.path.insert(0, os.getcwd())
    for block in plan:
        try:
            _run(block, namespace)
        except Exception:
            print(f"{block.label} ({block.language}) failed:\n{block.code}", file=sys.stderr)
            traceback.print_exc()
            return 1
    return 0


def _run(block: Block, namespace: dict[str, object]) -> None:
    if block.given is not None:
        exec(GIVEN[block.given], {"__name__": "__given__"})
    path = block.file_path
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(block.code)
    elif block.language == "python":
        exec(compile(block.code, block.label, "exec"), namespace)
    else:
        subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], check=True, timeout=120)


if __name__ == "__main__":
    raw = json.loads(Path(sys.argv[1]).read_text())
    sys.exit(run_plan([Block(**item) for item in raw]))
