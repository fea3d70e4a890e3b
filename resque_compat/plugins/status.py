"""resque-status 0.5.0: job status documents, progress, kill requests, status producers.

Owns ``status:<uuid>``, ``_statuses`` and ``_kill`` (round trips in ``store.status``). It
mirrors ``Resque::Plugins::Status`` (the job side: ``safe_perform!``, ``at``, ``tick``,
``completed``, ``failed``, ``kill!``, the ``on_success``/``on_failure``/``on_killed``
callbacks) and ``Resque::Plugins::Status::Hash`` (the documents and its class methods:
``statuses``/``status_ids`` with ranges, ``clear*``, ``kill``/``killall``, and ``dequeue``):

- a status job's payload is ``{"class": C, "args": [uuid, options]}``, as Ruby's ``create``
  enqueues it, so a Ruby ``JobWithStatus`` class and a Python status job take the same jobs;
- a document is rebuilt the way ``Hash.new(uuid, *messages)`` merges its messages (``time``
  and ``status`` first, then ``uuid``, then each message's keys in order, a string being
  ``{"message": ...}``), so Ruby's ``Hash.get`` and resque-web's status tab read it as theirs.

>>> statuses = StatusPlugin(RedisSettings.from_url(url))
>>> @statuses.job("ExportJob")
... def export(status: StatusJob) -> None:
...     for n in range(10):
...         status.at(n + 1, 10, f"row {n}")
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import codec, timefmt
from ..client import JobRef, Resque
from ..job import JobRegistry, JobSpec, default_registry
from ..store.status import StatusOps
from .base import PluginRedis, SettingsSource, ruby_inspect

QUEUED, WORKING, COMPLETED, FAILED, KILLED = "queued", "working", "completed", "failed", "killed"
DEFAULT_QUEUE = "statused"


class Killed(Exception):
    """Raised inside a status job by ``tick``/``at`` when a kill was requested (Ruby's
    ``Resque::Plugins::Status::Killed``)."""


class NotANumberError(Exception):
    """``at`` was given a total that is not a positive number (Ruby's ``NotANumber``)."""


class Status(dict[str, Any]):
    """A status document as Ruby's ``Status::Hash`` reads it (a dict with its accessors)."""

    @property
    def uuid(self) -> str | None:
        return self.get("uuid")

    @property
    def status(self) -> str | None:
        return self.get("status")

    @property
    def message(self) -> str | None:
        return self.get("message")

    @property
    def num(self) -> Any:
        return self.get("num")

    @property
    def total(self) -> Any:
        return self.get("total")

    @property
    def options(self) -> Any:
        return self.get("options")

    @property
    def pct_complete(self) -> int:
        """Ruby's ``pct_complete``: 100 when completed, 0 when queued, else num/total."""
        if self.status == COMPLETED:
            return 100
        if self.status == QUEUED:
            return 0
        total = self.total or 1
        return int(float(self.num or 0) / float(total) * 100)

    @property
    def killable(self) -> bool:
        return self.status not in (FAILED, COMPLETED, KILLED)


def build_status(uuid: str, *messages: Mapping[str, Any] | str | None) -> Status:
    """``Hash.new(uuid, *messages)``: later messages win, keys keep their first position."""
    document: dict[str, Any] = {"time": int(time.time()), "status": QUEUED, "uuid": uuid}
    for message in messages:
        document.update({"message": message} if isinstance(message, str) else message or {})
    return Status(document)


def decode_status(raw: bytes | None) -> Status | None:
    return None if raw is None else Status(codec.decode(raw))


class StatusPlugin:
    """Status documents on one Redis: read, create, kill; and the ``@job`` decorator.

    ``expire_in`` is Ruby's ``Status::Hash.expire_in``: seconds a document lives after
    each write (and how far back ``_statuses`` is trimmed); None keeps them forever.
    """

    def __init__(self, settings: SettingsSource, expire_in: int | None = None) -> None:
        self.redis = PluginRedis(settings)
        self.expire_in = expire_in

    @property
    def ops(self) -> StatusOps:
        return StatusOps(self.redis.keys)

    def get(self, uuid: str) -> Status | None:
        return decode_status(self.redis.run(self.ops.get(uuid)))

    def mget(self, uuids: Sequence[str]) -> list[Status | None]:
        """``Hash.mget``: one read for many, None where a document is gone (expired)."""
        return [decode_status(raw) for raw in self.redis.run(self.ops.get_many(list(uuids)))]

    def status_ids(self, start: int | None = None, stop: int | None = None) -> list[str]:
        """``Hash.status_ids``: uuids newest first; with both bounds, that slice of them
        (positions as ``ZREVRANGE`` takes them, signs dropped as Ruby's ``abs`` does)."""
        if start is None or stop is None:
            return self.redis.run(self.ops.ids())
        return self.redis.run(self.ops.ids(abs(start), abs(stop)))

    def statuses(self, start: int | None = None, stop: int | None = None) -> list[Status]:
        """``Hash.statuses``: the documents of ``status_ids``, those gone left out."""
        found = self.mget(self.status_ids(start, stop))
        return [status for status in found if status is not None]

    def count(self) -> int:
        """``Hash.count``: entries in the index (a document may have expired meanwhile)."""
        return self.redis.run(self.ops.count())

    def set(self, uuid: str, *messages: Mapping[str, Any] | str | None) -> Status:
        status = build_status(uuid, *messages)
        self.redis.run(self.ops.set(uuid, codec.encode(dict(status)), self.expire_in))
        return status

    def kill(self, uuid: str) -> None:
        """Ask a running status job to stop at its next ``tick`` (``Hash.kill``)."""
        self.redis.run(self.ops.kill(uuid))

    def killall(self, start: int | None = None, stop: int | None = None) -> list[str]:
        """``Hash.killall``: a kill request for every uuid of ``status_ids`` (finished
        ones included, as in Ruby: only a job that still ticks acts on it)."""
        uuids = self.status_ids(start, stop)
        self.redis.run(self.ops.kill_many(uuids))
        return uuids

    def killed(self, uuid: str) -> None:
        """``Hash.killed``: withdraw a kill request."""
        self.redis.run(self.ops.killed(uuid))

    def kill_ids(self) -> list[str]:
        return self.redis.run(self.ops.kill_ids())

    def should_kill(self, uuid: str) -> bool:
        return self.redis.run(self.ops.should_kill(uuid))

    def remove(self, uuid: str) -> None:
        self.redis.run(self.ops.remove(uuid))

    def clear(self, start: int | None = None, stop: int | None = None) -> list[str]:
        """``Hash.clear``: remove every status of ``status_ids`` (document and index)."""
        uuids = self.status_ids(start, stop)
        self.redis.run(self.ops.remove_many(uuids))
        return uuids

    def clear_completed(self, start: int | None = None, stop: int | None = None) -> list[str]:
        """``Hash.clear_completed``: remove the completed ones; their uuids, newest first."""
        return self._clear_where(COMPLETED, start, stop)

    def clear_failed(self, start: int | None = None, stop: int | None = None) -> list[str]:
        """``Hash.clear_failed``: remove the failed ones; their uuids, newest first."""
        return self._clear_where(FAILED, start, stop)

    def _clear_where(self, state: str, start: int | None, stop: int | None) -> list[str]:
        """Ruby reads each status and removes it if it is in ``state``; an index entry
        whose document expired makes Ruby raise (``nil.completed?``), here it is kept."""
        uuids = self.status_ids(start, stop)
        found = self.mget(uuids)
        chosen = [u for u, s in zip(uuids, found, strict=True) if s and s.status == state]
        self.redis.run(self.ops.remove_many(chosen))
        return chosen

    def dequeue(
        self, resque: Resque, job: JobRef, uuid: str, queue: str | None = None
    ) -> int | None:
        """``Klass.dequeue(klass, uuid)``: remove the queued job ``[uuid, options]``, the
        options read back from its status (the bytes must be the queued ones, see
        ``Resque.dequeue``). The status itself stays, as in Ruby. 0 when the status is gone
        (Ruby raises there: without the options no payload can be matched); None when a
        before_dequeue hook said no."""
        status = self.get(uuid)
        if status is None:
            return 0
        if queue is None and resque.ops.resolve(job)[1] is not None:
            return resque.dequeue(job, uuid, status.options)
        return resque.destroy(queue or _queue_of(resque, job), job, uuid, status.options)

    def create(
        self,
        resque: Resque,
        job: JobRef,
        options: Mapping[str, Any] | None = None,
        queue: str | None = None,
    ) -> str | None:
        """Ruby's ``Klass.create(options)``: a queued status, then the job ``[uuid, options]``.

        Works for a Ruby ``JobWithStatus`` class named by string. The uuid, or None (and no
        status left behind) when a before_enqueue hook refused the job.
        """
        uuid = secrets.token_hex(16)
        options = dict(options or {})
        document = codec.encode(dict(build_status(uuid, {"options": options})))
        self.redis.run(self.ops.create(uuid, document, int(time.time()), self.expire_in))
        target = queue or _queue_of(resque, job)
        if resque.enqueue_to(target, job, uuid, options):
            return uuid
        self.remove(uuid)
        return None

    def job(
        self,
        name: str,
        queue: str = DEFAULT_QUEUE,
        registry: JobRegistry | None = None,
        *,
        on_success: Callable[[StatusJob], Any] | None = None,
        on_failure: Callable[[StatusJob, BaseException | str | None], Any] | None = None,
        on_killed: Callable[[StatusJob], Any] | None = None,
    ) -> Callable[[Callable[[StatusJob], Any]], JobSpec]:
        """Register ``function(status)`` as the status job ``name`` (queue ``statused``).

        The callbacks are a Ruby status job's optional ``on_success``, ``on_failure`` and
        ``on_killed`` methods, called as ``safe_perform!`` calls them (see
        :meth:`StatusJob.run`); each gets the running :class:`StatusJob` first.
        """
        callbacks = StatusCallbacks(on_success, on_failure, on_killed)

        def register(function: Callable[[StatusJob], Any]) -> JobSpec:
            def perform(uuid: str | None = None, options: Any = None) -> None:
                status_job = StatusJob(self, name, uuid or secrets.token_hex(16), options or {})
                status_job.run(function, callbacks)

            return (registry or default_registry).register_function(name, perform, queue)

        return register


@dataclass(frozen=True)
class StatusCallbacks:
    """A status job's ``on_success`` / ``on_failure`` / ``on_killed``; None where the Ruby
    class would not ``respond_to?`` the method."""

    on_success: Callable[[StatusJob], Any] | None = None
    on_failure: Callable[[StatusJob, BaseException | str | None], Any] | None = None
    on_killed: Callable[[StatusJob], Any] | None = None


def _queue_of(resque: Resque, job: JobRef) -> str:
    """The job's own queue when Python knows the class, else Ruby's default ``statused``."""
    _name, spec = resque.ops.resolve(job)
    return spec.queue if spec is not None and spec.queue else DEFAULT_QUEUE


class StatusJob:
    """What a status job is given: its uuid and options, and the progress calls."""

    def __init__(self, plugin: StatusPlugin, class_name: str, uuid: str, options: Any) -> None:
        self.plugin = plugin
        self.uuid = uuid
        self.options = options
        inspected = ruby_inspect(options) if options else ""
        self.name = f"{class_name}({inspected})"

    def run(
        self, function: Callable[[StatusJob], Any], callbacks: StatusCallbacks | None = None
    ) -> None:
        """Ruby's ``safe_perform!``, branch for branch:

        - working, perform; if the job then says ``failed``: ``on_failure(message)``, done;
          else completed (unless it said so itself) and ``on_success()``;
        - a kill (:class:`Killed`): the request withdrawn, status ``killed``, ``on_killed()``;
        - an error (raised by the job or by ``on_success``): status failed, then
          ``on_failure(error)`` when declared (the job then ends normally, so the worker
          records no failure), else the error is raised again for the worker to record.
        """
        hooks = callbacks or StatusCallbacks()
        try:
            self._set({"status": WORKING})
            function(self)
            current = self.status()
            if current is not None and current.status == FAILED:
                if hooks.on_failure is not None:
                    hooks.on_failure(self, current.message)
                return
            if current is not None and current.status != COMPLETED:
                self.completed()
            if hooks.on_success is not None:
                hooks.on_success(self)
        except Killed:
            self.plugin.killed(self.uuid)
            if hooks.on_killed is not None:
                hooks.on_killed(self)
        except Exception as error:
            self.failed(f"The task failed because of an error: {error}")
            if hooks.on_failure is None:
                raise
            hooks.on_failure(self, error)

    def status(self) -> Status | None:
        return self.plugin.get(self.uuid)

    def should_kill(self) -> bool:
        return self.plugin.should_kill(self.uuid)

    def at(self, num: Any, total: Any, *messages: Mapping[str, Any] | str) -> None:
        """Progress ``num`` of ``total``; stops the job here if a kill was requested."""
        try:
            positive = float(total) > 0.0
        except (TypeError, ValueError):
            positive = False
        if not positive:
            raise NotANumberError(f"Called at() with total={total} which is not a number")
        self.tick({"num": num, "total": total}, *messages)

    def tick(self, *messages: Mapping[str, Any] | str) -> None:
        if self.should_kill():
            self.kill()
        self._set({"status": WORKING}, *messages)

    def completed(self, *messages: Mapping[str, Any] | str) -> None:
        self._set({"status": COMPLETED, "message": f"Completed at {timefmt.started()}"}, *messages)

    def failed(self, *messages: Mapping[str, Any] | str) -> None:
        self._set({"status": FAILED}, *messages)

    def kill(self) -> None:
        """Ruby's ``kill!``: status killed, then :class:`Killed` unwinds the job."""
        self._set({"status": KILLED, "message": f"Killed at {timefmt.started()}"})
        raise Killed

    def _set(self, *messages: Mapping[str, Any] | str) -> None:
        """``set_status``: the current document, the name, then the new messages."""
        self.plugin.set(self.uuid, self.status(), {"name": self.name}, *messages)
