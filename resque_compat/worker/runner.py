"""Running one job: in this process, or in a forked child as Ruby does by default.

A forked child never talks to Redis: it performs the job and hands its result to the
parent through a pipe, and the parent records it. The child so needs no connection of its
own (Ruby's child reconnects first), and a child that dies without a word is noticed by
the parent from its exit status.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import select
import signal
import struct
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..job import JobRegistry, Payload, PayloadError
from .signals import WORKER_SIGNALS

log = logging.getLogger("resque_compat.worker")
_HEADER = struct.Struct(">I")
_OWN_CODE = str(Path(__file__).resolve().parent.parent)


@dataclass(frozen=True)
class JobResult:
    """How a job ended. ``exception`` is the class name a failure record will carry."""

    ok: bool
    exception: str = ""
    error: str = ""
    backtrace: tuple[str, ...] = ()

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "ok": self.ok,
                "exception": self.exception,
                "error": self.error,
                "backtrace": list(self.backtrace),
            }
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> JobResult:
        document = json.loads(data)
        return cls(
            bool(document["ok"]),
            document["exception"],
            document["error"],
            tuple(document["backtrace"]),
        )


def failed(error: BaseException) -> JobResult:
    """A failed result. An exception without a message gets its class name as the message,
    as Ruby's do (resque-web shows the message, and an empty one says nothing)."""
    name = getattr(error, "ruby_name", None) or type(error).__qualname__
    return JobResult(False, name, str(error) or name, ruby_backtrace(error))


def ruby_backtrace(error: BaseException) -> tuple[str, ...]:
    """The job's own frames, innermost first, as ``path:line:in `function'`` like Ruby's.

    Frames of resque-compat itself are left out, as Ruby keeps only frames above job.rb.
    """
    frames = traceback.extract_tb(error.__traceback__)
    return tuple(
        f"{frame.filename}:{frame.lineno}:in `{frame.name}'"
        for frame in reversed(frames)
        if not frame.filename.startswith(_OWN_CODE)
    )


def read_payload(raw: bytes) -> Payload | PayloadError:
    """The payload, decoded once per job; a bad one is kept as its error, to be recorded."""
    try:
        return Payload.decode(raw)
    except PayloadError as error:
        return error


def class_name_of(payload: Payload | PayloadError) -> str:
    """For titles and logs: the payload's class, or Ruby's placeholder when it has none."""
    return payload.class_name if isinstance(payload, Payload) else "No Name"


def perform(payload: Payload | PayloadError | bytes, registry: JobRegistry) -> JobResult:
    """Look up and run one payload (raw or already read); any problem becomes a failed result."""
    if isinstance(payload, bytes):
        payload = read_payload(payload)
    try:
        if isinstance(payload, PayloadError):
            raise payload
        registry.lookup(payload.class_name).run(payload.args)
    except Exception as error:
        return failed(error)
    return JobResult(True)


def run_failure_hooks(
    payload: Payload | PayloadError, registry: JobRegistry, error: BaseException
) -> None:
    """The job's ``on_failure`` hooks, run by the worker for a job its child could not
    finish (Ruby's parent calls ``job.fail(DirtyExit)``, which runs them with the args).

    Nothing runs for a payload that is unreadable or names no registered job (Ruby's
    ``has_payload_class?``). A hook that raises is logged: Ruby's worker would die of it,
    losing the failure record and every job after this one.
    """
    if isinstance(payload, PayloadError):
        return
    spec = registry.get(payload.class_name)
    if spec is None:
        return
    try:
        spec.run_failure_hooks(error, payload.args)
    except Exception:
        log.exception("an on_failure hook of %s raised", payload.class_name)


class Child:
    """A forked child running one job, watched through a pidfd and a result pipe.

    The child sends its result as one length-prefixed message and then exits. The parent
    goes on as soon as the message is complete: tearing down a process's memory takes
    longer than a small job, and it happens on another core while the parent finishes the
    job and reserves the next. The exited child is reaped afterwards (``reap``).
    """

    def __init__(self, pid: int, result_fd: int, pidfd: int | None = None) -> None:
        self.pid = pid
        self.result_fd = result_fd
        if pidfd is None and hasattr(os, "pidfd_open"):
            pidfd = os.pidfd_open(pid)
        self.pidfd = pidfd
        self.output = bytearray()
        self.status: int | None = None

    @classmethod
    def start(cls, work: Callable[[], JobResult]) -> Child:
        read_fd, write_fd = os.pipe()
        pid = fork_holding_signals()
        if pid == 0:
            os.close(read_fd)
            _child_main(work, write_fd)
        os.close(write_fd)
        return cls(pid, read_fd)

    @property
    def reported(self) -> bool:
        if len(self.output) < _HEADER.size:
            return False
        length: int = _HEADER.unpack_from(self.output)[0]
        return len(self.output) >= _HEADER.size + length

    def wait(self, timeout: float, wakeup_fd: int) -> bool:
        """Wait up to ``timeout`` for the child's result or its end (or a signal).

        True once the child reported or ended.
        """
        watched = [self.result_fd, wakeup_fd]
        if self.pidfd is not None:
            watched.append(self.pidfd)
        else:
            timeout = min(timeout, 0.01)
        readable, _, _ = select.select(watched, [], [], timeout)
        if self.result_fd in readable:
            self._read_output()
        return self.reported or self.reap()

    def _read_output(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self.output.extend(os.read(self.result_fd, 65536))

    def reap(self, block: bool = False) -> bool:
        """Collect the exit status once the child has ended; True when it has."""
        if self.status is None:
            status = self._exit_status(block)
            if status is None:
                return False
            self.status = status
            if self.pidfd is not None:
                os.close(self.pidfd)
                self.pidfd = None
        return True

    def _exit_status(self, block: bool) -> int | None:
        """The wait status once the child has ended (before: None, or with ``block`` wait)."""
        pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        return None if pid == 0 else status

    def finish(self) -> JobResult | None:
        """What the child reported (None when it ended without a complete result)."""
        os.set_blocking(self.result_fd, False)
        while not self.reported:
            before = len(self.output)
            self._read_output()
            if len(self.output) == before:
                break
        os.close(self.result_fd)
        if not self.reported:
            return None
        try:
            return JobResult.from_json(bytes(self.output[_HEADER.size :]))
        except (ValueError, KeyError):
            return None

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def dirty_exit_message(self) -> str | None:
        """Ruby's DirtyExit message for a child killed by a signal, else None."""
        status = self.status or 0
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            return (
                f"Child process received unhandled signal pid {self.pid} "
                f"{signal.Signals(number).name} (signal {number})"
            )
        return None

    def exit_message(self) -> str:
        """Why a child that reported nothing is taken to have failed."""
        signalled = self.dirty_exit_message()
        if signalled is not None:
            return signalled
        return f"Child process exited with status {os.waitstatus_to_exitcode(self.status or 0)}"


class Standby:
    """A child forked ahead of its job, waiting for it on a pipe.

    Forking a Python process and getting the child going costs more than a small job, so
    the worker forks the next job's child while the current one works (on the other core).
    The child still gets exactly one job and exits after it, as with Ruby's fork per job.
    It exits at once if the worker closes the pipe without a job, or dies.
    """

    def __init__(self, pid: int, job_fd: int, result_fd: int) -> None:
        self.pid = pid
        self.job_fd = job_fd
        self.result_fd = result_fd

    @classmethod
    def start(cls, work: Callable[[bytes], JobResult], on_start: Callable[[], None]) -> Standby:
        job_read, job_write = os.pipe()
        result_read, result_write = os.pipe()
        pid = fork_holding_signals()
        if pid == 0:
            os.close(job_write)
            os.close(result_read)
            on_start()
            message = _read_message(job_read)
            if message is None:
                os._exit(0)
            _child_main(lambda: work(message), result_write)
        os.close(job_read)
        os.close(result_write)
        return cls(pid, job_write, result_read)

    def hand(self, message: bytes) -> Child | None:
        """Give the child its job; None if it is gone (the caller forks a fresh one)."""
        try:
            _write_all(self.job_fd, _HEADER.pack(len(message)) + message)
        except BrokenPipeError:
            self.discard()
            return None
        os.close(self.job_fd)
        return self.child()

    def child(self) -> Child:
        """The child, now running its job."""
        return Child(self.pid, self.result_fd)

    def discard(self) -> None:
        """Let the child go without a job: it sees the pipe close and exits."""
        with contextlib.suppress(OSError):
            os.close(self.job_fd)
        os.close(self.result_fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def pack_job(queue: str, raw: bytes) -> bytes:
    """A job as handed to a standby child: queue length, queue, payload bytes."""
    name = queue.encode("utf-8", "surrogateescape")
    return _HEADER.pack(len(name)) + name + raw


def unpack_job(message: bytes) -> tuple[str, bytes]:
    length: int = _HEADER.unpack_from(message)[0]
    name = message[_HEADER.size : _HEADER.size + length]
    return name.decode("utf-8", "surrogateescape"), message[_HEADER.size + length :]


def _read_message(fd: int) -> bytes | None:
    """One length-prefixed message from ``fd``; None when the writer closed it first."""
    data = bytearray()
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return None
        data.extend(chunk)
        if len(data) >= _HEADER.size:
            length: int = _HEADER.unpack_from(data)[0]
            if len(data) >= _HEADER.size + length:
                return bytes(data[_HEADER.size : _HEADER.size + length])


def fork_holding_signals() -> int:
    """``os.fork``, with the worker's signals blocked in the child (pending, not lost) until
    it calls :func:`release_held_signals`; the worker's own mask is back as it was at once.

    Until its own handlers are in place a new child has the worker's, which only note a
    signal for a loop the child never runs: a TERM sent to stop the job would be lost and
    the job killed after the term timeout instead."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, WORKER_SIGNALS)
    pid = os.fork()
    if pid != 0:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return pid


def release_held_signals() -> None:
    """In a child whose handlers are in place: deliver what arrived meanwhile (a pending TERM
    raises the job's ``TermException`` here, inside the job's run)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, WORKER_SIGNALS)


def _child_main(work: Callable[[], JobResult], write_fd: int) -> None:
    """The whole life of the child: reseed, perform, report, leave without cleanup."""
    code = 0
    try:
        random.seed()
        try:
            result = work()
        except BaseException as error:
            result = failed(error)
        message = result.to_json()
        _write_all(write_fd, _HEADER.pack(len(message)) + message)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
