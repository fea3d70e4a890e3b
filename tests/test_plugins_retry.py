"""resque-retry's extras on the Python side (criteria checks, retry args, the exception hash):
the declarations and branches ``compat_tests/test_plugins_retry_extras.py`` does not reach."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from resque_compat import ConfigurationError, JobRegistry, JobSpec, RedisSettings, codec
from resque_compat.plugins.retry import Retry, RetryOptions, retry_key

COUNTER = "resque:" + retry_key("Flaky", ["a"])


def _retried(redis_url: str, error: BaseException, **options: Any) -> JobSpec:
    def perform(*_args: Any) -> None:
        raise error

    spec = JobRegistry().register_function("Flaky", perform, "q")
    return Retry(RedisSettings.from_url(redis_url)).retry(**options)(spec)


def _attempt(spec: JobSpec, args: list[Any] | None = None) -> None:
    with pytest.raises(BaseException):  # noqa: B017 - whatever the job raised
        spec.run(args or ["a"])


def test_criteria_checks_are_asked_in_order_only_for_unlisted_exceptions(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    asked: list[str] = []

    def check(name: str, answer: bool) -> Callable[..., bool]:
        def ask(error: BaseException, *args: Any) -> bool:
            asked.append(f"{name}:{error}:{args}")
            return answer

        return ask

    checks = (check("no", False), check("yes", True), check("never", True))
    _attempt(_retried(redis_url, KeyError("k"), retry_exceptions=(OSError,), retry_criteria=checks))
    assert asked == ["no:'k':('a',)", "yes:'k':('a',)"]
    assert raw_redis.llen("resque:queue:q") == 1
    asked.clear()
    _attempt(_retried(redis_url, OSError("io"), retry_exceptions=(OSError,), retry_criteria=checks))
    _attempt(_retried(redis_url, KeyError("k"), retry_criteria=checks))
    assert asked == []


def test_criteria_checks_do_not_pass_the_limit(redis_url: str, raw_redis: redis.Redis) -> None:
    always: tuple[Callable[..., bool]] = (lambda *_: True,)
    spec = _retried(
        redis_url, KeyError(), limit=1, fatal_exceptions=(KeyError,), retry_criteria=always
    )
    _attempt(spec)
    assert raw_redis.llen("resque:queue:q") == 1
    raw_redis.delete("resque:queue:q")
    _attempt(spec)
    assert raw_redis.llen("resque:queue:q") == 0 and raw_redis.exists(COUNTER) == 0


def test_retry_args_for_exception_gets_the_error(redis_url: str, raw_redis: redis.Redis) -> None:
    spec = _retried(
        redis_url,
        TimeoutError("slow"),
        retry_args_for_exception=lambda error, *args: [*args, type(error).__name__],
    )
    _attempt(spec)
    assert raw_redis.lrange("resque:queue:q", 0, -1) == [
        codec.encode_payload("Flaky", ["a", "TimeoutError"])
    ]
    assert raw_redis.get(COUNTER) == b"0"


def test_the_exception_hash_sets_the_default_limit_and_what_is_retried() -> None:
    options = RetryOptions(retry_exceptions={TimeoutError: [0, 0, 0, 0], OSError: 0})
    assert options.retry_limit == 4 and options.retryable == (TimeoutError, OSError)
    assert RetryOptions(retry_exceptions={OSError: 0}).retry_limit == 1
    assert RetryOptions(limit=2, retry_exceptions={OSError: (0, 0, 0)}).retry_limit == 2
    assert RetryOptions(retry_exceptions=(OSError,)).exception_delays == {}


def test_delays_by_exception_attempt_and_backoff() -> None:
    """Ruby's ``retry_delay``: the closest listed ancestor's entry, lists indexed by the
    attempt (the last past the end, as ``delay[n] || delay.last``)."""
    mapping = RetryOptions(retry_exceptions={OSError: [5, 10], TimeoutError: 30, KeyError: 0})
    assert [mapping.delay_for(ConnectionError, n) for n in (0, 1, 7, -1)] == [5, 10, 10, 10]
    assert mapping.delay_for(TimeoutError, 0) == 30 and mapping.delay_for(ValueError, 0) == 0
    assert mapping.delay_for(None, 0) == 0
    backoff = RetryOptions(backoff=(0, 60, 600))
    assert [backoff.delay_for(KeyError, n) for n in range(5)] == [0, 60, 600, 600, 600]
    assert backoff.retry_limit == 3
    assert RetryOptions(delay=9).delay_for(KeyError, 3) == 9


def test_a_recorded_exception_name_finds_its_delay() -> None:
    """The failure backend knows the class by name only: it is looked up among the listed
    classes and their subclasses."""

    class Throttled(ConnectionError):
        pass

    retries = Retry(RedisSettings())
    spec = JobRegistry().register_function("Net", lambda: None, "q")
    retries.retry(retry_exceptions={OSError: [5, 10], LookupError: 3})(spec)
    assert spec.retrying is not None
    named = test_a_recorded_exception_name_finds_its_delay.__qualname__ + ".<locals>.Throttled"
    assert spec.retrying.retry_delay(named, 1) == 10
    assert spec.retrying.retry_delay("KeyError", 0) == 3
    assert spec.retrying.retry_delay("Unheard", 0) == 0
    assert Throttled.__qualname__ == named


def test_declarations_that_cannot_work_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        RetryOptions(retry_args=list, retry_args_for_exception=lambda error, *args: args)
    with pytest.raises(ConfigurationError, match="not both"):
        RetryOptions(retry_exceptions={OSError: 0}, fatal_exceptions=(KeyError,))


def test_backoff_multiplicand_spreads_each_delay_within_its_range() -> None:
    """``@retry_delay_multiplicand_min`` / ``_max``: each backoff delay times a random factor
    in the range, truncated (``(delay * rand(min..max)).to_i``); equal bounds need no draw."""
    spread = RetryOptions(backoff=(0, 100, 1000), multiplicand=(0.5, 1.5))
    drawn = [spread.delay_for(KeyError, 2) for _ in range(200)]
    assert all(500 <= d <= 1500 for d in drawn) and len(set(drawn)) > 50
    assert spread.delay_for(KeyError, 0) == 0
    assert RetryOptions(backoff=(10, 20), multiplicand=(1.25, 1.25)).delay_for(None, 1) == 25
    with pytest.raises(ConfigurationError, match="minimum"):
        RetryOptions(backoff=(10,), multiplicand=(2.0, 1.0))


def test_a_retry_identifier_names_the_counter(redis_url: str, raw_redis: redis.Redis) -> None:
    """``retry_identifier``: the key's last part, whitespace removed as Ruby's ``gsub``."""
    spec = _retried(redis_url, RuntimeError("x"), limit=1, identifier=lambda a: f"user {a}\t!")
    _attempt(spec)
    assert raw_redis.lrange("resque:queue:q", 0, -1) == [codec.encode_payload("Flaky", ["a"])]
    assert raw_redis.get("resque:resque-retry:Flaky:usera!") == b"0"
    assert raw_redis.get(COUNTER) is None


def test_sleep_after_requeue_holds_the_worker_after_a_retry(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    spec = _retried(redis_url, RuntimeError("x"), limit=2, sleep_after_requeue=0.3)
    started = time.monotonic()
    _attempt(spec)
    assert time.monotonic() - started >= 0.3
    assert raw_redis.llen("resque:queue:q") == 1


@pytest.mark.parametrize("delay", [0, 30], ids=["at once", "delayed"])
def test_a_retry_runs_the_enqueue_or_schedule_hooks(
    redis_url: str, raw_redis: redis.Redis, delay: int
) -> None:
    """As Ruby's ``enqueue_to`` (``enqueue_in_with_queue`` when delayed): before hooks with
    the retry's args, one returning False drops the retry but keeps the counter; after hooks
    only for a retry that was queued."""
    before, after = (
        ("before_schedule", "after_schedule") if delay else ("before_enqueue", "after_enqueue")
    )
    calls: list[tuple[str, tuple[Any, ...]]] = []
    spec = _retried(redis_url, RuntimeError("x"), limit=5, delay=delay)

    def gate(*args: Any) -> bool:
        calls.append((before, args))
        return bool(args[0] != "b")

    spec.hook(before)(gate)
    spec.hook(after)(lambda *args: calls.append((after, args)))
    _attempt(spec, ["a"])
    _attempt(spec, ["b"])
    assert calls == [(before, ("a",)), (after, ("a",)), (before, ("b",))]
    queued = raw_redis.llen("resque:queue:q") + raw_redis.zcard("resque:delayed_queue_schedule")
    assert queued == 1
    assert raw_redis.get("resque:" + retry_key("Flaky", ["b"])) == b"0"


def test_a_delegate_named_by_class_needs_a_queue_and_takes_the_retry(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """``retry_job_delegate`` naming a Ruby class: the retry is that class, on the queue
    given (Ruby would take the class's own), and this job's counter goes at once."""
    with pytest.raises(ConfigurationError, match="needs a queue"):
        RetryOptions(delegate="Ruby::Fallback")
    spec = _retried(redis_url, RuntimeError("x"), delegate="Ruby::Fallback", queue="fallback")
    _attempt(spec)
    assert raw_redis.lrange("resque:queue:fallback", 0, -1) == [
        codec.encode_payload("Ruby::Fallback", ["a"])
    ]
    assert raw_redis.get(COUNTER) is None
