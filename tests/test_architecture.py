"""The shape of the library, checked: layered imports, no cycles, rooms of a readable size.

``../shared/DESIGN.md`` draws resque_compat bottom-up; an import that points up (the store
reaching for a job, ActiveJob reaching for the client) or a cycle is how a codebase stops
having a shape, so an AST walk over every module fails the suite on the first one. Imports
under ``TYPE_CHECKING`` and inside functions count too: they couple the modules as much.

Layers are named by top-level module or package, so new modules inside a package inherit
its layer, and a new top-level module or package must be given one here, on purpose.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "resque_compat"
ROOT = PACKAGE.name

#: Bottom-up. A module may import from its own layer and the layers below, never above.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"keys", "timefmt", "errors"}),
    frozenset({"connection", "devserver", "sentinel"}),
    frozenset({"codec"}),
    frozenset({"store"}),
    frozenset({"job", "schedule_format"}),
    frozenset({"failure", "activejob"}),
    frozenset({"client", "aio", "schedules", "delayed"}),
    frozenset({"worker", "scheduler", "plugins"}),
    frozenset({"views"}),
    frozenset({"cli", "demo", "__main__", "__init__"}),
)
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 49  # "under 50"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def component(module: str) -> str:
    """``resque_compat.store.queues`` -> ``store``; the package itself is ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer_of(module: str) -> int:
    name = component(module)
    for index, members in enumerate(LAYERS):
        if name in members:
            return index
    raise AssertionError(
        f"{module}: {name!r} has no layer; add it to LAYERS in {Path(__file__).name} "
        "(and to the picture in DESIGN.md)"
    )


def _known(target: str) -> str:
    """The module a dotted name lands in (``resque_compat.store.base.Operation`` is a name
    inside ``resque_compat.store.base``)."""
    while target not in MODULES:
        target = target.rpartition(".")[0]
    return target


def imports_of(module: str) -> Iterator[tuple[str, int]]:
    """Every resque_compat module ``module`` imports, with the line that imports it."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == ROOT:
                    yield _known(alias.name), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            elif node.module and node.module.split(".")[0] == ROOT:
                target = node.module
            else:
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                yield (submodule if submodule in MODULES else _known(target)), node.lineno


GRAPH: dict[str, set[str]] = {
    module: {target for target, _ in imports_of(module) if target != module} for module in MODULES
}


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_no_import_points_up() -> None:
    upward = [
        f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}: {module} "
        f"({component(module)}) imports {target} ({component(target)})"
        for module in MODULES
        for target, line in imports_of(module)
        if layer_of(target) > layer_of(module)
    ]
    assert upward == [], "imports pointing up the layers:\n" + "\n".join(upward)


def _cycle_from(start: str) -> list[str] | None:
    """A cycle through the graph reachable from ``start``, as the modules on it."""
    path: list[str] = []
    on_path: set[str] = set()
    done: set[str] = set()

    def visit(module: str) -> list[str] | None:
        path.append(module)
        on_path.add(module)
        for target in sorted(GRAPH[module]):
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done and (found := visit(target)) is not None:
                return found
        path.pop()
        on_path.discard(module)
        done.add(module)
        return None

    return visit(start)


def test_the_import_graph_has_no_cycle() -> None:
    for module in MODULES:
        cycle = _cycle_from(module)
        assert cycle is None, "import cycle: " + " -> ".join(cycle)


@dataclass(frozen=True)
class Function:
    where: str
    lines: int


def functions() -> Iterator[Function]:
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                yield Function(f"{module}.{node.name} (line {node.lineno})", lines)


def test_modules_are_at_most_450_lines() -> None:
    sizes = {
        module: len(path.read_text(encoding="utf-8").splitlines())
        for module, path in MODULES.items()
    }
    too_long = [f"{module}: {size}" for module, size in sizes.items() if size > MAX_MODULE_LINES]
    assert too_long == [], f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(too_long)


def test_functions_are_under_50_lines() -> None:
    too_long = [f"{f.where}: {f.lines}" for f in functions() if f.lines > MAX_FUNCTION_LINES]
    assert too_long == [], "functions of 50 lines or more:\n" + "\n".join(too_long)


def test_the_walk_sees_the_imports_it_checks() -> None:
    """The checks above are only as good as the import resolution: spot-check it."""
    assert "resque_compat.store.base" in GRAPH["resque_compat.client"]
    assert "resque_compat.codec" in GRAPH["resque_compat.client"]
    assert "resque_compat.activejob.wire" in GRAPH["resque_compat.activejob.values"]
    assert "resque_compat.failure.manage" in GRAPH["resque_compat.failure"]
    assert layer_of("resque_compat.store.queues") < layer_of("resque_compat.job")
