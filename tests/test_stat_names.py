"""Stat names are named once, next to the keys: no call in the package spells them."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "resque_compat"


def _names_a_stat(func: ast.expr) -> bool:
    """``keys.stat(..)``, ``keys.worker_stat(..)``, ``schema.stats.get(..)`` and the like."""
    if not isinstance(func, ast.Attribute):
        return False
    owner = func.value
    on_stats = isinstance(owner, ast.Attribute) and owner.attr == "stats"
    return func.attr in ("stat", "worker_stat") or on_stats


def test_no_call_passes_a_stat_name_as_a_string() -> None:
    spelled = []
    for module in PACKAGE.rglob("*.py"):
        if module.name == "keys.py" and module.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Call) and _names_a_stat(node.func):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and arg.value in ("processed", "failed"):
                        spelled.append(f"{module.relative_to(PACKAGE)}:{node.lineno}")
    assert spelled == []
