"""resque-retry 1.8.1: the attempt counter ``resque-retry:<Class>[:<sha1>]`` and retries.

Owns the counter (round trips in ``store.plugins.RetryOps``), following
``Resque::Plugins::Retry`` call by call, so that Ruby and Python attempts of one job count
together (two failures in Ruby and one in Python are three attempts):

- the key is ``resque-retry:<Class>:<sha1 of args.join('-')>`` with whitespace removed, and
  no digest part when the joined arguments are empty;
- before perform: ``SETNX key -1``, ``INCR`` (the attempt, from 0), and with
  ``expire_key_after`` an ``EXPIRE`` of delay + that many seconds;
- after a successful perform, and on giving up: ``DEL``;
- on failure: retried (``SETNX key -1``, then the same class and arguments enqueued on the
  job's queue) unless the limit is reached (attempt >= limit; 0 never retries, a negative
  limit always does) or the exception is not retryable (``retry_exceptions`` names the ones
  that are, ``fatal_exceptions`` the ones that are not); ``ignore_exceptions`` give the
  attempt back (``DECR``);
- on a ``Resque::DirtyExit`` (the child running the attempt died, the hook runs in the
  worker): the attempt is read from the counter (``GET``, missing as 0) first.

Delayed retries (a ``delay`` or ``backoff`` above 0) go through resque-scheduler's delayed
queue, which this package does not write yet: such declarations are refused for now.

>>> retries = Retry(RedisSettings.from_url(url))
>>> @retries.retry(limit=3, retry_exceptions=(TimeoutError,), give_up=alert)
... @job("Fetch", queue="net")
... def fetch(url): ...
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import codec
from ..errors import ConfigurationError, DirtyExit
from ..job import JobSpec
from ..keys import retry_key_name
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


@dataclass(frozen=True)
class RetryOptions:
    """Ruby's ``@retry_limit``, ``@retry_delay`` / ``@backoff_strategy``, ``@retry_exceptions``,
    ``@fatal_exceptions``, ``@ignore_exceptions``, ``@expire_retry_key_after``, ``retry_queue``
    and the ``give_up_callback`` / ``try_again_callback`` blocks."""

    limit: int | None = None
    delay: int = 0
    backoff: tuple[int, ...] | None = None
    retry_exceptions: Exceptions | None = None
    fatal_exceptions: Exceptions | None = None
    ignore_exceptions: Exceptions = ()
    expire_key_after: int | None = None
    give_up: Callback | None = None
    try_again: Callback | None = None
    queue: str | None = None

    def __post_init__(self) -> None:
        if self.retry_exceptions is not None and self.fatal_exceptions is not None:
            raise ConfigurationError("declare retry_exceptions or fatal_exceptions, not both")
        if self.delay > 0 or any(self.backoff or ()):
            raise ConfigurationError(
                "delayed retries need resque-scheduler's delayed queue, not supported yet: "
                "use delay=0"
            )

    @property
    def retry_limit(self) -> int:
        """The limit given, else the backoff list's length, else Ruby's default of 1."""
        if self.limit is not None:
            return self.limit
        return len(self.backoff) if self.backoff else 1


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
        return retry_key(self.spec.name, args)

    def before_perform(self, *args: Any) -> None:
        expire = self.options.expire_key_after
        if expire is not None:
            expire += self.options.delay
        self.attempt = self.redis.run(self.ops.start_attempt(self.retry_key(args), expire))

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
        if self.should_retry(error):
            self._try_again(error, args)
        else:
            if self.options.give_up is not None:
                self.options.give_up(error, *args)
            self.redis.run(self.ops.clear(self.retry_key(args)))

    def should_retry(self, error: BaseException) -> bool:
        """``retry_criteria_valid?``: attempts left, and an exception worth retrying."""
        limit = self.options.retry_limit
        if limit == 0 or (limit > 0 and self.attempt >= limit):
            return False
        if self.options.fatal_exceptions is not None:
            return not isinstance(error, self.options.fatal_exceptions)
        if self.options.retry_exceptions is not None:
            return isinstance(error, self.options.retry_exceptions)
        return True

    def _try_again(self, error: BaseException, args: Sequence[Any]) -> None:
        if self.options.try_again is not None:
            self.options.try_again(error, *args)
        queue = self.options.queue or self.spec.queue
        if not queue:
            raise ConfigurationError(f"{self.spec.name} has no queue to retry on")
        payload = codec.encode_payload(self.spec.name, args)
        self.redis.run(self.ops.requeue(self.retry_key(args), queue, payload))
