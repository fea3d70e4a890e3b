"""The fork server: a process that forks each job's child, so that the worker never forks.

After a fork, every page the forking process writes is first copied (copy-on-write), for as
long as a child shares it. The worker writes about a thousand pages per job (reserving,
recording, finishing: Python touches every object it uses), and with a child always alive
each of them was copied again after every fork: measured, about 940 page faults and 2 ms of
CPU per job in the worker, more than the job and Ruby's whole fork. This process is forked
once, from the worker as it is when its first job is done (jobs loaded, ``before_first_fork``
run, the collector frozen), and then only waits, touching a few pages per fork.

Each child it forks is a :class:`~.runner.Standby` child (see there), handed to the worker
with its two pipes (``SCM_RIGHTS``): the worker gives it its job, reads its result and
signals it exactly as one it forked itself. Only the exit status comes through here, from
the child's real parent. The server ignores the worker's signals (the worker decides), and
exits when the worker closes its end or dies.

Messages on a ``SOCK_SEQPACKET`` pair (one message each):

- worker to server: ``F`` + JSON list of queues, fork a standby child whose title waits on them;
- server to worker: ``R`` + pid, with the child's job pipe (write end) and result pipe (read
  end); ``X`` + pid + wait status, when a child it forked has ended.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import struct
from collections.abc import Callable, Sequence
from typing import NoReturn

from . import runner
from .signals import WORKER_SIGNALS

_PID = struct.Struct(">i")
_EXIT = struct.Struct(">ii")

StandbyStart = Callable[[Sequence[str]], None]
"""What a standby child does first, given the queues its title shows as waited on."""
Work = Callable[[bytes], runner.JobResult]
"""What a standby child does with the job it is handed."""
_TITLE_QUEUES = 4000
"""Bytes of queue names sent for a standby's title (the system cuts titles shorter)."""


class ForkServer:
    """The worker's end: ask for standby children, take them, learn how they ended."""

    def __init__(self, pid: int, sock: socket.socket) -> None:
        self.pid = pid
        self.sock = sock
        self.requested = 0
        self.ready: list[tuple[int, list[int]]] = []
        self.statuses: dict[int, int] = {}
        self.forgotten: set[int] = set()
        self.closed = False

    @classmethod
    def start(cls, work: Work, on_start: StandbyStart, title: str) -> ForkServer:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = runner.fork_holding_signals()
        if pid == 0:
            ours.close()
            _serve(theirs, work, on_start, title)
        theirs.close()
        return cls(pid, ours)

    def request(self, waiting_for: Sequence[str]) -> None:
        """Ask for the next standby child, unless one is on its way already."""
        if self.requested == 0:
            shown = json.dumps(list(waiting_for)).encode()
            while len(shown) > _TITLE_QUEUES and waiting_for:
                waiting_for = waiting_for[: len(waiting_for) // 2]
                shown = json.dumps(list(waiting_for)).encode()
            self.sock.send(b"F" + shown)
            self.requested += 1

    def take(self) -> ServedStandby | None:
        """The standby child asked for (waiting for it), or None if none was asked for or
        it could not be watched (it died before its job: the caller forks one itself)."""
        while self.requested and not self.ready:
            self._receive()
        if not self.ready:
            return None
        self.requested -= 1
        pid, (job_fd, result_fd) = self.ready.pop(0)
        try:
            pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
        except ProcessLookupError:
            os.close(job_fd)
            os.close(result_fd)
            self.forget(pid)
            return None
        return ServedStandby(pid, job_fd, result_fd, pidfd, self)

    def exit_status(self, pid: int, block: bool) -> int | None:
        """How child ``pid`` ended, once the server has said; with ``block``, waits for it."""
        self._drain()
        while block and pid not in self.statuses:
            self._receive()
        return self.statuses.pop(pid, None)

    def forget(self, pid: int) -> None:
        """Nobody will ask how ``pid`` ended (a standby let go)."""
        if self.statuses.pop(pid, None) is None:
            self.forgotten.add(pid)

    def close(self) -> None:
        """Let the server go (it exits on seeing this end closed) and reap it."""
        self.closed = True
        self.sock.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)

    def _drain(self) -> None:
        if self.closed:
            raise ConnectionError("the fork server was let go")
        while select.select([self.sock], [], [], 0)[0]:
            self._receive()

    def _receive(self) -> None:
        """One message: a standby ready (kept for ``take``) or a child's end."""
        message, fds, _flags, _address = socket.recv_fds(self.sock, 64, 2)
        if not message:
            raise ConnectionError("the fork server has gone")
        if message[:1] == b"R":
            self.ready.append((_PID.unpack_from(message, 1)[0], fds))
            return
        pid, status = _EXIT.unpack_from(message, 1)
        if pid in self.forgotten:
            self.forgotten.discard(pid)
        else:
            self.statuses[pid] = status


class ServedChild(runner.Child):
    """A child the fork server forked: watched as any child, its status asked of the server."""

    def __init__(self, pid: int, result_fd: int, pidfd: int | None, server: ForkServer) -> None:
        super().__init__(pid, result_fd, pidfd)
        self.server = server

    def _exit_status(self, block: bool) -> int | None:
        ended = self._ended(timeout=0)
        try:
            return self.server.exit_status(self.pid, block or ended)
        except OSError:
            return self._status_without_server(block or ended)

    def _ended(self, timeout: float | None) -> bool:
        return self.pidfd is None or bool(select.select([self.pidfd], [], [], timeout)[0])

    def _status_without_server(self, block: bool) -> int | None:
        """The server died (killed, say): the child went to init, which alone learns how it
        ended. Once it has ended, it is taken to have exited with status 0; a child that
        ended without reporting is still a DirtyExit."""
        if block or self._ended(timeout=0):
            self._ended(timeout=None)
            return 0
        return None


class ServedStandby(runner.Standby):
    def __init__(
        self, pid: int, job_fd: int, result_fd: int, pidfd: int | None, server: ForkServer
    ) -> None:
        super().__init__(pid, job_fd, result_fd)
        self.pidfd = pidfd
        self.server = server

    def child(self) -> runner.Child:
        return ServedChild(self.pid, self.result_fd, self.pidfd, self.server)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.job_fd)
        os.close(self.result_fd)
        if self.pidfd is not None:
            os.close(self.pidfd)
        self.server.forget(self.pid)


def _serve(sock: socket.socket, work: Work, on_start: StandbyStart, title: str) -> NoReturn:
    """The server's whole life: fork standby children on request, report how they end;
    once the worker has gone, wait for the children still running, then leave."""
    code = 0
    try:
        _become_server(title)
        children: dict[int, int] = {}
        while True:
            readable, _, _ = select.select([sock.fileno(), *children], [], [])
            for pidfd in (fd for fd in readable if fd in children):
                _report_exit(sock, children.pop(pidfd), pidfd)
            if sock.fileno() in readable and not _fork_requested(sock, work, on_start, children):
                break
        for pid in children.values():
            os.waitpid(pid, 0)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _become_server(title: str) -> None:
    import setproctitle

    signal.set_wakeup_fd(-1)
    for signum in WORKER_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    runner.release_held_signals()
    setproctitle.setproctitle(title)


def _report_exit(sock: socket.socket, pid: int, pidfd: int) -> None:
    os.close(pidfd)
    _, status = os.waitpid(pid, 0)
    sock.send(b"X" + _EXIT.pack(pid, status))


def _fork_requested(
    sock: socket.socket, work: Work, on_start: StandbyStart, children: dict[int, int]
) -> bool:
    """Fork the standby asked for and send it over; False when the worker has gone."""
    message = sock.recv(65536)
    if not message:
        return False
    waiting_for = json.loads(message[1:])

    def started() -> None:
        sock.close()
        on_start(waiting_for)

    standby = runner.Standby.start(work, started)
    children[os.pidfd_open(standby.pid)] = standby.pid
    socket.send_fds(sock, [b"R" + _PID.pack(standby.pid)], [standby.job_fd, standby.result_fd])
    os.close(standby.job_fd)
    os.close(standby.result_fd)
    return True
