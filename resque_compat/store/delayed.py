"""resque-scheduler's delayed jobs: ``delayed_queue_schedule``, ``delayed:<ts>``, ``timestamps:``.

The producer side sends the commands resque-scheduler's ``delayed_push`` sends, in its order
(``RPUSH delayed:<ts>``, ``SADD timestamps:<json> delayed:<ts>``, ``ZADD delayed_queue_schedule
<ts> <ts>``), pipelined into one round trip, followed by one ``PUBLISH`` of the timestamp on a
channel of ours: a sleeping Python scheduler wakes for a timestamp earlier than the one it waits
for, and a PUBLISH leaves no key behind (Ruby never sees it).

Where Ruby cleans up an emptied timestamp with ``WATCH``/``MULTI`` (which needs a connection of
its own), a small script does the same atomically.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..keys import Keys, delayed_member
from .base import Batch, Command, Operation, Script, as_int, batch, lua_source, one, text

#: LRANGEs per round trip when reading every timestamp, as Ruby's find_delayed_selection.
SELECTION_SLICE = 100

#: Timestamps (one LLEN each) per round trip when an operator view counts every delayed job:
#: about half a millisecond of Redis time per round trip, so even a schedule of 100,000
#: timestamps (100 round trips, about 0.5 s in all on two busy cores) never holds Redis up.
COUNT_SLICE = 1000

_CLEAN_UP_TIMESTAMP = Script(lua_source("clean_up_timestamp"))


@dataclass(frozen=True)
class DelayedItem:
    """One delayed job: its due time (whole seconds) and its ``{"class","args","queue"}``."""

    timestamp: int
    payload: bytes


@dataclass(frozen=True)
class DelayedOverview:
    """The delayed jobs and the scheduler master at a glance, for ``top`` and ``metrics``.

    ``timestamps`` is ``delayed_queue_schedule``'s size (Ruby's ``delayed_queue_schedule_size``,
    what resque-web's Delayed tab counts), ``jobs`` the jobs in all its ``delayed:<ts>`` lists,
    ``first`` its earliest timestamp. ``master`` is the master lock's ``host:pid`` (None when no
    scheduler holds it) and ``master_ttl`` the seconds before it expires unless renewed (None
    when it is not held or has no expiry).
    """

    timestamps: int
    jobs: int
    first: int | None
    master: str | None
    master_ttl: int | None


@dataclass(frozen=True)
class DelayedOps:
    keys: Keys

    def push(self, item: DelayedItem) -> Operation[None]:
        """Ruby's ``delayed_push``, its three commands in its order, plus the wake-up."""
        yield batch(*self._push_commands(item), self._wakeup(item.timestamp))

    def _push_commands(self, item: DelayedItem) -> tuple[Command, ...]:
        member = delayed_member(item.timestamp)
        return (
            ("RPUSH", self.keys.delayed(item.timestamp), item.payload),
            ("SADD", self.keys.delayed_timestamps(item.payload), member),
            ("ZADD", self.keys.delayed_schedule(), item.timestamp, item.timestamp),
        )

    def _wakeup(self, timestamp: int) -> Command:
        return ("PUBLISH", self.keys.delayed_wakeup(), timestamp)

    def push_many(
        self, items: Sequence[DelayedItem], now: Iterable[tuple[str, bytes]] = ()
    ) -> Operation[int]:
        """Many delayed jobs (and jobs already due, pushed to their queues) in one round trip.

        The keyspace is what as many ``delayed_push`` calls leave; the commands are grouped
        (one variadic RPUSH per timestamp, one ZADD) because per-job commands cost Redis more
        than the round trip saved.
        """
        commands: list[Command] = []
        for queue, payload in now:
            commands += [
                ("SADD", self.keys.queues(), queue),
                ("RPUSH", self.keys.queue(queue), payload),
            ]
        by_time: dict[int, list[bytes]] = {}
        for item in items:
            by_time.setdefault(item.timestamp, []).append(item.payload)
        for timestamp, payloads in by_time.items():
            commands.append(("RPUSH", self.keys.delayed(timestamp), *payloads))
            member = delayed_member(timestamp)
            commands += [("SADD", self.keys.delayed_timestamps(p), member) for p in payloads]
        if by_time:
            scores = [part for ts in sorted(by_time) for part in (ts, ts)]
            commands.append(("ZADD", self.keys.delayed_schedule(), *scores))
            commands.append(self._wakeup(min(by_time)))
        if commands:
            yield batch(*commands)
        return len(items)

    def schedule_size(self) -> Operation[int]:
        return as_int((yield one(("ZCARD", self.keys.delayed_schedule()))))

    def schedule_peek(self, start: int, count: int) -> Operation[list[int]]:
        """Ruby's ``delayed_queue_peek``: timestamps in order."""
        stop = start + count - 1
        found = yield one(("ZRANGE", self.keys.delayed_schedule(), start, stop))
        return [int(ts) for ts in found]

    def timestamps(self) -> Operation[list[int]]:
        found = yield one(("ZRANGE", self.keys.delayed_schedule(), 0, -1))
        return [int(ts) for ts in found]

    def sizes(self, timestamps: Sequence[int]) -> Operation[list[int]]:
        """The number of jobs at each timestamp, one round trip."""
        if not timestamps:
            return []
        replies = yield batch(*(("LLEN", self.keys.delayed(ts)) for ts in timestamps))
        return [as_int(reply) for reply in replies]

    def overview(self, lock_prefix: str = "") -> Operation[DelayedOverview]:
        """Counts, first timestamp and master lock: one round trip, plus one per
        ``COUNT_SLICE`` timestamps. Each slice after the first starts after the last one seen
        (by score, not by rank), so timestamps a scheduler removes meanwhile skip no others."""
        schedule = self.keys.delayed_schedule()
        lock = self.keys.scheduler_master_lock(lock_prefix)
        size, group, holder, ttl = yield batch(
            ("ZCARD", schedule),
            ("ZRANGE", schedule, 0, COUNT_SLICE - 1),
            ("GET", lock),
            ("TTL", lock),
        )
        first = int(group[0]) if group else None
        jobs = 0
        while group:
            stamps = [int(ts) for ts in group]
            commands: list[Command] = [("LLEN", self.keys.delayed(ts)) for ts in stamps]
            more = len(stamps) == COUNT_SLICE
            if more:
                after = f"({stamps[-1]}"
                commands.append(("ZRANGEBYSCORE", schedule, after, "+inf", "LIMIT", 0, COUNT_SLICE))
            replies = yield batch(*commands)
            jobs += sum(as_int(reply) for reply in replies[: len(stamps)])
            group = replies[-1] if more else []
        ttl = as_int(ttl)
        return DelayedOverview(as_int(size), jobs, first, text(holder), ttl if ttl >= 0 else None)

    def timestamp_size(self, timestamp: int) -> Operation[int]:
        return as_int((yield one(("LLEN", self.keys.delayed(timestamp)))))

    def timestamp_peek(self, timestamp: int, start: int, count: int) -> Operation[list[bytes]]:
        """Ruby's ``delayed_timestamp_peek``: LINDEX for one item, LRANGE otherwise."""
        key = self.keys.delayed(timestamp)
        if count == 1:
            found = yield Batch((("LINDEX", key, start),), lambda r: [] if r[0] is None else r)
            return list(found)
        return list((yield one(("LRANGE", key, start, start + count - 1))))

    def next_timestamp(self, at: int | None) -> Operation[int | None]:
        """The first timestamp due by ``at`` (any, when None), as ``next_delayed_timestamp``."""
        stop: Any = "+inf" if at is None else at
        found = yield one(
            ("ZRANGEBYSCORE", self.keys.delayed_schedule(), "-inf", stop, "LIMIT", 0, 1)
        )
        return int(found[0]) if found else None

    def scheduled_at(self, payload: bytes) -> Operation[list[int]]:
        """The timestamps holding ``payload`` (Ruby's ``scheduled_at``), sorted."""
        members = yield one(("SMEMBERS", self.keys.delayed_timestamps(payload)))
        return sorted(int(bytes(m).split(b":", 1)[1]) for m in members)

    def remove(self, payload: bytes) -> Operation[int]:
        """Ruby's ``remove_delayed_job``: LREM from every list the payload is in. Emptied
        timestamps stay in the schedule until a scheduler passes, as in Ruby."""
        timestamps_key = self.keys.delayed_timestamps(payload)
        members = list((yield one(("SMEMBERS", timestamps_key))))
        if not members:
            return 0
        commands: list[Command] = []
        for member in members:
            key = self.keys.prefix.encode() + bytes(member)
            commands += [("LREM", key, 0, payload), ("SREM", timestamps_key, member)]
        replies = yield batch(*commands)
        return sum(as_int(reply) for reply in replies[0::2])

    def remove_from_timestamp(self, timestamp: int, payload: bytes) -> Operation[int]:
        """Ruby's ``remove_delayed_job_from_timestamp``: SREM, LREM, then the clean-up."""
        key = self.keys.delayed(timestamp)
        replies = yield batch(
            ("SREM", self.keys.delayed_timestamps(payload), delayed_member(timestamp)),
            ("LREM", key, 0, payload),
        )
        yield self._clean_up(timestamp)
        return as_int(replies[1])

    def _clean_up(self, timestamp: int) -> Batch[Any]:
        keys = (self.keys.delayed(timestamp), self.keys.delayed_schedule())
        return _CLEAN_UP_TIMESTAMP.call(keys, (timestamp,))

    def everything(self) -> Operation[list[DelayedItem]]:
        """Every delayed payload, timestamps in order, LRANGEs 100 per round trip like Ruby."""
        found: list[DelayedItem] = []
        timestamps = yield from self.timestamps()
        for start in range(0, len(timestamps), SELECTION_SLICE):
            group = timestamps[start : start + SELECTION_SLICE]
            lists = yield batch(*(("LRANGE", self.keys.delayed(ts), 0, -1) for ts in group))
            for ts, payloads in zip(group, lists, strict=True):
                found += [DelayedItem(ts, bytes(p)) for p in payloads]
        return found

    def reset(self) -> Operation[None]:
        """Ruby's ``reset_delayed_queue``: each list and its payloads' ``timestamps:`` sets,
        then the schedule."""
        timestamps = yield from self.timestamps()
        if timestamps:
            lists = yield batch(*(("LRANGE", self.keys.delayed(ts), 0, -1) for ts in timestamps))
            deletes: list[Command] = [
                ("DEL", self.keys.delayed(ts), *(self.keys.delayed_timestamps(i) for i in items))
                for ts, items in zip(timestamps, lists, strict=True)
            ]
            yield batch(*deletes)
        yield one(("DEL", self.keys.delayed_schedule()))
