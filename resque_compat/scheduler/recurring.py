"""Recurring schedules, fired as resque-scheduler 5.0 fires them (what rufus does for it).

The scheduler loop drives one ``RecurringSchedules`` while it holds the master lock:

=============================  ==============================================================
call                           when, and what it does
=============================  ==============================================================
``load()``                     on becoming master (Ruby reloads the whole schedule then): the
                               file's entries merged with ``persistent_schedules`` (Redis
                               wins), every phase restarted; with ``dynamic``, DEL
                               ``schedules_changed``. The other calls load first if needed.
``reload_if_changed() -> bool``  each loop turn (only does anything with ``dynamic``, Ruby's
                               ``DYNAMIC_SCHEDULE``): pops ``schedules_changed`` and reloads
                               just those entries (gone ones are dropped); True if any.
``next_due() -> float | None``   unix seconds of the next firing of any entry, for the sleep.
``fire_due(now) -> int``         enqueues every entry due at or before ``now``, each once
                               (missed firings are skipped, as rufus' ``discard_past``), HSETs
                               its ``delayed:last_enqueued_at``; returns how many enqueued.
=============================  ==============================================================

An entry that cannot be loaded is logged and kept in ``problems`` (name -> message); the
others run. Ruby's scheduler stops at a bad cron line; here it is refused alone. An entry
without a ``queue`` whose class is not registered in Python with one is refused too: Ruby
cannot infer its queue either and would raise ``NoQueueError`` at each firing.

Enqueueing follows ``enqueue_from_config``: a ``custom_job_class`` other than
``Resque::Job`` is what gets enqueued (as Ruby does when it cannot load that class; Python
has no ``scheduled`` method to call); a class registered in Python is enqueued with its
schedule and enqueue hooks (``process_schedule_hooks``: ``before_schedule`` can refuse it,
then ``before_delayed_enqueue``, ``Resque.enqueue_to``, ``after_schedule``); any other class
is pushed as is (``Job.create``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from .. import codec, timefmt
from ..client import Resque
from ..errors import NoQueueError, WritesRefused
from ..schedule_format.entries import Entry, EntryError, configured_env, env_matches, parse_entry
from ..store.schedules import ScheduleOps

log = logging.getLogger("resque_compat.scheduler")


@dataclass
class _Firing:
    """An entry's place in time: its next firing and how many it has had since loading."""

    entry: Entry
    due: float | None
    fired: int = 0


class RecurringSchedules:
    """The schedule of one scheduler: file entries and dynamic ones, and their next firings."""

    def __init__(
        self,
        client: Resque,
        schedule: Mapping[str, Any] | None = None,
        *,
        dynamic: bool = False,
        env: str | None = None,
    ) -> None:
        self.client = client
        self.file_schedule = prepare_file_schedule(schedule or {})
        self.dynamic = dynamic
        self.env = env
        self.ops = ScheduleOps(client.settings.keys)
        self.problems: dict[str, str] = {}
        self.skipped: dict[str, str] = {}
        self._firings: dict[str, _Firing] = {}
        self._loaded = False

    @classmethod
    def from_file(
        cls, client: Resque, path: str | Path, *, dynamic: bool = False, env: str | None = None
    ) -> RecurringSchedules:
        """A YAML schedule file, installed as Ruby's ``Resque.schedule =`` installs it:
        entries with ``persist`` are stored in Redis (and marked changed) at once."""
        schedule = read_schedule_file(path)
        for name, config in schedule.items():
            if isinstance(config, Mapping) and config.get("persist"):
                try:
                    client.driver.run(store_schedule(client, name, _with_class(name, config)))
                except EntryError:
                    # Not stored: kept as a file entry, so that loading refuses it by name.
                    schedule[name] = {k: v for k, v in config.items() if k != "persist"}
        return cls(client, schedule, dynamic=dynamic, env=env)

    def load(self) -> None:
        stored = self._stored()
        self._firings.clear()
        self.problems.clear()
        self.skipped.clear()
        now = time.time()
        for name, (config, dynamic) in self._merged(stored).items():
            self._load_entry(name, config, dynamic, now)
        if self.dynamic:
            self.client.driver.run(self.ops.forget_changes())
        self._loaded = True

    def reload_if_changed(self) -> bool:
        if not self._loaded:
            self.load()
            return True
        if not self.dynamic:
            return False
        names = self.client.driver.run(self.ops.pop_changed())
        if not names:
            return False
        merged = self._merged(self._stored())
        now = time.time()
        for name in names:
            self._unload(name)
            if name in merged:
                config, dynamic = merged[name]
                self._load_entry(name, config, dynamic, now)
        return True

    def next_due(self) -> float | None:
        if not self._loaded:
            self.load()
        dues = [firing.due for firing in self._firings.values() if firing.due is not None]
        return min(dues, default=None)

    def fire_due(self, now: float) -> int:
        if not self._loaded:
            self.load()
        enqueued = 0
        for name, firing in self._firings.items():
            if firing.due is None or firing.due > now:
                continue
            log.info("queueing %s (%s)", firing.entry.class_name, name)
            enqueued += self._fire(firing.entry)
            firing.fired += 1
            firing.due = _next(firing, now)
            # After the firing is counted: a refusal here must not fire it again.
            self.client.driver.run(self.ops.mark_enqueued(name, last_enqueued_text(now)))
        return enqueued

    def entries(self) -> dict[str, Entry]:
        """The loaded entries by name (refused and skipped ones are not among them)."""
        return {name: firing.entry for name, firing in self._firings.items()}

    def due_times(self) -> dict[str, float | None]:
        return {name: firing.due for name, firing in self._firings.items()}

    def _fire(self, entry: Entry) -> int:
        """Ruby's ``enqueue``: a failure is logged (its failure handler) and the loop goes on;
        a refused write is not a failure of the job but an outage the scheduler waits out."""
        try:
            return 0 if enqueue_entry(self.client, entry) is None else 1
        except WritesRefused:
            raise  # the push was refused: the firing stays due until Redis accepts writes
        except Exception:
            log.exception("schedule %r: enqueueing %s failed", entry.name, entry.class_name)
            return 0

    def _stored(self) -> dict[str, bytes]:
        return self.client.driver.run(self.ops.stored())

    def _merged(self, stored: Mapping[str, bytes]) -> dict[str, tuple[Any, bool]]:
        """Ruby's ``all_schedules``: the file's entries, then Redis' over them by name."""
        merged: dict[str, tuple[Any, bool]] = {
            name: (config, False) for name, config in self.file_schedule.items()
        }
        for name, raw in stored.items():
            try:
                merged[name] = (codec.decode(raw), True)
            except ValueError as error:
                merged[name] = (None, True)
                log.error("schedule %r: stored config is not JSON: %s", name, error)
        return merged

    def _load_entry(self, name: str, config: Any, dynamic: bool, now: float) -> None:
        wanted = configured_env(config) if isinstance(config, Mapping) else None
        if not env_matches(wanted, self.env):
            ours = "none is set" if self.env is None else repr(self.env)
            self.skipped[name] = f"rails_env {wanted!r} does not include ours ({ours})"
            return
        try:
            entry = parse_entry(name, config, dynamic, now)
            self._check_queue(entry)
        except EntryError as error:
            self.problems[name] = str(error)
            log.error("%s: refused, the other schedules go on", error)
            return
        self.problems.pop(name, None)
        self._firings[name] = _Firing(entry, _first_due(entry, now))
        if entry.every is None and entry.cron is None:
            log.info("no cron / every found for %s (%s) - skipping", entry.class_name, name)

    def _check_queue(self, entry: Entry) -> None:
        if queue_of(self.client, entry) is None:
            raise EntryError(
                f"schedule {entry.name!r}: no queue: give 'queue', or register "
                f"{entry.class_name} in Python with one (Ruby raises NoQueueError here)"
            )

    def _unload(self, name: str) -> None:
        self._firings.pop(name, None)
        self.problems.pop(name, None)
        self.skipped.pop(name, None)


def _first_due(entry: Entry, now: float) -> float | None:
    """rufus' first ``next_time``: ``first_*`` if given (for cron, if still ahead), else one
    period from now for ``every`` and the next matching time for ``cron``."""
    first = entry.repeat.first_at
    if entry.every is not None:
        due = first if first is not None else now + entry.every
    elif entry.cron is not None:
        due = first if first is not None and first > now else entry.cron.next_after(now)
    else:
        return None
    return _within_limits(entry, due, 0)


def _next(firing: _Firing, now: float) -> float | None:
    """After a firing: ``every`` keeps its phase and skips what was missed; ``cron`` takes
    the next matching time after now."""
    entry, due = firing.entry, firing.due or now
    if entry.every is not None:
        due += entry.every
        while due <= now:
            due += entry.every
    elif entry.cron is not None:
        due = entry.cron.next_after(now)
    return _within_limits(entry, due, firing.fired)


def _within_limits(entry: Entry, due: float, fired: int) -> float | None:
    limits = entry.repeat
    if limits.times is not None and fired >= limits.times:
        return None
    if limits.last_at is not None and due >= limits.last_at:
        return None
    return due


def queue_of(client: Resque, entry: Entry) -> str | None:
    """The entry's ``queue``, else the queue of its class (``Resque.queue_from_class``)."""
    if entry.queue:
        return entry.queue
    spec = client.options.registry.get(entry.class_name)
    return spec.queue if spec is not None and spec.queue else None


def enqueue_entry(client: Resque, entry: Entry) -> bool | None:
    """``Resque::Scheduler.enqueue_from_config``: True, or None when a hook said no."""
    queue = queue_of(client, entry)
    if queue is None:
        raise NoQueueError(
            "Jobs must be placed onto a queue. No queue could be inferred for class "
            f"{entry.class_name}"
        )
    spec = client.options.registry.get(entry.class_name)
    if entry.custom_job_class is None and spec is not None:

        def enqueue() -> bool | None:
            return client.enqueue_to(queue, spec, *entry.args)

        enqueued: bool | None = spec.around_schedule(entry.args, enqueue)
        return enqueued
    class_name = entry.custom_job_class or entry.class_name
    payload = client.ops.encode(class_name, entry.args)
    client.driver.run(client.ops.schema.queues.push(queue, payload))
    return True


def last_enqueued_text(now: float) -> str:
    """``Time.now.to_s`` in the local zone, as Ruby writes ``delayed:last_enqueued_at``."""
    return timefmt.started(datetime.fromtimestamp(now).astimezone())


def prepare_file_schedule(schedule: Mapping[str, Any]) -> dict[str, Any]:
    """Ruby's ``prepare_schedules``: a file entry without ``class`` runs the class named like
    it. Entries with ``persist`` live in Redis (see ``from_file``), not in the file's part."""
    prepared: dict[str, Any] = {}
    for name, config in schedule.items():
        if isinstance(config, Mapping):
            if config.get("persist"):
                continue
            config = _with_class(str(name), config)
        prepared[str(name)] = config
    return prepared


def _with_class(name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with ``class`` added last when missing, as Ruby adds it."""
    prepared = dict(config)
    if "class" not in prepared:
        prepared["class"] = name
    return prepared


def read_schedule_file(path: str | Path) -> dict[str, Any]:
    """A resque-scheduler YAML file (safe_load, as Psych 4's ``load_file`` reads it)."""
    loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if loaded is None:
        return {}
    if not isinstance(loaded, Mapping):
        raise EntryError(f"{path}: a schedule file is a mapping of names to entries")
    return {str(name): config for name, config in loaded.items()}


def store_schedule(client: Resque, name: str, config: Mapping[str, Any]) -> Any:
    """The operation that stores one schedule in Redis (see ``resque_compat.schedules``)."""
    from ..schedules import set_schedule_operation

    return set_schedule_operation(client.settings.keys, name, config, client.options.json_style)
