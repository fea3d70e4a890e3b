"""The worker's shape: the loop asks once for a job's run; forking and stopping live apart."""

from __future__ import annotations

import ast
from pathlib import Path

import compat_tests.jobs  # noqa: F401 - registers the jobs in this process
from resque_compat.job import default_registry
from resque_compat.store.lifecycle import Reserved
from resque_compat.worker import QueueSelector, WorkerHooks, WorkerSettings
from resque_compat.worker.execution import Execution, WhileBusy
from resque_compat.worker.proctitle import ProcessTitles
from resque_compat.worker.runner import read_payload
from resque_compat.worker.signals import SignalInbox

WORKER = Path(__file__).resolve().parent.parent / "resque_compat" / "worker"


def _names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    return found | {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def test_the_loop_does_not_fork_watch_or_stop_children() -> None:
    used = _names(WORKER / "core.py")
    assert not used & {"Child", "Standby", "fork", "signal", "waitpid", "reset_for_child"}


def test_only_the_store_sends_commands_the_idle_wait_included() -> None:
    for module in WORKER.glob("*.py"):
        text = module.read_text()
        assert "send_command" not in text and "BLMOVE" not in text, module.name
    lifecycle = WORKER.parent / "store" / "lifecycle.py"
    assert "wait_for_work" not in _names(lifecycle)


def test_one_call_runs_a_job_and_says_how_it_ended() -> None:
    inbox = SignalInbox()
    execution = Execution(
        WorkerSettings(QueueSelector.parse("compat"), fork_per_job=False),
        default_registry,
        WorkerHooks(),
        ProcessTitles("3.0.0", ""),
        inbox,
        WhileBusy(lambda: None, lambda _action: None, lambda: 0.1),
    )
    try:
        raw = b'{"class":"Failing","args":[1]}'
        result = execution.run(Reserved("compat", raw, b""), read_payload(raw), ["compat"])
    finally:
        execution.close()
        inbox.close()
    assert (result.ok, result.exception, result.error) == (False, "RuntimeError", "boom")
