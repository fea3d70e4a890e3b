"""ActiveJob through Resque, both ways: Rails jobs run by Python handlers, Rails jobs enqueued
from Python with the bytes ``perform_later`` writes.

Rails' Resque adapter enqueues every ActiveJob job as the Resque class
``ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper`` with one argument, the job data
(``job_class``, ``job_id``, ``arguments`` in ActiveJob's serialised form, ``executions``,
``locale``, ``timezone``, ``enqueued_at``...). A Python worker runs jobs by Resque class
name, so this module puts one :class:`ActiveJobBridge` in a :class:`~resque_compat.job.JobRegistry`
under that name; the bridge reads the job data, finds the Python handler registered for
``job_class`` and calls it with natural Python values::

    from resque_compat.activejob import activejob, current_job, globalid_locator

    @activejob("ArchiveJob", queue="archives")
    def archive(account, path, *, compress=False):
        log.info("job %s, attempt %d", current_job().job_id, current_job().executions)

    @globalid_locator("Account")
    def find_account(gid):
        return accounts.get(int(gid.model_id))

Job metadata is read through :func:`current_job` (a context variable) rather than an extra
argument, so a Rails keyword argument of any name reaches the handler untouched.

The other way, :func:`enqueue_activejob` is the operation behind
``Resque.enqueue_activejob("ArchiveJob", *args, queue=..., priority=..., **kwargs)``:
the job data Rails writes (``activejob_args.build_job_data``), wrapped as Rails' adapter
wraps it, encoded as a Rails process encodes it (ActiveSupport's JSON on top of the
client's MultiJson adapter), then Resque's ``SADD`` + ``RPUSH``. Values ActiveJob cannot
carry are refused before anything is sent. Defaults (locale, time zone, oldest Rails that
reads the jobs, how objects become GlobalIDs) are an :class:`ActiveJobSettings` held by
the bridge of the client's registry.

Failures are Resque failures: whatever a handler raises is recorded with the payload as
it was queued, so ``Resque::Failure.requeue`` or ``resque_compat.failure`` retries it in
whichever runtime takes it. Job data the bridge cannot read is a failure too, never a
crash: an unregistered ``job_class`` (:class:`UnknownActiveJobError`), an unknown
serializer or an unresolvable GlobalID (recorded as ``ActiveJob::DeserializationError``,
as Ruby records them), or job data that is not ActiveJob's (:class:`InvalidJobDataError`).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from . import codec
from .activejob_args import (
    JOB_WRAPPER_CLASS,
    ActiveJobArgumentError,
    GlobalID,
    build_job_data,
    deserialize_arguments,
    parse_enqueued_at,
    serialize_arguments,
    wrap_job_data,
)
from .errors import NoQueueError, ResqueCompatError, UnknownJobError
from .job import JobRegistry, JobSpec, Payload, default_registry
from .store.base import Operation

if TYPE_CHECKING:
    from .client import ResqueOperations

__all__ = [
    "ActiveJobBridge",
    "ActiveJobContext",
    "ActiveJobSettings",
    "InvalidJobDataError",
    "UnknownActiveJobError",
    "activejob",
    "activejob_bridge",
    "activejob_payload",
    "configure_activejob",
    "current_job",
    "enqueue_activejob",
    "globalid_locator",
    "rails_json_style",
]

Handler = Callable[..., Any]
GlobalIDLocator = Callable[[GlobalID], Any]
GlobalIDFor = Callable[[Any], GlobalID | None]
H = TypeVar("H", bound=Handler)
L = TypeVar("L", bound=GlobalIDLocator)

_WITH_ACTIVESUPPORT = {
    codec.JsonStyle.JSON_GEM: codec.JsonStyle.ACTIVESUPPORT,
    codec.JsonStyle.OJ: codec.JsonStyle.ACTIVESUPPORT_OJ,
}


class UnknownActiveJobError(UnknownJobError):
    """A JobWrapper job whose ``job_class`` has no Python handler (Ruby: ``NameError``)."""


class InvalidJobDataError(ResqueCompatError, ValueError):
    """A JobWrapper payload whose argument is not ActiveJob's job data."""


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ActiveJobSettings:
    """How this application writes ActiveJob jobs: what a Rails app's config decides.

    ``locale`` and ``timezone`` are what Rails takes from ``I18n.locale`` and
    ``Time.zone.name`` at enqueue time (the job performs in them). ``rails_version`` names
    the oldest Rails that will read the jobs: ``"6.1"`` (the default) writes the forms every
    Rails >= 6.1 reads; ``"7.0"`` allows ``RubyRange``; ``"7.1"`` writes ``enqueued_at`` with
    nanoseconds, ``scheduled_at`` and ``Decimal`` as BigDecimalSerializer; ``"7.2"`` adds
    the zone name to TimeWithZone. ``symbol_keys`` writes plain dict keys as Symbols.
    ``globalid_for`` maps an application object to its GlobalID (None: not a model);
    objects with a ``to_global_id()`` method need none. ``json_style`` is the JSON of the
    Rails processes; None takes the client's MultiJson adapter with ActiveSupport loaded
    (see :func:`rails_json_style`).
    """

    locale: str = "en"
    timezone: str = "UTC"
    rails_version: str = "6.1"
    symbol_keys: bool = False
    globalid_for: GlobalIDFor | None = None
    json_style: codec.JsonStyle | None = None

    def __post_init__(self) -> None:
        serialize_arguments((), None, rails_version=self.rails_version)  # a bad version raises
        for name in ("locale", "timezone"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"ActiveJobSettings.{name} must be a non-empty str")


def rails_json_style(style: codec.JsonStyle) -> codec.JsonStyle:
    """The JSON a Rails process writes with MultiJson adapter ``style``: every Rails app has
    ActiveSupport loaded, which escapes ``<``, ``>`` and ``&`` in strings."""
    return _WITH_ACTIVESUPPORT.get(style, style)


# --------------------------------------------------------------------------- job metadata


@dataclass(frozen=True)
class ActiveJobContext:
    """The job a handler is running, as Rails' job instance would describe it.

    ``executions`` counts this run, as Rails' ``executions`` does inside ``perform``: 1 for
    a job performed for the first time (the job data holds the runs before). ``enqueued_at``
    and ``scheduled_at`` are parsed; ``locale`` and ``timezone`` are None when the job data
    has none (Rails then uses its own defaults). ``job_data`` is the hash as it arrived.
    """

    job_class: str
    job_id: str | None
    queue_name: str | None
    priority: int | None
    executions: int
    exception_executions: Mapping[str, int]
    locale: str | None
    timezone: str | None
    enqueued_at: datetime | None
    scheduled_at: datetime | None
    provider_job_id: str | None
    job_data: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_job_data(cls, job_data: Mapping[str, Any]) -> ActiveJobContext:
        """Read the metadata; a field of the wrong type is an :class:`InvalidJobDataError`."""
        executions = _optional(job_data, "executions", int) or 0
        return cls(
            job_class=_required_str(job_data, "job_class"),
            job_id=_optional(job_data, "job_id", str),
            queue_name=_optional(job_data, "queue_name", str),
            priority=_optional(job_data, "priority", int),
            executions=executions + 1,
            exception_executions=_optional(job_data, "exception_executions", dict) or {},
            locale=_optional(job_data, "locale", str),
            timezone=_optional(job_data, "timezone", str),
            enqueued_at=_optional_time(job_data, "enqueued_at"),
            scheduled_at=_optional_time(job_data, "scheduled_at"),
            provider_job_id=_optional(job_data, "provider_job_id", str),
            job_data=job_data,
        )


_T = TypeVar("_T")


def _optional(job_data: Mapping[str, Any], key: str, kind: type[_T]) -> _T | None:
    value = job_data.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InvalidJobDataError(f"job data {key!r} must be {kind.__name__}, got {value!r}")
    return value


def _required_str(job_data: Mapping[str, Any], key: str) -> str:
    value = _optional(job_data, key, str)
    if not value:
        raise InvalidJobDataError(f"job data has no {key!r}: {dict(job_data)!r}")
    return value


def _optional_time(job_data: Mapping[str, Any], key: str) -> datetime | None:
    value = job_data.get(key)
    if value is None:
        return None
    try:
        return parse_enqueued_at(value)
    except ActiveJobArgumentError as error:
        raise InvalidJobDataError(f"job data {key!r} is not an ISO 8601 time: {value!r}") from error


_current_job: contextvars.ContextVar[ActiveJobContext] = contextvars.ContextVar(
    "resque_compat_activejob"
)


def current_job() -> ActiveJobContext:
    """The ActiveJob job the calling handler runs (LookupError outside a handler)."""
    try:
        return _current_job.get()
    except LookupError:
        raise LookupError(
            "current_job() is only available while an ActiveJob handler runs"
        ) from None


# --------------------------------------------------------------------------- the bridge


class ActiveJobBridge(JobSpec):
    """The ``JobWrapper`` job of one registry: handlers, GlobalID locators, settings.

    It is a :class:`~resque_compat.job.JobSpec` registered under ``JobWrapper``'s name, so
    the worker runs ActiveJob jobs as it runs any job (hooks included: they receive the job
    data); :func:`activejob_bridge` installs it.
    """

    def __init__(self, settings: ActiveJobSettings | None = None) -> None:
        super().__init__(name=JOB_WRAPPER_CLASS, perform=self.perform_job_data)
        self.settings = settings or ActiveJobSettings()
        self.handlers: dict[str, Handler] = {}
        self.queues: dict[str, str] = {}
        self.locators: dict[str, GlobalIDLocator] = {}

    # -- registration -----------------------------------------------------------------

    def handler(self, job_class: str, queue: str | None = None) -> Callable[[H], H]:
        """Decorator: ``function`` performs the Rails job ``job_class`` (returned unchanged).

        ``queue`` is where :func:`enqueue_activejob` puts the job when no queue is given
        (Rails' ``queue_as``).
        """
        _check_name("job_class", job_class)

        def register(function: H) -> H:
            existing = self.handlers.get(job_class)
            if existing is not None and existing is not function:
                raise ValueError(f"a different handler is already registered for {job_class!r}")
            self.handlers[job_class] = function
            if queue is not None:
                self.declare(job_class, queue)
            return function

        return register

    def declare(self, job_class: str, queue: str) -> None:
        """The queue of a Rails job (``queue_as``), for jobs Python enqueues but Ruby runs."""
        _check_name("job_class", job_class)
        _check_name("queue", queue)
        self.queues[job_class] = queue

    def locator(self, model_name: str) -> Callable[[L], L]:
        """Decorator: ``function(gid)`` loads the ``model_name`` record a GlobalID names."""
        _check_name("model_name", model_name)

        def register(function: L) -> L:
            self.locators[model_name] = function
            return function

        return register

    # -- consuming --------------------------------------------------------------------

    def lookup(self, job_class: str) -> Handler:
        handler = self.handlers.get(job_class)
        if handler is None:
            raise UnknownActiveJobError(
                f"no Python handler is registered for the ActiveJob class {job_class!r} "
                f"(registered: {', '.join(sorted(self.handlers)) or 'none'})"
            )
        return handler

    def perform_job_data(self, *args: Any) -> None:
        """``JobWrapper.perform(job_data)``: decode, dispatch on ``job_class``, perform."""
        job_data = _job_data_of(args)
        context = ActiveJobContext.from_job_data(job_data)
        handler = self.lookup(context.job_class)
        arguments: Any = job_data.get("arguments")  # not a list: deserialize_arguments says so
        positional, keywords = deserialize_arguments(
            arguments, resolve_globalid=self.resolve_globalid
        )
        token = _current_job.set(context)
        try:
            handler(*positional, **keywords)
        finally:
            _current_job.reset(token)

    def resolve_globalid(self, gid: GlobalID) -> Any:
        """The record a GlobalID names, from the model's locator; raises when there is none."""
        locator = self.locators.get(gid.model_name)
        if locator is None:
            raise LookupError(
                f"no GlobalID locator for {gid.model_name} ({gid.uri}); register one with "
                f"@globalid_locator({gid.model_name!r})"
            )
        found = locator(gid)
        if found is None:
            raise LookupError(f"Couldn't find {gid.model_name} with id {gid.model_id!r}")
        return found

    # -- producing --------------------------------------------------------------------

    def queue_for(self, job_class: str) -> str:
        queue = self.queues.get(job_class)
        if queue is None:
            raise NoQueueError(
                "Jobs must be placed onto a queue. No queue could be inferred for "
                f"ActiveJob class {job_class} (pass queue=, or register it with a queue)"
            )
        return queue

    def job_data(
        self,
        job_class: str,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        *,
        queue: str | None = None,
        priority: int | None = None,
        job_id: str | None = None,
        enqueued_at: datetime | None = None,
        scheduled_at: datetime | None = None,
    ) -> dict[str, Any]:
        """The job data ``perform_later`` writes (``job_id`` and ``enqueued_at``: fresh)."""
        settings = self.settings
        return build_job_data(
            job_class,
            args,
            kwargs,
            queue=queue if queue is not None else self.queue_for(job_class),
            priority=priority,
            job_id=job_id,
            locale=settings.locale,
            timezone=settings.timezone,
            enqueued_at=enqueued_at,
            rails_version=settings.rails_version,
            symbol_keys=settings.symbol_keys,
            globalid_for=self.globalid_for,
            scheduled_at=scheduled_at,
        )

    def globalid_for(self, value: Any) -> GlobalID | None:
        """The settings' ``globalid_for``, else the object's own ``to_global_id()``."""
        if self.settings.globalid_for is not None:
            gid = self.settings.globalid_for(value)
            if gid is not None:
                return gid
        to_global_id = getattr(value, "to_global_id", None)
        return to_global_id() if callable(to_global_id) else None

    def json_style(self, client_style: codec.JsonStyle) -> codec.JsonStyle:
        return self.settings.json_style or rails_json_style(client_style)


def _check_name(what: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty str, got {value!r}")


def _job_data_of(args: Sequence[Any]) -> Mapping[str, Any]:
    if len(args) != 1 or not isinstance(args[0], dict):
        raise InvalidJobDataError(
            f"{JOB_WRAPPER_CLASS} takes one argument, the job data hash; got {list(args)!r}"
        )
    return args[0]


# --------------------------------------------------------------------------- registry glue


def activejob_bridge(registry: JobRegistry | None = None) -> ActiveJobBridge:
    """The registry's bridge (``default_registry`` when None), installed on first use."""
    target = registry if registry is not None else default_registry
    existing = target.get(JOB_WRAPPER_CLASS)
    if isinstance(existing, ActiveJobBridge):
        return existing
    if existing is not None:
        raise ValueError(f"{JOB_WRAPPER_CLASS} is already registered as a plain job")
    bridge = ActiveJobBridge()
    target.add(bridge)
    return bridge


def activejob(
    job_class: str, queue: str | None = None, *, registry: JobRegistry | None = None
) -> Callable[[H], H]:
    """Register a handler for a Rails job class: ``@activejob("ArchiveJob")``."""
    return activejob_bridge(registry).handler(job_class, queue)


def globalid_locator(model_name: str, *, registry: JobRegistry | None = None) -> Callable[[L], L]:
    """Register how ``gid://<app>/<model_name>/<id>`` arguments are loaded."""
    return activejob_bridge(registry).locator(model_name)


def configure_activejob(
    settings: ActiveJobSettings, *, registry: JobRegistry | None = None
) -> ActiveJobBridge:
    """Set the registry's ActiveJob settings (what ``enqueue_activejob`` writes)."""
    bridge = activejob_bridge(registry)
    bridge.settings = settings
    return bridge


def _bridge_for(registry: JobRegistry) -> ActiveJobBridge:
    """For producing: the registry's bridge, or default settings without installing one."""
    existing = registry.get(JOB_WRAPPER_CLASS)
    return existing if isinstance(existing, ActiveJobBridge) else ActiveJobBridge()


# --------------------------------------------------------------------------- producing


def activejob_payload(
    bridge: ActiveJobBridge,
    job_data: Mapping[str, Any],
    client_style: codec.JsonStyle = codec.JsonStyle.JSON_GEM,
) -> bytes:
    """The Resque payload Rails' adapter writes for ``job_data``, as the Rails process's JSON."""
    return codec.encode(wrap_job_data(job_data), bridge.json_style(client_style))


def enqueue_activejob(
    ops: ResqueOperations,
    job_class: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    queue: str | None = None,
    priority: int | None = None,
) -> Operation[str]:
    """``JobClass.set(queue:, priority:).perform_later(*args, **kwargs)``; returns the job_id.

    Everything is encoded first, so a refused value sends nothing. In inline mode the job
    runs now through the registry's bridge, as Ruby's ``Resque.inline`` does.
    """
    bridge = _bridge_for(ops.options.registry)
    job_data = bridge.job_data(job_class, args, kwargs, queue=queue, priority=priority)
    payload = activejob_payload(bridge, job_data, ops.options.json_style)
    if ops.options.inline:
        ops.options.registry.lookup(JOB_WRAPPER_CLASS).run(Payload.decode(payload).args)
    else:
        yield from ops.schema.queues.push(job_data["queue_name"], payload)
    return str(job_data["job_id"])
