"""resque-status' keys: ``status:<uuid>`` documents, the ``_statuses`` index, ``_kill``.

The round trips of ``Resque::Plugins::Status::Hash``: a status is written with SET (and
EXPIRE when statuses expire), created with an entry in ``_statuses`` scored by its creation
second (older entries trimmed when statuses expire), and a kill request is a member of
``_kill`` until the job acknowledges it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..keys import Keys
from .base import Command, Operation, batch, one, texts


@dataclass(frozen=True)
class StatusOps:
    keys: Keys

    def _set_commands(self, uuid: str, document: bytes, expire_in: int | None) -> list[Command]:
        commands: list[Command] = [("SET", self.keys.status(uuid), document)]
        if expire_in:
            commands.append(("EXPIRE", self.keys.status(uuid), expire_in))
        return commands

    def set(self, uuid: str, document: bytes, expire_in: int | None) -> Operation[None]:
        """``Hash.set``: the whole document, and its expiry when statuses expire."""
        yield batch(*self._set_commands(uuid, document, expire_in))

    def create(
        self, uuid: str, document: bytes, now: int, expire_in: int | None
    ) -> Operation[None]:
        """``Hash.create``: set, index by creation second, trim the index when expiring."""
        commands = self._set_commands(uuid, document, expire_in)
        commands.append(("ZADD", self.keys.statuses(), now, uuid))
        if expire_in:
            commands.append(("ZREMRANGEBYSCORE", self.keys.statuses(), 0, now - expire_in))
        yield batch(*commands)

    def get(self, uuid: str) -> Operation[bytes | None]:
        reply: bytes | None = yield one(("GET", self.keys.status(uuid)))
        return reply

    def get_many(self, uuids: list[str]) -> Operation[list[bytes | None]]:
        if not uuids:
            return []
        replies: list[Any] = yield one(("MGET", *(self.keys.status(u) for u in uuids)))
        return list(replies)

    def ids(self, start: int = 0, stop: int = -1) -> Operation[list[str]]:
        """``Hash.status_ids``: newest first, ``start`` to ``stop`` of that order."""
        return texts((yield one(("ZREVRANGE", self.keys.statuses(), start, stop))))

    def count(self) -> Operation[int]:
        return int((yield one(("ZCARD", self.keys.statuses()))))

    def remove(self, uuid: str) -> Operation[None]:
        yield from self.remove_many([uuid])

    def remove_many(self, uuids: list[str]) -> Operation[None]:
        """``Hash.remove`` of each: the documents and their index entries, one round trip."""
        if uuids:
            yield batch(
                ("DEL", *(self.keys.status(uuid) for uuid in uuids)),
                ("ZREM", self.keys.statuses(), *uuids),
            )

    def kill(self, uuid: str) -> Operation[None]:
        yield from self.kill_many([uuid])

    def kill_many(self, uuids: list[str]) -> Operation[None]:
        """``Hash.kill`` of each: the uuids join the kill list that ``tick`` checks."""
        if uuids:
            yield one(("SADD", self.keys.status_kill(), *uuids))

    def killed(self, uuid: str) -> Operation[None]:
        """The job saw its kill request and stopped: the request is withdrawn."""
        yield one(("SREM", self.keys.status_kill(), uuid))

    def should_kill(self, uuid: str) -> Operation[bool]:
        return bool((yield one(("SISMEMBER", self.keys.status_kill(), uuid))))

    def kill_ids(self) -> Operation[list[str]]:
        return sorted(texts((yield one(("SMEMBERS", self.keys.status_kill())))))
