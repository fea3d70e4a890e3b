"""Which queues a worker polls, and in which order, exactly as Ruby resolves them.

The list is the priority order. With a wildcard (``* ? [ ] { }``) or a ``!negation``
anywhere in it, the list is dynamic: it is matched against the ``queues`` set (fnmatch,
each match group in byte order, each name once, negated names left out), so only known
queues are polled, and matched again whenever the reserve script, which compares the set
on every call, reports that it changed (Ruby resolves on every reserve). A static list is
polled as given, even names missing from the set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from ..errors import NoQueueError

_WILDCARDS = frozenset("*?{}[]")


@dataclass(frozen=True)
class QueueSelector:
    patterns: tuple[str, ...]
    skipped: tuple[str, ...] = ()

    @classmethod
    def parse(cls, queues: Sequence[str] | str) -> QueueSelector:
        """From ``["critical", "*", "!low"]`` or ``"critical,*,!low"`` (QUEUES style)."""
        items = queues.split(",") if isinstance(queues, str) else list(queues)
        names = [item.strip() for item in items if item.strip()]
        skipped = tuple(name[1:] for name in names if name.startswith("!"))
        patterns = tuple(name for name in names if not name.startswith("!"))
        if not patterns:
            raise NoQueueError("Please give each worker at least one queue.")
        return cls(patterns, skipped)

    @property
    def dynamic(self) -> bool:
        return bool(self.skipped) or any(ch in _WILDCARDS for p in self.patterns for ch in p)

    @property
    def label(self) -> str:
        """The queue part of the worker id: the list as given, negations left out."""
        return ",".join(self.patterns)

    def resolve(self, known: Iterable[str]) -> list[str]:
        if not self.dynamic:
            return list(self.patterns)
        known_sorted = sorted(set(known), key=lambda name: name.encode())
        chosen: list[str] = []
        for pattern in self.patterns:
            for name in known_sorted:
                if name not in chosen and self._matches(pattern, name):
                    chosen.append(name)
        return chosen

    def _matches(self, pattern: str, name: str) -> bool:
        return fnmatchcase(name, pattern) and not any(
            fnmatchcase(name, skip) for skip in self.skipped
        )

    def same_set(self, other_label: str) -> bool:
        """Ruby's pruning rule: a worker listening on the same set of queues."""
        return set(other_label.split(",")) == set(self.patterns)
