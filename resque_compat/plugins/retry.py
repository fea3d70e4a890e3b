"""resque-retry 1.8.1: the attempt counter ``resque-retry:<Class>[:<sha1>]`` and retries.

Owns the counter (round trips in ``store.plugins.RetryOps``), following
``Resque::Plugins::Retry`` call by call, so that Ruby and Python attempts of one job count
together (two failures in Ruby and one in Python are three attempts):

- the key is ``resque-retry:<Class>:<sha1 of args.join('-')>`` with whitespace removed, and
  no digest part when the joined arguments are empty;
- before perform: ``SETNX key -1``, ``INCR`` (the attempt, from 0), and with
  ``expire_key_after`` an ``EXPIRE`` of delay + that many seconds;
- after a successful perform, and on giving up: ``DEL``;
- on failure: retried (``SETNX key -1``, then the class enqueued on the job's queue with
  the ``retry_args``, by default the same arguments) unless the limit is reached (attempt >=
  limit; 0 never retries, a negative limit always does) or neither the exception
  (``retry_exceptions`` names the ones that are retryable, ``fatal_exceptions`` the ones
  that are not) nor a ``retry_criteria`` check says to retry; ``ignore_exceptions`` give
  the attempt back (``DECR``);
- on a ``Resque::DirtyExit`` (the child running the attempt died, the hook runs in the
  worker): the attempt is read from the counter (``GET``, missing as 0) first.

A retry whose delay (``delay``, the ``backoff`` entry of the attempt, or the exception's
entry in a ``retry_exceptions`` mapping) is above 0 goes through resque-scheduler's delayed
queue, as ``enqueue_in_with_queue`` puts it there: ``{"class","args","queue"}`` due at now +
delay (whole seconds); a scheduler (Ruby's or Python's) moves it to the queue when due.

>>> retries = Retry(RedisSettings.from_url(url))
>>> @retries.retry(limit=3, retry_exceptions=(TimeoutError,), give_up=alert)
... @job("Fetch", queue="net")
... def fetch(url): ...
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import codec
from ..delayed import delayed_payload
from ..errors import ConfigurationError, DirtyExit
from ..job import JobSpec
from ..keys import retry_key_name
from ..store.delayed import DelayedItem
from ..store.plugins import RetryOps
from .base import PluginRedis, SettingsSource, ruby_join

Exceptions = tuple[type[BaseException], ...]
Callback = Callable[..., Any]


def retry_key(class_name: str, args: Sequence[Any]) -> str:
    """``redis_retry_key(*args)`` without the namespace (``retry_identifier``: the SHA-1 of
    ``args.join('-')``, none when that is empty)."""
    joined = ruby_join(args, "-")
    digest = hashlib.sha1(joined.encode(), usedforsecurity=False).hexdigest() if joined else None
    return retry_key_name(class_name, digest)


Delays = int | Sequence[int]
"""A per-exception delay: seconds, or one per attempt (the last repeated), as in Ruby."""


@dataclass(frozen=True)
class RetryOptions:
    """Ruby's ``@retry_limit``, ``@retry_delay`` / ``@backoff_strategy`` (with
    ``@retry_delay_multiplicand_min`` / ``_max`` as ``multiplicand``), ``@retry_exceptions``
    (a list, or a hash of exception to delay), ``@fatal_exceptions``, ``@ignore_exceptions``,
    ``@expire_retry_key_after``, ``@sleep_after_requeue``, ``retry_queue``, ``retry_args`` /
    ``retry_args_for_exception``, ``retry_identifier`` (``identifier``),
    ``retry_job_delegate`` (``delegate``: the registered job, or a class name, a retry is
    enqueued as), and the ``retry_criteria_check`` / ``give_up_callback`` /
    ``try_again_callback`` blocks."""

    limit: int | None = None
    delay: int = 0
    backoff: tuple[int, ...] | None = None
    retry_exceptions: Exceptions | Mapping[type[BaseException], Delays] | None = None
    fatal_exceptions: Exceptions | None = None
    ignore_exceptions: Exceptions = ()
    expire_key_after: int | None = None
    give_up: Callback | None = None
    try_again: Callback | None = None
    queue: str | None = None
    retry_criteria: tuple[Callback, ...] = ()
    retry_args: Callable[..., Sequence[Any]] | None = None
    retry_args_for_exception: Callable[..., Sequence[Any]] | None = None
    identifier: Callable[..., str | None] | None = None
    sleep_after_requeue: float = 0
    multiplicand: tuple[float, float] = (1.0, 1.0)
    delegate: JobSpec | str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.delegate, str) and self.queue is None:
            raise ConfigurationError(
                "a delegate given by name needs a queue (Ruby takes the delegate class's)"
            )
        low, high = self.multiplicand
        if low > high:
            raise ConfigurationError(
                "multiplicand: the minimum must be less than or equal to the maximum (Ruby's "
                "InvalidRetryDelayMultiplicandConfigurationException)"
            )
        if self.retry_exceptions is not None and self.fatal_exceptions is not None:
            raise ConfigurationError("declare retry_exceptions or fatal_exceptions, not both")
        if self.retry_args is not None and self.retry_args_for_exception is not None:
            raise ConfigurationError(
                "declare retry_args or retry_args_for_exception, not both (Ruby's "
                "retry_args_for_exception replaces retry_args)"
            )

    @property
    def exception_delays(self) -> Mapping[type[BaseException], Delays]:
        """``@retry_exceptions`` as a hash; empty when it is a list or not declared."""
        found = self.retry_exceptions
        return found if isinstance(found, Mapping) else {}

    @property
    def retryable(self) -> Exceptions | None:
        """``retry_exceptions``: the hash's keys, the list, or None (retry everything)."""
        if self.retry_exceptions is None:
            return None
        return tuple(self.retry_exceptions)

    @property
    def retry_limit(self) -> int:
        """The limit given, else the backoff list's length, else Ruby's default: 1, or the
        longest list of delays in ``retry_exceptions``."""
        if self.limit is not None:
            return self.limit
        if self.backoff:
            return len(self.backoff)
        lists = [len(v) for v in self.exception_delays.values() if not isinstance(v, int)]
        return max([1, *lists])

    def args_for_retry(self, error: BaseException, args: Sequence[Any]) -> list[Any]:
        """``retry_args_for_exception(exception, *args)``, by default ``retry_args(*args)``,
        by default the same arguments."""
        if self.retry_args_for_exception is not None:
            return list(self.retry_args_for_exception(error, *args))
        if self.retry_args is not None:
            return list(self.retry_args(*args))
        return list(args)

    def delay_for(self, error_class: type[BaseException] | None, attempt: int) -> int:
        """``retry_delay(exception_class)``: seconds before attempt ``attempt + 1``.

        With ``retry_exceptions`` as a mapping and a class: the entry of the class or of its
        closest ancestor listed (0 when none is), a list indexed by the attempt (its last
        value past its end); with a ``backoff`` list (``ExponentialBackoff``), the same
        indexing whatever the exception, times a random ``multiplicand`` in its range,
        truncated; else ``delay``.
        """
        if error_class is not None and self.exception_delays:
            listed = next((c for c in error_class.__mro__ if c in self.exception_delays), None)
            return 0 if listed is None else _pick(self.exception_delays[listed], attempt)
        if self.backoff:
            low, high = self.multiplicand
            factor = high if low == high else random.uniform(low, high)
            return int(_pick(self.backoff, attempt) * factor)
        return self.delay


def _pick(delays: Delays, attempt: int) -> int:
    """``delay[retry_attempt] || delay.last`` for a list; a number as it is."""
    if isinstance(delays, int):
        return delays
    values = list(delays)
    return values[attempt] if -len(values) <= attempt < len(values) else values[-1]


def exception_class_named(
    name: str, roots: Sequence[type[BaseException]]
) -> type[BaseException] | None:
    """The class a failure record names, among ``roots`` and their subclasses (the record
    keeps only the name, and the worker saves it away from the job's process)."""
    seen: set[type[BaseException]] = set()
    pending = list(roots)
    while pending:
        candidate = pending.pop(0)
        if candidate in seen:
            continue
        seen.add(candidate)
        if name in (getattr(candidate, "ruby_name", None), candidate.__qualname__):
            return candidate
        pending += candidate.__subclasses__()
    return None


class Retry:
    """Retry counters on one Redis; ``retry(...)`` makes a registered job retried."""

    def __init__(self, settings: SettingsSource) -> None:
        self.redis = PluginRedis(settings)

    def retry(self, **options: Any) -> Callable[[JobSpec], JobSpec]:
        """Options as :class:`RetryOptions` fields (``limit``, ``retry_exceptions``...)."""
        settings = RetryOptions(**options)

        def apply(spec: JobSpec) -> JobSpec:
            retried = JobRetry(self.redis, spec, settings)
            spec.hooks["before_perform"].insert(0, retried.before_perform)
            spec.hooks["after_perform"].append(retried.after_perform)
            spec.hooks["on_failure"].insert(0, retried.on_failure)
            spec.retrying = retried
            return spec

        return apply


class JobRetry:
    """The retry protocol for one job class; ``attempt`` is the running job's, as Ruby
    keeps ``@retry_attempt`` on the class (one job at a time per process)."""

    def __init__(self, redis: PluginRedis, spec: JobSpec, options: RetryOptions) -> None:
        self.redis = redis
        self.spec = spec
        self.options = options
        self.attempt = 0

    @property
    def ops(self) -> RetryOps:
        return RetryOps(self.redis.keys)

    def retry_key(self, args: Sequence[Any]) -> str:
        """``redis_retry_key(*args)``, with the job's own ``retry_identifier`` if it has one."""
        if self.options.identifier is None:
            return retry_key(self.spec.name, args)
        return retry_key_name(self.spec.name, self.options.identifier(*args))

    def before_perform(self, *args: Any) -> None:
        """``before_perform_retry``; the counter's expiry is ``expire_key_after`` plus the
        delay Ruby computes there (``retry_delay`` of no exception, at the new attempt)."""
        after = self.options.expire_key_after

        def expire(attempt: int) -> int | None:
            return None if after is None else self.options.delay_for(None, attempt) + after

        self.attempt = self.redis.run(self.ops.start_attempt(self.retry_key(args), expire))

    def retry_delay(self, exception_name: str, attempt: int) -> int:
        """The delay of the retry after a failed attempt, from what a failure record keeps:
        for MultipleWithRetrySuppression, which keeps the failure twice that long."""
        named = exception_class_named(exception_name, list(self.options.exception_delays))
        return self.options.delay_for(named, attempt)

    def after_perform(self, *args: Any) -> None:
        self.redis.run(self.ops.clear(self.retry_key(args)))

    def on_failure(self, error: BaseException, *args: Any) -> None:
        """``on_failure_retry``: try again, or give up and forget the counter.

        For a ``DirtyExit`` this runs in the worker, not in the child that died running the
        attempt, so the attempt number is read from Redis, as resque-retry does there.
        """
        if isinstance(error, DirtyExit):
            self.attempt = self.redis.run(self.ops.attempt(self.retry_key(args)))
        if isinstance(error, self.options.ignore_exceptions):
            self.attempt = self.redis.run(self.ops.uncount(self.retry_key(args)))
        if self.should_retry(error, args):
            self._try_again(error, args)
        else:
            if self.options.give_up is not None:
                self.options.give_up(error, *args)
            self.redis.run(self.ops.clear(self.retry_key(args)))

    def should_retry(self, error: BaseException, args: Sequence[Any] = ()) -> bool:
        """``retry_criteria_valid?``: attempts left, and an exception worth retrying or,
        failing that, a ``retry_criteria`` check that says yes (checked in order, only then:
        a job that retries every exception never consults them)."""
        limit = self.options.retry_limit
        if limit == 0 or (limit > 0 and self.attempt >= limit):
            return False
        if self._retry_exception(error):
            return True
        return any(check(error, *args) for check in self.options.retry_criteria)

    def _retry_exception(self, error: BaseException) -> bool:
        """``retry_exception?``: not fatal, or listed as retryable, or nothing declared."""
        if self.options.fatal_exceptions is not None:
            return not isinstance(error, self.options.fatal_exceptions)
        retryable = self.options.retryable
        return retryable is None or isinstance(error, retryable)

    def _try_again(self, error: BaseException, args: Sequence[Any]) -> None:
        """The counter of *these* args is kept, and the job enqueued with the retry args:
        when ``retry_args`` changes them, the next attempt counts under another key. As
        Ruby's ``enqueue_to`` / ``enqueue_in_with_queue``, the job's ``before_enqueue`` (or,
        delayed, ``before_schedule``) hooks run first with the retry args and one returning
        False cancels the retry; the counter is kept either way."""
        if self.options.try_again is not None:
            self.options.try_again(error, *args)
        target = self._target()
        queue = self.options.queue or (target.queue if isinstance(target, JobSpec) else None)
        if not queue:
            raise ConfigurationError(f"{self.spec.name} has no queue to retry on")
        retry_args = self.options.args_for_retry(error, args)
        delay = self.options.delay_for(type(error), self.attempt)
        before, after = ("before_enqueue", "after_enqueue")
        if delay > 0:
            before, after = ("before_schedule", "after_schedule")
        hooked = target if isinstance(target, JobSpec) else None
        if hooked is not None and not hooked.run_enqueue_hooks(before, retry_args):
            self.redis.run(self.ops.keep(self.retry_key(args)))
        else:
            self._push(_name(target), queue, retry_args, delay, args)
            if hooked is not None:
                hooked.run_enqueue_hooks(after, retry_args)
        if self.options.delegate is not None:
            # Handed to another class: this job's counter goes (Ruby's clean_retry_key).
            self.redis.run(self.ops.clear(self.retry_key(args)))
        if self.options.sleep_after_requeue > 0:
            time.sleep(self.options.sleep_after_requeue)

    def _target(self) -> JobSpec | str:
        """What a retry is enqueued as: the delegate, else this job."""
        return self.spec if self.options.delegate is None else self.options.delegate

    def _push(
        self, name: str, queue: str, retry_args: list[Any], delay: int, args: Sequence[Any]
    ) -> None:
        if delay <= 0:
            payload = codec.encode_payload(name, retry_args)
            self.redis.run(self.ops.requeue(self.retry_key(args), queue, payload))
            return
        when = int(time.time()) + delay
        delayed = delayed_payload(name, retry_args, queue, codec.JsonStyle.JSON_GEM)
        later = DelayedItem(when, delayed)
        self.redis.run(self.ops.requeue_later(self.retry_key(args), later))


def _name(target: JobSpec | str) -> str:
    return target.name if isinstance(target, JobSpec) else target
