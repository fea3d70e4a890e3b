"""Operations as plans of round trips, run by a sync or an asyncio driver.

Every Redis interaction of the library is written once, as a generator that yields
``Batch`` objects (the commands of one round trip, sent as a non-transactional pipeline,
exactly as Ruby's ``redis.pipelined`` sends them) and receives their replies. The same
operation then runs on a blocking client (workers, CLI) and on an asyncio client (web
apps) without a second copy, and a test can read an operation's commands without Redis.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib.resources import files
from typing import Any, Generic, TypeVar

import redis
import redis.asyncio
from redis.exceptions import NoScriptError, ResponseError

from ..errors import CannotPersist, OutOfMemory, ReadOnlyReplica, WritesRefused


def _hiredis_packer() -> Callable[[Command], bytes] | None:
    """hiredis's command packer, when the optional "fast" extra is installed."""
    try:
        hiredis = importlib.import_module("hiredis")
    except ImportError:
        return None
    packer: Callable[[Command], bytes] = hiredis.pack_command
    return packer


_hiredis_pack = _hiredis_packer()

T = TypeVar("T")
Arg = bytes | str | int | float
Command = tuple[Arg, ...]


def _replies_as_is(replies: list[Any]) -> list[Any]:
    return replies


@dataclass(frozen=True)
class Batch(Generic[T]):
    """The commands of one round trip, and how their replies become a value."""

    commands: tuple[Command, ...]
    read: Callable[[list[Any]], T]
    script: Script | None = None


def batch(*commands: Command) -> Batch[list[Any]]:
    """A round trip whose replies are wanted as they come."""
    return Batch(tuple(commands), _replies_as_is)


def one(command: Command) -> Batch[Any]:
    """A round trip of a single command, whose reply is wanted alone."""
    return Batch((command,), lambda replies: replies[0])


Operation = Generator[Batch[Any], Any, T]


@dataclass(frozen=True)
class Script:
    """A Lua script, sent by SHA; the driver loads it when Redis does not know it yet.

    A script call is always the only command of its batch, so a NOSCRIPT reply (after a
    Redis restart, say) is answered by loading the script and sending the batch again,
    without running any other command twice.
    """

    source: str

    @cached_property
    def sha(self) -> str:
        return hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest()

    def call(self, keys: Sequence[str | bytes], args: Sequence[Arg]) -> Batch[Any]:
        command: Command = ("EVALSHA", self.sha, len(keys), *keys, *args)
        return Batch((command,), lambda replies: replies[0], self)


def lua_source(name: str) -> str:
    """A script of ``store/scripts/``, read once when the module defining it is imported:
    kept as ``.lua`` files so that they read, diff and lint as Lua."""
    return (files(__package__) / "scripts" / f"{name}.lua").read_text(encoding="utf-8")


def _script_to_load(batch_: Batch[Any], error: NoScriptError) -> str:
    if batch_.script is None:
        raise error
    return batch_.script.source


class SyncDriver:
    """Runs operations on a blocking redis-py client.

    A round trip goes straight through redis-py's connection layer (a pooled connection,
    or with ``dedicated=True``, for a driver used by one thread like the worker's, one of its
    own): all commands in one write, then every reply, with redis-py's reply parsing. That is
    what a non-transactional pipeline sends, without the client's per-command bookkeeping
    (command events, metrics, pipeline objects), which cost more CPU than the rest of a job.
    A connection error is not retried here: a producer gets it at once (an RPUSH retried
    blindly could enqueue a job twice); the worker retries what is safe to retry.

    A shared driver (a producer's) keeps the last connection it used instead of giving it
    back to the pool after every round trip: taking one from redis-py's pool (its lock, pid
    check, events and health check) cost a producer a fifth of its time per enqueue. A kept
    connection is checked the way the pool checks one (nothing unread, not closed by the
    server), is never used by a forked child, and goes back to the pool on ``close``.
    """

    def __init__(self, client: redis.Redis, dedicated: bool = False) -> None:
        self.client = client
        self._connection: Any = client.connection_pool.make_connection() if dedicated else None
        self._kept: list[Any] = []
        self._pid = os.getpid()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.disconnect()
        while self._kept and self._pid == os.getpid():
            self.client.connection_pool.release(self._kept.pop())

    def run(self, operation: Operation[T]) -> T:
        sent = 0
        try:
            batch_ = next(operation)
            while True:
                replies = _counted(self.send, batch_, sent)
                sent += _writes(batch_)
                batch_ = operation.send(batch_.read(replies))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def send(self, batch_: Batch[Any]) -> list[Any]:
        try:
            return self._send_packable(batch_.commands)
        except NoScriptError as error:
            self.client.execute_command("SCRIPT", "LOAD", _script_to_load(batch_, error))
            return self._send_packable(batch_.commands)

    def _send_packable(self, commands: tuple[Command, ...]) -> list[Any]:
        try:
            return self._send(commands)
        except UnicodeEncodeError:  # raised while packing: nothing was sent
            return self._send(_as_bytes(commands))

    def _send(self, commands: tuple[Command, ...]) -> list[Any]:
        callbacks = self.client.response_callbacks
        if self._connection is not None:
            if self._connection._sock is None:
                # connect() is where a Sentinel-managed connection asks for the current
                # master; redis-py's send path alone would reconnect to the last address.
                self._connection.connect()
            return _exchange(self._connection, commands, callbacks)
        connection = self._take()
        try:
            replies = _exchange(connection, commands, callbacks)
        except BaseException:
            self.client.connection_pool.release(connection)
            raise
        if self._kept:
            self.client.connection_pool.release(connection)
        else:
            self._kept.append(connection)
        return replies

    def _take(self) -> Any:
        """The kept connection if it is still good, else one from the pool."""
        if self._pid != os.getpid():  # a forked child: the kept socket is the parent's
            self._kept, self._pid = [], os.getpid()
        try:
            connection = self._kept.pop()
        except IndexError:
            return self.client.connection_pool.get_connection()
        try:
            if not connection.can_read():
                return connection
        except (ConnectionError, OSError, redis.ConnectionError):
            pass
        self.client.connection_pool.release(connection)  # unread data or closed: start afresh
        return self.client.connection_pool.get_connection()


def _exchange(connection: Any, commands: tuple[Command, ...], callbacks: Any) -> list[Any]:
    """One round trip on ``connection``; the first error reply is raised after all are read."""
    try:
        connection.send_packed_command(_pack(connection, commands))
        replies = [_read_reply(connection) for _ in commands]
    except BaseException:
        connection.disconnect()  # replies may be pending: the next use starts afresh
        raise
    _raise_first_error(commands, replies)
    return [
        _parsed(callbacks, command, reply) for command, reply in zip(commands, replies, strict=True)
    ]


def _pack(connection: Any, commands: tuple[Command, ...]) -> Any:
    """The round trip's bytes. With hiredis, its packer is called directly: redis-py's
    wrapper around it re-checks and re-encodes every argument first, a sixth of a producer's
    time per enqueue. Both write str as UTF-8 and numbers as ``repr`` does; a str that is
    not UTF-8-encodable raises ``UnicodeEncodeError`` in both (before anything is sent)."""
    if _hiredis_pack is None:
        return connection.pack_commands(commands)
    return [b"".join([_hiredis_pack(command) for command in commands])]


def _read_reply(connection: Any) -> Any:
    try:
        return connection.read_response()
    except ResponseError as error:
        return error


def _parsed(callbacks: Any, command: Command, reply: Any) -> Any:
    """The reply as redis-py's client would return it (``TIME`` as a tuple, ``HGETALL`` as a
    dict...)."""
    callback = callbacks.get(command[0])
    return reply if callback is None else callback(reply)


class AsyncDriver:
    """Runs the same operations on an asyncio redis-py client."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client

    async def run(self, operation: Operation[T]) -> T:
        sent = 0
        try:
            batch_ = next(operation)
            while True:
                try:
                    replies = await self.send(batch_)
                except WritesRefused as error:
                    raise error.after(sent) from error.__cause__
                sent += _writes(batch_)
                batch_ = operation.send(batch_.read(replies))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def send(self, batch_: Batch[Any]) -> list[Any]:
        try:
            return await self._send_packable(batch_.commands)
        except NoScriptError as error:
            source = _script_to_load(batch_, error)
            await self.client.execute_command("SCRIPT", "LOAD", source)
            return await self._send_packable(batch_.commands)

    async def _send_packable(self, commands: tuple[Command, ...]) -> list[Any]:
        try:
            return await self._send(commands)
        except UnicodeEncodeError:  # raised while packing: nothing was sent
            return await self._send(_as_bytes(commands))

    async def _send(self, commands: tuple[Command, ...]) -> list[Any]:
        if len(commands) == 1:
            try:
                return [await self.client.execute_command(*commands[0])]
            except ResponseError as error:
                _raise_first_error(commands, [error])
                raise
        async with self.client.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        _raise_first_error(commands, replies)
        return replies


def _as_bytes(commands: tuple[Command, ...]) -> tuple[Command, ...]:
    """Text arguments as bytes, keeping undecodable bytes that were read (surrogateescape):
    a worker id that is not UTF-8, say, must be written back exactly as it was read."""
    return tuple((command[0], *(_arg_bytes(arg) for arg in command[1:])) for command in commands)


def _arg_bytes(arg: Arg) -> Arg:
    return arg.encode("utf-8", "surrogateescape") if isinstance(arg, str) else arg


def refuses_writes(error: BaseException) -> bool:
    """Whether Redis is up but refusing writes: at ``maxmemory`` with ``noeviction`` (OOM),
    a replica (READONLY, as a client may briefly see after a failover), or unable to persist
    (MISCONF). Such a write had no effect and can be sent again once Redis accepts writes."""
    return _refusal_class(error) is not None


def as_refusal(error: BaseException) -> WritesRefused | None:
    """``error`` as a :class:`WritesRefused` when it is a refused write (one raised by
    redis-py itself, by a pubsub or a blocking wait, converted), else None."""
    if isinstance(error, WritesRefused):
        return error
    refusal = _refusal_class(error)
    if refusal is None or not isinstance(error, ResponseError):
        return None
    return refusal(_redis_words(error))


def _refusal_class(error: BaseException) -> type[WritesRefused] | None:
    if isinstance(error, WritesRefused):
        return type(error)
    if isinstance(error, redis.exceptions.OutOfMemoryError):
        return OutOfMemory
    if isinstance(error, redis.exceptions.ReadOnlyError):
        return ReadOnlyReplica
    if isinstance(error, ResponseError) and str(error).startswith("MISCONF "):
        return CannotPersist
    return None


def _redis_words(error: ResponseError) -> str:
    """The error as Redis sent it: redis-py drops the ``OOM``/``READONLY`` code it turns
    into a class, and an operator searching for the message needs it back."""
    words = str(error)
    code = {OutOfMemory: "OOM", ReadOnlyReplica: "READONLY"}.get(
        _refusal_class(error) or WritesRefused
    )
    return f"{code} {words}" if code and not words.startswith(code) else words


_NO_WRITE = frozenset(
    [
        "PUBLISH",
        "TIME",
        "PING",
        "GET",
        "MGET",
        "HGET",
        "HMGET",
        "HGETALL",
        "HLEN",
        "HEXISTS",
        "LLEN",
        "LRANGE",
        "LINDEX",
        "SMEMBERS",
        "SCARD",
        "SISMEMBER",
        "ZCARD",
        "ZRANGE",
        "ZRANGEBYSCORE",
        "ZSCORE",
        "EXISTS",
        "TTL",
        "PTTL",
        "TYPE",
        "KEYS",
        "SCAN",
        "WAIT",
    ]
)
"""Commands that change no key: one that goes through beside a refused write is no write."""


def _raise_first_error(commands: Sequence[Command], replies: Sequence[Any]) -> None:
    """Raise the first error reply of a round trip; a refused write as :class:`WritesRefused`
    naming the commands of the round trip that went through (a pipeline is not a
    transaction: Redis decides each command alone, as it does for Ruby's)."""
    errors = [reply for reply in replies if isinstance(reply, ResponseError)]
    if not errors:
        return
    first = errors[0]
    refusal = _refusal_class(first)
    if refusal is None or isinstance(first, WritesRefused):
        raise first
    through = tuple(
        name
        for command, reply in zip(commands, replies, strict=True)
        if not isinstance(reply, ResponseError) and (name := _name(command[0])) not in _NO_WRITE
    )
    raise refusal(_redis_words(first), through) from first


def _writes(batch_: Batch[Any]) -> int:
    """1 when a round trip may have written (for a refusal's account of what went before)."""
    return int(any(_name(command[0]) not in _NO_WRITE for command in batch_.commands))


def _counted(send: Callable[[Batch[Any]], list[Any]], batch_: Batch[Any], sent: int) -> list[Any]:
    """``send(batch_)``, a refusal saying how many round trips with writes went before it."""
    try:
        return send(batch_)
    except WritesRefused as error:
        raise error.after(sent) from error.__cause__


def _name(command: Arg) -> str:
    return (command.decode() if isinstance(command, bytes) else str(command)).upper()


def server_time() -> Operation[float]:
    """Redis ``TIME`` in seconds: heartbeats are written, and so aged, in the server's clock."""
    seconds, micros = yield one(("TIME",))
    return int(seconds) + int(micros) / 1_000_000


def text(value: bytes | str | None) -> str | None:
    """A reply as str: Redis strings are UTF-8 on both sides, bad bytes kept as escapes."""
    if value is None or isinstance(value, str):
        return value
    return value.decode("utf-8", "surrogateescape")


def texts(values: Any) -> list[str]:
    return [text(value) or "" for value in values]


def as_int(value: bytes | str | int | None) -> int:
    """A counter as Ruby's ``to_i`` reads it: missing is 0."""
    if value is None or value == b"" or value == "":
        return 0
    return int(value)
