"""A refusal raised deep inside a walk over a value, and the path it names."""

from __future__ import annotations

import json
from collections.abc import Sequence

_PATH_SEGMENTS_SHOWN = 8


class Refused(Exception):
    """Raised deep inside a walk; each container frame adds its step on the way out.

    Building the path only while unwinding keeps the successful walk free of bookkeeping.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.trail: list[tuple[str | int, object]] = []

    def enter(self, step: str | int, container: object) -> None:
        self.trail.append((step, container))

    def describe(self, root: str) -> str:
        trail = self.trail[::-1]
        steps = [step for step, _ in trail]
        seen: dict[int, int] = {}
        for index, (_, container) in enumerate(trail):
            first = seen.setdefault(id(container), index)
            if first != index:
                return (
                    f"circular reference: {_path(root, steps[:index])} is the same "
                    f"{type(container).__name__} as {_path(root, steps[:first])}"
                )
        return f"{_path(root, steps)}: {self.reason}"


def _path(root: str, steps: Sequence[str | int]) -> str:
    parts = [f"[{step}]" if isinstance(step, int) else f"[{json.dumps(step)}]" for step in steps]
    if len(parts) > 2 * _PATH_SEGMENTS_SHOWN:
        parts = [*parts[:_PATH_SEGMENTS_SHOWN], "...", *parts[-_PATH_SEGMENTS_SHOWN:]]
    return root + "".join(parts)
