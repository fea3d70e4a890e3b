"""resque-retry's extras on the Python side (criteria checks, retry args, the exception hash):
the declarations and branches ``compat_tests/test_plugins_retry_extras.py`` does not reach."""

from __future__ import annotations

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


def test_declarations_that_cannot_work_yet_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="per-exception delays"):
        RetryOptions(retry_exceptions={TimeoutError: 30})
    with pytest.raises(ConfigurationError, match="per-exception delays"):
        RetryOptions(retry_exceptions={TimeoutError: [0, 60]})
    with pytest.raises(ConfigurationError, match="not both"):
        RetryOptions(retry_args=list, retry_args_for_exception=lambda error, *args: args)
    with pytest.raises(ConfigurationError, match="not both"):
        RetryOptions(retry_exceptions={OSError: 0}, fatal_exceptions=(KeyError,))
