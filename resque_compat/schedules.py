"""Dynamic schedules from a producer: resque-scheduler's ``Resque.set_schedule`` and friends.

A schedule set here lands where Ruby's ``set_schedule(name, config)`` with ``persist`` puts it
(``persistent_schedules``, JSON of the config without ``persist``, and the name added to
``schedules_changed``), so that a dynamic scheduler, Ruby's or Python's, picks it up, and
resque-web's Schedule tab lists it. Ruby also has non-persistent schedules, kept in the
memory of the process that sets them; a Python producer is never the scheduler's process,
so every schedule set here is persistent and an explicit ``persist: false`` is refused.
A config is checked before it is stored (class, cron or every, args), so that a mistake is
reported to the caller instead of stopping a Ruby scheduler later.

``ScheduleMethods`` is mixed into ``Resque`` and ``AsyncScheduleMethods`` into ``AsyncResque``;
both run the operations below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import codec
from .keys import Keys
from .store.base import AsyncDriver, Operation, SyncDriver
from .store.schedules import ScheduleOps


def set_schedule_operation(
    keys: Keys, name: str, config: Mapping[str, Any], style: codec.JsonStyle
) -> Operation[None]:
    """Check ``config``, then HSET it (``persist`` removed) and SADD the name."""
    # Imported here: ``client`` mixes this module in, and the scheduler package imports
    # the client, so a module-level import would make a cycle.
    from .schedule_format.entries import EntryError, parse_entry

    stored = {key: value for key, value in config.items() if key not in ("persist", ":persist")}
    if config.get("persist", True) is False:
        raise EntryError(
            f"schedule {name!r}: persist: false keeps a schedule in the memory of the process "
            "that sets it; a schedule set from Python is always stored in Redis"
        )
    parse_entry(name, stored, dynamic=True)
    yield from ScheduleOps(keys).store(name, codec.encode(stored, style))


def fetch_schedule_operation(keys: Keys, name: str) -> Operation[dict[str, Any] | None]:
    raw = yield from ScheduleOps(keys).fetch(name)
    return None if raw is None else _config(raw)


def stored_schedules_operation(keys: Keys) -> Operation[dict[str, Any]]:
    stored = yield from ScheduleOps(keys).stored()
    return {name: _config(raw) for name, raw in sorted(stored.items())}


def _config(raw: bytes) -> Any:
    return codec.decode(raw)


class ScheduleMethods:
    """Ruby's ``set_schedule``, ``remove_schedule``, ``fetch_schedule`` and the like."""

    settings: Any
    options: Any
    driver: SyncDriver

    def set_schedule(self, name: str, config: Mapping[str, Any]) -> None:
        """Store a schedule for the schedulers (raises ``EntryError`` for a bad config)."""
        keys = self.settings.keys
        self.driver.run(set_schedule_operation(keys, name, config, self.options.json_style))

    def remove_schedule(self, name: str) -> bool:
        """Remove a stored schedule and tell the schedulers; whether one was stored."""
        return self.driver.run(ScheduleOps(self.settings.keys).remove(name))

    def fetch_schedule(self, name: str) -> dict[str, Any] | None:
        """The stored config of a schedule (schedule files are the scheduler's own)."""
        return self.driver.run(fetch_schedule_operation(self.settings.keys, name))

    def stored_schedules(self) -> dict[str, Any]:
        """Every schedule in ``persistent_schedules``, by name."""
        return self.driver.run(stored_schedules_operation(self.settings.keys))

    def get_last_enqueued_at(self, name: str) -> str | None:
        """When a schedule last fired, as Ruby writes it (``Time#to_s``); None: never."""
        return self.driver.run(ScheduleOps(self.settings.keys).last_enqueued_of(name))


class AsyncScheduleMethods:
    """The same methods on an asyncio client."""

    settings: Any
    options: Any
    driver: AsyncDriver

    async def set_schedule(self, name: str, config: Mapping[str, Any]) -> None:
        keys = self.settings.keys
        await self.driver.run(set_schedule_operation(keys, name, config, self.options.json_style))

    async def remove_schedule(self, name: str) -> bool:
        return await self.driver.run(ScheduleOps(self.settings.keys).remove(name))

    async def fetch_schedule(self, name: str) -> dict[str, Any] | None:
        return await self.driver.run(fetch_schedule_operation(self.settings.keys, name))

    async def stored_schedules(self) -> dict[str, Any]:
        return await self.driver.run(stored_schedules_operation(self.settings.keys))

    async def get_last_enqueued_at(self, name: str) -> str | None:
        return await self.driver.run(ScheduleOps(self.settings.keys).last_enqueued_of(name))
