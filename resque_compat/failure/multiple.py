"""Resque::Failure::Multiple: save to several backends, read from the first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigurationError
from ..store.base import Operation
from .base import _EVERYTHING, FailureBackend
from .record import FailedEntry, FailedRecord, Failure, FailureQuery


@dataclass(frozen=True)
class MultipleBackend(FailureBackend):
    """``Resque::Failure::Multiple``: saves to every backend, reads from the first.

    Requeues go through the first backend only (one job enqueued, as in Ruby). Removals
    keep the others consistent without trusting indexes: the first backend removes the
    record, the others their own copy of the same bytes (:meth:`FailureBackend.discard`),
    where Ruby removes "index i" from each list whatever is there. ``clear()`` with no
    list clears every backend, ``clear(list)`` the first one.
    """

    backends: tuple[FailureBackend, ...]

    def __post_init__(self) -> None:
        if not self.backends:
            raise ConfigurationError("MultipleBackend needs at least one backend")

    @property
    def first(self) -> FailureBackend:
        return self.backends[0]

    @property
    def others(self) -> tuple[FailureBackend, ...]:
        return self.backends[1:]

    def save(self, failure: Failure) -> Operation[None]:
        for backend in self.backends:
            yield from backend.save(failure)

    def count(self, queue: str | None = None, class_name: str | None = None) -> Operation[int]:
        return (yield from self.first.count(queue, class_name))

    def queues(self) -> Operation[list[str]]:
        return (yield from self.first.queues())

    def all(
        self, offset: int = 0, limit: int = 1, queue: str | None = None
    ) -> Operation[FailedRecord | list[FailedRecord] | None]:
        return (yield from self.first.all(offset, limit, queue))

    def entries(
        self, offset: int = 0, limit: int | None = None, queue: str | None = None
    ) -> Operation[list[FailedEntry]]:
        return (yield from self.first.entries(offset, limit, queue))

    def entry(self, index: int, queue: str | None = None) -> Operation[FailedEntry | None]:
        return (yield from self.first.entry(index, queue))

    def each(self, query: FailureQuery = _EVERYTHING) -> Operation[list[tuple[int, FailedRecord]]]:
        return (yield from self.first.each(query))

    def requeue(self, index: int, queue: str | None = None) -> Operation[None]:
        yield from self.first.requeue(index, queue)

    def requeue_to(self, index: int, to_queue: str, queue: str | None = None) -> Operation[None]:
        yield from self.first.requeue_to(index, to_queue, queue)

    def requeue_entry(self, entry: FailedEntry) -> Operation[bool]:
        return (yield from self.first.requeue_entry(entry))

    def requeue_queue(self, queue: str) -> Operation[int]:
        return (yield from self.first.requeue_queue(queue))

    def requeue_all(self) -> Operation[int]:
        return (yield from self.first.requeue_all())

    def remove(
        self, index: int, queue: str | None = None, expected: bytes | None = None
    ) -> Operation[int]:
        if expected is None:
            found = yield from self.first.entry(index, queue)
            if found is None:
                return 0
            expected = found.raw
        removed = yield from self.first.remove(index, queue, expected)
        yield from self._discard_elsewhere([expected])
        return removed

    def _discard_elsewhere(self, raws: Sequence[bytes]) -> Operation[None]:
        for backend in self.others:
            for raw in raws:
                yield from backend.discard(raw)

    def clear(self, queue: str | None = None) -> Operation[int]:
        cleared = yield from self.first.clear(queue)
        if queue is None:
            for backend in self.others:
                yield from backend.clear(None)
        return cleared

    def _clear_retried(self, queue: str | None) -> Operation[tuple[int, list[bytes]]]:
        removed, raws = yield from self.first._clear_retried(queue)
        yield from self._discard_elsewhere(raws)
        return removed, raws

    def remove_queue(self, queue: str) -> Operation[int]:
        removed = yield from self.first.remove_queue(queue)
        for backend in self.others:
            yield from backend.remove_queue(queue)
        return removed

    def discard(self, raw: bytes) -> Operation[int]:
        removed = 0
        for backend in self.backends:
            removed += yield from backend.discard(raw)
        return removed
