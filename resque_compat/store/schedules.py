"""Recurring schedules' keys, as resque-scheduler 5.0 uses them.

Ruby's ``Resque.set_schedule`` (with ``persist``) sends ``HSET persistent_schedules`` then
``SADD schedules_changed``; ``remove_schedule`` sends ``HDEL`` then ``SADD``; the master
scheduler, when dynamic, pops names with ``SPOP`` and deletes the set whenever it loads the
whole schedule. Each firing ends with ``HSET delayed:last_enqueued_at <name> <Time#to_s>``,
which resque-web's Schedule tab shows. Both sides run the same commands here, so a Ruby
scheduler picks up what Python sets and the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..keys import Keys
from .base import Operation, as_int, batch, one, text

# How many names one SPOP takes: enough that a burst of changes costs one round trip.
_POP_CHUNK = 100


@dataclass(frozen=True)
class ScheduleOps:
    keys: Keys

    def store(self, name: str, encoded_config: bytes) -> Operation[None]:
        """``set_schedule`` with ``persist``: the config, then the change, in Ruby's order."""
        yield batch(
            ("HSET", self.keys.persistent_schedules(), name, encoded_config),
            ("SADD", self.keys.schedules_changed(), name),
        )

    def remove(self, name: str) -> Operation[bool]:
        """``remove_schedule``: HDEL then SADD; whether a stored schedule was there."""
        replies = yield batch(
            ("HDEL", self.keys.persistent_schedules(), name),
            ("SADD", self.keys.schedules_changed(), name),
        )
        return as_int(replies[0]) > 0

    def fetch(self, name: str) -> Operation[bytes | None]:
        reply: bytes | None = yield one(("HGET", self.keys.persistent_schedules(), name))
        return reply

    def stored(self) -> Operation[dict[str, bytes]]:
        """Every stored schedule, name to raw JSON (``HGETALL``, as Ruby reads them)."""
        reply = yield one(("HGETALL", self.keys.persistent_schedules()))
        return {text(name) or "": raw for name, raw in reply.items()}

    def changed_count(self) -> Operation[int]:
        return as_int((yield one(("SCARD", self.keys.schedules_changed()))))

    def pop_changed(self) -> Operation[list[str]]:
        """Every name in ``schedules_changed``, popped (SPOP with a count, until empty)."""
        names: list[str] = []
        while True:
            popped = yield one(("SPOP", self.keys.schedules_changed(), _POP_CHUNK))
            names.extend(text(name) or "" for name in popped or ())
            if len(popped or ()) < _POP_CHUNK:
                return names

    def forget_changes(self) -> Operation[None]:
        """What the master does after loading the whole schedule: ``DEL schedules_changed``."""
        yield one(("DEL", self.keys.schedules_changed()))

    def mark_enqueued(self, name: str, when: str) -> Operation[None]:
        """``Resque.last_enqueued_at(name, Time.now.to_s)``."""
        yield one(("HSET", self.keys.last_enqueued_at(), name, when))

    def last_enqueued_of(self, name: str) -> Operation[str | None]:
        """``Resque.get_last_enqueued_at(name)``: HGET."""
        return text((yield one(("HGET", self.keys.last_enqueued_at(), name))))

    def last_enqueued(self) -> Operation[dict[str, str]]:
        """Every schedule's last firing as Ruby wrote it (``Time#to_s``)."""
        reply = yield one(("HGETALL", self.keys.last_enqueued_at()))
        return {text(name) or "": text(value) or "" for name, value in reply.items()}
