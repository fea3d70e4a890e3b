"""Jobs: the payload on the wire, the registry of runnable jobs, and their hooks.

A payload names a Ruby class; a Python worker runs it only if a Python callable was
registered under that exact name. Nothing is ever imported or looked up by the name in a
payload, so whoever can write to Redis can run registered jobs and nothing else.
"""

from __future__ import annotations

import base64
import contextlib
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from . import codec
from .errors import DecodeError, DontPerform, EncodeError, UnknownJobError
from .keys import Keys
from .store.base import Operation

HOOK_KINDS = (
    "before_enqueue",
    "after_enqueue",
    "before_dequeue",
    "after_dequeue",
    "before_perform",
    "around_perform",
    "after_perform",
    "on_failure",
    "before_schedule",
    "after_schedule",
    "before_delayed_enqueue",
)

Hook = Callable[..., Any]
F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")

Pusher = Callable[[Keys, str, str, Sequence[Any], bytes], "Operation[bool]"]
"""How a plugin enqueues instead of the plain push: ``(keys, queue, class_name, args, payload)``
to an operation that is True when the job was queued. resque-loner's unique jobs use it,
because Ruby writes their marker in the same MULTI as the RPUSH."""


class Retrying(Protocol):
    """What a failure backend asks of a job retried the resque-retry way (``plugins.retry``):
    MultipleWithRetrySuppression keeps a retried attempt's failure out of the failed list."""

    def retry_key(self, args: Sequence[Any]) -> str:
        """The counter key without the namespace, ``resque-retry:<Class>[:<sha1>]``."""

    def retry_delay(self, exception_name: str, attempt: int) -> int:
        """Seconds before the retry of failed attempt ``attempt`` (0: retried at once)."""


class PayloadError(DecodeError):
    """A queued payload is not a usable job (bad JSON, no class, args not a list...).

    Keeps the raw bytes, so that the failure record can carry them unchanged.
    """


@dataclass(frozen=True)
class Payload:
    """``{"class": ..., "args": [...]}`` plus any other keys a producer wrote (kept as is)."""

    class_name: str
    args: tuple[Any, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"class": self.class_name, "args": list(self.args), **self.extra}

    def encode(self, style: codec.JsonStyle = codec.JsonStyle.JSON_GEM) -> bytes:
        if self.extra:
            return codec.encode(self.as_dict(), style)
        return codec.encode_payload(self.class_name, self.args, style)

    @classmethod
    def decode(cls, raw: bytes) -> Payload:
        """A runnable payload: valid UTF-8 JSON object with a class and a list of args.

        Invalid UTF-8 is refused here, though ``codec.decode`` reads it: a job must not get
        strings that no Ruby or Python code could have meant.
        """
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PayloadError(
                f"payload is not valid UTF-8 ({error.reason} at byte {error.start})", raw
            ) from error
        try:
            document = codec.decode(raw)
        except DecodeError as error:
            raise PayloadError(f"payload is not JSON: {error}", raw) from error
        return cls.from_document(document, raw)

    @classmethod
    def from_document(cls, document: Any, raw: bytes = b"") -> Payload:
        if not isinstance(document, dict):
            raise PayloadError("payload is not a JSON object", raw)
        class_name = document.get("class")
        if not isinstance(class_name, str) or not class_name:
            raise PayloadError("payload has no class name", raw)
        args = document.get("args", [])
        if args is None:
            args = []
        if not isinstance(args, list):
            raise PayloadError(f"payload args is a {type(args).__name__}, not a list", raw)
        extra = {k: v for k, v in document.items() if k not in ("class", "args")}
        return cls(class_name, tuple(args), extra)


UNREADABLE_PAYLOAD_CLASS = "ResqueCompat::UnreadablePayload"


def payload_for_failure(raw: bytes) -> Any:
    """The payload as a failure record keeps it.

    A usable payload is kept as written. One that is not (not JSON, not UTF-8, no class,
    args not a list) is kept whole inside a job-shaped wrapper,
    ``{"class": "ResqueCompat::UnreadablePayload", "args": [text, base64]}``: Ruby's
    ``Failure.requeue`` (and resque-web's Retry) read ``payload["class"]`` and
    ``payload["args"]``, and a bare string there makes them fail; the wrapper retries as a
    job that fails again with a clear error, and the base64 keeps the exact bytes.
    """
    try:
        Payload.decode(raw)
        document = codec.decode(raw)
        codec.encode({"payload": document})  # the record nests it one level deeper
    except (PayloadError, EncodeError):
        return unreadable_payload(raw)
    return document


def document_for_failure(document: Any) -> Any:
    """``payload_for_failure`` for a payload already decoded from a ``worker:<id>`` record."""
    if isinstance(document, str):
        return unreadable_payload(document.encode("utf-8", "surrogateescape"))
    try:
        Payload.from_document(document)
        codec.encode({"payload": document})
    except (PayloadError, EncodeError):
        return unreadable_payload(_document_bytes(document))
    return document


def _document_bytes(document: Any) -> bytes:
    """The bytes a decoded document most likely had, for keeping it whole."""
    try:
        return codec.encode(document)
    except EncodeError:
        return repr(document).encode("utf-8", "surrogateescape")


def unreadable_payload(raw: bytes) -> dict[str, Any]:
    text = raw.decode("utf-8", "backslashreplace")
    return {"class": UNREADABLE_PAYLOAD_CLASS, "args": [text, base64.b64encode(raw).decode()]}


@dataclass
class JobSpec:
    """A Python callable registered under a Ruby class name, with its queue and hooks."""

    name: str
    perform: Callable[..., Any]
    queue: str | None = None
    hooks: dict[str, list[Hook]] = field(default_factory=lambda: {k: [] for k in HOOK_KINDS})
    pusher: Pusher | None = None
    retrying: Retrying | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.perform(*args, **kwargs)

    def hook(self, kind: str) -> Callable[[F], F]:
        """Register a hook: ``@archive.hook("before_perform")``."""
        if kind not in HOOK_KINDS:
            raise ValueError(f"unknown hook kind {kind!r}; expected one of {HOOK_KINDS}")

        def register(function: F) -> F:
            self.hooks[kind].append(function)
            return function

        return register

    def run_enqueue_hooks(self, kind: str, args: Sequence[Any]) -> bool:
        """Run before_/after_ enqueue or dequeue hooks; False when one returned False."""
        results = [hook(*args) for hook in self.hooks[kind]]
        return all(result is not False for result in results)

    def around_schedule(self, args: Sequence[Any], enqueue: Callable[[], R]) -> R | None:
        """How resque-scheduler enqueues a due job of a class it can load
        (``process_schedule_hooks``): ``before_schedule`` (one returning False: nothing
        more, None), ``before_delayed_enqueue``, ``enqueue()``, ``after_schedule``."""
        if not self.run_enqueue_hooks("before_schedule", args):
            return None
        self.run_enqueue_hooks("before_delayed_enqueue", args)
        enqueued = enqueue()
        self.run_enqueue_hooks("after_schedule", args)
        return enqueued

    def run(self, args: Sequence[Any]) -> bool:
        """Perform with Ruby's hook semantics; False when a before hook said DontPerform.

        On any exception the on_failure hooks run once and the exception propagates.
        """
        try:
            try:
                for hook in self.hooks["before_perform"]:
                    hook(*args)
            except DontPerform:
                return False
            performed = self._perform_around(args)
            for hook in self.hooks["after_perform"]:
                hook(*args)
            return performed
        except BaseException as error:
            self.run_failure_hooks(error, args)
            raise

    def _perform_around(self, args: Sequence[Any]) -> bool:
        """Around hooks are generator functions that ``yield`` where the job runs."""
        if not self.hooks["around_perform"]:
            self.perform(*args)
            return True
        performed = False
        with contextlib.ExitStack() as stack:
            for hook in self.hooks["around_perform"]:
                if not _enter_around(stack, hook, args):
                    return False
            self.perform(*args)
            performed = True
        return performed

    def run_failure_hooks(self, error: BaseException, args: Sequence[Any]) -> None:
        for hook in self.hooks["on_failure"]:
            hook(error, *args)


def _enter_around(stack: contextlib.ExitStack, hook: Hook, args: Sequence[Any]) -> bool:
    manager = contextlib.contextmanager(hook)(*args)
    try:
        stack.enter_context(manager)
    except RuntimeError as error:
        if "didn't yield" in str(error):
            return False
        raise
    return True


class JobRegistry:
    """Ruby class names to Python jobs. Lookup is by exact name only; nothing is imported."""

    def __init__(self) -> None:
        self._jobs: dict[str, JobSpec] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._jobs

    def __iter__(self) -> Iterator[JobSpec]:
        return iter(self._jobs.values())

    def get(self, name: str) -> JobSpec | None:
        return self._jobs.get(name)

    def lookup(self, name: str) -> JobSpec:
        spec = self._jobs.get(name)
        if spec is None:
            raise UnknownJobError(
                f"no Python job is registered as {name!r} "
                f"(registered: {', '.join(sorted(self._jobs)) or 'none'})"
            )
        return spec

    def add(self, spec: JobSpec) -> JobSpec:
        existing = self._jobs.get(spec.name)
        if existing is not None and existing.perform is not spec.perform:
            raise ValueError(f"a different job is already registered as {spec.name!r}")
        self._jobs[spec.name] = spec
        return spec

    def register_function(
        self, name: str, function: Callable[..., Any], queue: str | None = None
    ) -> JobSpec:
        return self.add(JobSpec(name=name, perform=function, queue=queue))

    def register_class(self, cls: type, name: str | None = None) -> JobSpec:
        """A Resque-style class: ``queue`` attribute, static ``perform``, hooks by prefix.

        Hook methods are found by name prefix and run in name order, as Ruby's Plugin does.
        """
        perform = getattr(cls, "perform", None)
        if not callable(perform):
            raise TypeError(f"{cls.__name__} has no callable perform")
        spec = JobSpec(
            name=name or cls.__name__, perform=perform, queue=getattr(cls, "queue", None)
        )
        for attribute in sorted(dir(cls)):
            kind = next((k for k in HOOK_KINDS if attribute.startswith(k)), None)
            if kind is not None:
                spec.hooks[kind].append(getattr(cls, attribute))
        return self.add(spec)

    def job(self, name: str | None = None, queue: str | None = None) -> Callable[[Any], JobSpec]:
        """Decorator for a function or a class: ``@registry.job("Archive", queue="files")``."""

        def register(target: Any) -> JobSpec:
            if inspect.isclass(target):
                spec = self.register_class(target, name)
                if queue is not None:
                    spec.queue = queue
                return spec
            return self.register_function(name or target.__name__, target, queue)

        return register


default_registry = JobRegistry()
"""The registry ``@job`` fills; pass another ``JobRegistry`` to keep registries apart."""


def job(name: str | None = None, queue: str | None = None) -> Callable[[Any], JobSpec]:
    """Register a job in the default registry under a Ruby class name.

    >>> @job("Archive", queue="file_serve")
    ... def archive(path, size): ...
    """
    return default_registry.job(name, queue)
