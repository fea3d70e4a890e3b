"""The Lua scripts ship as ``.lua`` package data and are the only Lua in the package."""

from __future__ import annotations

import re
from pathlib import Path

import redis

from resque_compat.store import lifecycle

PACKAGE = Path(__file__).resolve().parent.parent / "resque_compat"


def test_every_script_is_a_lua_file_the_package_ships() -> None:
    pyproject = (PACKAGE.parent / "pyproject.toml").read_text()
    line = re.search(r"^resque_compat = \[(.*)\]$", pyproject, re.MULTILINE)
    assert line is not None, "no package-data line for resque_compat"
    globs = re.findall(r'"([^"]+)"', line.group(1))
    scripts = sorted(PACKAGE.rglob("*.lua"))
    assert scripts, "no .lua file in the package"
    for script in scripts:
        relative = script.relative_to(PACKAGE)
        assert any(relative.match(glob) for glob in globs), f"{relative} not in {globs}"
    inline = [p.name for p in PACKAGE.rglob("*.py") if "redis.call(" in p.read_text()]
    assert inline == []


def test_scripts_load_into_redis(raw_redis: redis.Redis) -> None:
    for script in (lifecycle.RESERVE, lifecycle.DONE_AND_RESERVE, lifecycle.RELEASE):
        assert raw_redis.script_load(script.source) == script.sha
