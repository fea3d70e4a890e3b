"""resque-retry's ``Resque::Failure::MultipleWithRetrySuppression``.

A failed attempt that resque-retry is retrying stays out of the failed list: only the
attempt that gives up is saved (to every backend, like ``Multiple``). Whether a job is being
retried is Ruby's test, the attempt counter still existing (the job's on_failure hook
deletes it when giving up); the job must be retried the resque-retry way in Python
(``plugins.retry``, which sets ``JobSpec.retrying``). A job that is not being retried also
drops any ``failure-resque-retry:...`` record left from an earlier delayed attempt.

While a retry is delayed, Ruby keeps the failure under ``failure-<retry key>`` for twice the
delay (resque-web's retry tab shows it beside the pending job); so does this backend, the
delay computed by the job's declaration from the attempt the counter holds (the record is
saved by the worker, not in the job's process).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import codec
from ..job import JobRegistry, Retrying, default_registry
from ..keys import Keys
from ..store.base import Operation
from ..store.plugins import RetryOps
from .multiple import MultipleBackend
from .record import RETRIED_AT_NOZONE_FORMAT, Failure


@dataclass(frozen=True)
class MultipleWithRetrySuppressionBackend(MultipleBackend):
    """``Multiple``, minus the failures of attempts that will be retried."""

    keys: Keys = field(default_factory=Keys)
    registry: JobRegistry = field(default_factory=lambda: default_registry)
    json_style: codec.JsonStyle = codec.JsonStyle.JSON_GEM

    def save(self, failure: Failure) -> Operation[None]:
        found = self._retried_job(failure.payload)
        if found is None:
            yield from super().save(failure)
            return
        retrying, args = found
        bare_key = retrying.retry_key(args)
        ops = RetryOps(self.keys)
        attempt = yield from ops.counter(bare_key)
        if attempt is None:
            yield from ops.drop_failure(bare_key)
            yield from super().save(failure)
            return
        delay = retrying.retry_delay(failure.exception, attempt)
        if delay > 0:
            yield from ops.keep_failure(bare_key, 2 * delay, self._pending_record(failure))

    def _pending_record(self, failure: Failure) -> bytes:
        """Ruby's record of a failure whose retry is pending: the failed-list record's
        fields, in its own order, ``failed_at`` without the zone."""
        document = {
            "failed_at": failure.failed_at.strftime(RETRIED_AT_NOZONE_FORMAT),
            "payload": failure.payload,
            "exception": failure.exception,
            "error": failure.error,
            "backtrace": list(failure.backtrace),
            "worker": failure.worker,
            "queue": failure.queue,
        }
        return codec.encode(document, self.json_style)

    def _retried_job(self, payload: Any) -> tuple[Retrying, list[Any]] | None:
        """The job's retry declaration and args, when Python retries this class."""
        if not isinstance(payload, dict) or not isinstance(payload.get("class"), str):
            return None
        spec = self.registry.get(payload["class"])
        args = payload.get("args")
        if spec is None or spec.retrying is None or not isinstance(args, list):
            return None
        return spec.retrying, args
