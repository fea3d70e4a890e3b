"""The ``JobWrapper`` job of a registry: Rails jobs run by Python handlers, and enqueued."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from .. import codec
from ..errors import NoQueueError, UnknownJobError
from ..job import JobRegistry, JobSpec, default_registry
from .context import ActiveJobContext, InvalidJobDataError, bind_current_job
from .decode import deserialize_arguments
from .job_data import JobDataOptions, build_job_data, wrap_job_data
from .settings import ActiveJobSettings, rails_json_style
from .values import GlobalID
from .wire import JOB_WRAPPER_CLASS

Handler = Callable[..., Any]
GlobalIDLocator = Callable[[GlobalID], Any]
H = TypeVar("H", bound=Handler)
L = TypeVar("L", bound=GlobalIDLocator)


class UnknownActiveJobError(UnknownJobError):
    """A JobWrapper job whose ``job_class`` has no Python handler (Ruby: ``NameError``)."""


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

        ``queue`` is where ``Resque.enqueue_activejob`` puts the job when no queue is given
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
        with bind_current_job(context):
            handler(*positional, **keywords)

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
        """The job data ``perform_later`` writes (``job_id`` and ``enqueued_at``: fresh;
        ``scheduled_at`` for ``set(wait:)`` from Rails 7.1 on)."""
        settings = self.settings
        options = JobDataOptions(
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
        return build_job_data(job_class, args, kwargs, options)

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


def producing_bridge(registry: JobRegistry) -> ActiveJobBridge:
    """For producing: the registry's bridge, or default settings without installing one."""
    existing = registry.get(JOB_WRAPPER_CLASS)
    return existing if isinstance(existing, ActiveJobBridge) else ActiveJobBridge()


def activejob_payload(
    bridge: ActiveJobBridge,
    job_data: Mapping[str, Any],
    client_style: codec.JsonStyle = codec.JsonStyle.JSON_GEM,
) -> bytes:
    """The Resque payload Rails' adapter writes for ``job_data``, as the Rails process's JSON."""
    return codec.encode(wrap_job_data(job_data), bridge.json_style(client_style))
