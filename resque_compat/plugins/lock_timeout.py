"""resque-lock-timeout 0.4.5: a lock around perform, ``lock:<Class>:<identifier>``.

Owns ``lock:...`` and, with ``loner``, ``loner:lock:...`` (round trips in
``store.plugins.LockOps``), as ``Resque::Plugins::LockTimeout`` writes them:

- the identifier is ``args.join('-')`` (Ruby's ``to_s`` of each argument), or the job's own;
- without a timeout the lock is ``SETNX lock "true"`` and lives until released;
- with a timeout its value is the Unix second it expires at: ``SETNX``, else a lock whose
  value is in the past is taken over with ``GETSET`` (the taker is whoever read back a past
  value), else one more ``SETNX``;
- a job that cannot take the lock is not performed (``lock_failed``); ``requeue=True`` puts
  it back on its queue, as the plugin's README does in ``lock_failed``;
- the lock is released after perform, unless it expired meanwhile (then it may be someone
  else's: ``lock_expired_before_release`` is called instead);
- ``loner=True`` also refuses an enqueue while the job is locked or already queued, with a
  ``loner:lock:...`` key held from enqueue until the job takes its perform lock.

>>> locks = LockTimeout(RedisSettings.from_url(url))
>>> @locks.locked(timeout=60, requeue=True)
... @job("Rebuild", queue="index")
... def rebuild(index_id): ...
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .. import codec
from ..job import JobSpec
from ..store.plugins import LockOps
from ..store.queues import QueueOps
from .base import PluginRedis, SettingsSource, ruby_join

Callback = Callable[..., Any]


def _nothing(*_args: Any) -> None:
    return None


@dataclass(frozen=True)
class LockOptions:
    """Ruby's ``@lock_timeout``, ``@loner``, ``identifier`` and the failure callbacks."""

    timeout: int = 0
    loner: bool = False
    requeue: bool = False
    identifier: Callable[..., str | None] | None = None
    lock_failed: Callback = _nothing
    loner_enqueue_failed: Callback = _nothing
    lock_expired_before_release: Callback = _nothing


class LockTimeout:
    """Locks on one Redis; ``locked(...)`` turns a registered job into a locked one."""

    def __init__(self, settings: SettingsSource) -> None:
        self.redis = PluginRedis(settings)

    def locked(self, **options: Any) -> Callable[[JobSpec], JobSpec]:
        """Options as :class:`LockOptions` fields (``timeout``, ``loner``, ``requeue``...)."""
        settings = LockOptions(**options)

        def apply(spec: JobSpec) -> JobSpec:
            lock = JobLock(self.redis, spec, settings)
            spec.hooks["around_perform"].insert(0, lock.around_perform)
            if settings.loner:
                spec.hooks["before_enqueue"].append(lock.before_enqueue)
            return spec

        return apply


class JobLock:
    """The lock protocol for one job class."""

    def __init__(self, redis: PluginRedis, spec: JobSpec, options: LockOptions) -> None:
        self.redis = redis
        self.spec = spec
        self.options = options

    @property
    def ops(self) -> LockOps:
        return LockOps(self.redis.keys)

    def identifier(self, args: Sequence[Any]) -> str | None:
        custom = self.options.identifier
        return custom(*args) if custom is not None else ruby_join(args, "-")

    def lock_key(self, args: Sequence[Any]) -> str:
        return self.redis.keys.lock(self.spec.name, self.identifier(args))

    def loner_key(self, args: Sequence[Any]) -> str:
        return self.redis.keys.loner_lock(self.spec.name, self.identifier(args))

    def is_locked(self, args: Sequence[Any], loner: bool = False) -> bool:
        """``locked?`` (or ``enqueued?`` for the loner key): held, and unexpired if timed."""
        key = self.loner_key(args) if loner else self.lock_key(args)
        value = self.redis.run(self.ops.get(key))
        if self.options.timeout > 0:
            return _ruby_to_i(value) > int(time.time())
        return value is not None

    def acquire(self, key: str) -> int | bool:
        """``acquire_lock_impl!``: the expiry second (or True, untimed) when taken, else False."""
        if self.options.timeout <= 0:
            return self.redis.run(self.ops.set_if_absent(key, "true"))
        now = int(time.time())
        until = now + self.options.timeout
        if self.redis.run(self.ops.set_if_absent(key, until)):
            return until
        current = self.redis.run(self.ops.get(key))
        if current is not None and _ruby_to_i(current) < now:
            previous = self.redis.run(self.ops.get_and_set(key, until))
            taken = previous is None or _ruby_to_i(previous) < now
        else:
            taken = self.redis.run(self.ops.set_if_absent(key, until))
        return until if taken else False

    def before_enqueue(self, *args: Any) -> bool:
        """``before_enqueue_lock`` (loner only): refuse while locked, else hold the loner key."""
        if self.is_locked(args) or self.acquire(self.loner_key(args)) is False:
            self.options.loner_enqueue_failed(*args)
            return False
        return True

    def around_perform(self, *args: Any) -> Iterator[None]:
        """``around_perform_lock``: take the lock, perform, release unless it expired."""
        until = self.acquire(self.lock_key(args))
        if self.options.loner:
            self.redis.run(self.ops.delete(self.loner_key(args)))
        if until is False:
            self._lock_failed(args)
            return
        try:
            yield
        finally:
            if until is not True and until < int(time.time()):
                self.options.lock_expired_before_release(*args)
            else:
                self.redis.run(self.ops.delete(self.lock_key(args)))

    def _lock_failed(self, args: Sequence[Any]) -> None:
        self.options.lock_failed(*args)
        if self.options.requeue and self.spec.queue:
            payload = codec.encode_payload(self.spec.name, args)
            self.redis.run(QueueOps(self.redis.keys).push(self.spec.queue, payload))


def _ruby_to_i(value: bytes | None) -> int:
    """``String#to_i``: the leading integer, 0 when there is none (``"true"``, ``nil``)."""
    text = (value or b"").decode("utf-8", "replace").strip()
    digits = ""
    for index, char in enumerate(text):
        if char.isdigit() or (index == 0 and char in "+-"):
            digits += char
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return 0
