"""Redis behind Sentinel: redis-rb's ``sentinels:``/``name:`` options, as one URL.

A Resque deployment that needs high availability runs Redis with Sentinel; Ruby points
redis-rb at it with ``Redis.new(url: "redis://mymaster", sentinels: [...], role: :master)``.
The same thing is written here as one URL, so every entry point that takes a Redis URL (the
worker, the producer, the CLI, the asyncio producer) takes it unchanged::

    redis+sentinel://[[user]:password@]host1:26379,host2:26380/mymaster[/db][?options]

(``rediss+sentinel://`` for TLS to the master). The password is the master's; options are
``sentinel_password``, ``sentinel_username`` (credentials of the Sentinels themselves, as
redis-rb's per-sentinel ``password:``) and ``min_other_sentinels``. Discovery, failover
detection and reconnecting to the new master are redis-py's own :class:`redis.sentinel.Sentinel`
and :mod:`redis.asyncio.sentinel`: nothing here asks a Sentinel anything by hand.

redis-py alone asks the Sentinels again only when a connection breaks or meets ``READONLY``.
After a ``SENTINEL FAILOVER`` the old master stays a writable master for about ten seconds
(until Sentinel's next look at it demotes it), so connected clients would go on writing there,
and what they write is dropped. So each client also listens to ``+switch-master`` on every
Sentinel (:class:`MasterSwitch`, a daemon thread per Sentinel): on a switch of its master every
connection it made is dropped, and the next command finds the new master through redis-py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import redis
import redis.asyncio
import redis.asyncio.sentinel
import redis.sentinel

from .errors import ConfigurationError

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
DEFAULT_SENTINEL_PORT = 26379
_OPTIONS = frozenset({"sentinel_password", "sentinel_username", "min_other_sentinels"})
_FORM = "redis+sentinel://[[user]:password@]host:port[,host:port...]/service_name[/db]"
SWITCH_CHANNEL = "+switch-master"
PROMOTING_CHANNEL = "+failover-state-send-slaveof-noone"
ABORT_PATTERN = "-failover-abort-*"
HOLD_SECONDS = 5.0
"""The longest a failover holds commands back (when its end is never heard)."""
_LONGEST_DELAY = 5.0
log = logging.getLogger("resque_compat.sentinel")


def is_sentinel_url(location: str) -> bool:
    """Whether ``location`` names a master through Sentinels (``redis+sentinel://``)."""
    scheme, sep, _rest = location.partition("://")
    return bool(sep) and scheme.lower() in SENTINEL_SCHEMES


@dataclass(frozen=True)
class SentinelSettings:
    """The Sentinels, the master's service name and how to talk to the master once found."""

    sentinels: tuple[tuple[str, int], ...]
    service_name: str
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl: bool = False
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)
    min_other_sentinels: int = 0

    @classmethod
    def from_url(cls, url: str) -> SentinelSettings:
        """Parse the documented ``redis+sentinel://`` form; anything else is a clear error."""
        parts = urlsplit(url)
        if not is_sentinel_url(url):
            raise ConfigurationError(f"not a Sentinel URL (expected {_FORM})")
        hosts = parts.netloc.rpartition("@")[2]
        path = [p for p in parts.path.split("/") if p]
        if not hosts or not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
            raise ConfigurationError(f"cannot parse Sentinel URL {redact_sentinel(url)!r}: {_FORM}")
        options = _options(parts.query)
        return cls(
            sentinels=tuple(_address(item) for item in hosts.split(",")),
            service_name=unquote(path[0]),
            db=int(path[1]) if len(path) == 2 else 0,
            username=_credential(parts.netloc, 0),
            password=_credential(parts.netloc, 1),
            ssl=parts.scheme.lower() == "rediss+sentinel",
            sentinel_username=options.get("sentinel_username"),
            sentinel_password=options.get("sentinel_password"),
            min_other_sentinels=int(options.get("min_other_sentinels", "0")),
        )

    @property
    def display_url(self) -> str:
        """The URL with every password as ``***``, for logs and ``Resque.info["servers"]``."""
        scheme = "rediss+sentinel" if self.ssl else "redis+sentinel"
        auth = ""
        if self.username or self.password:
            auth = f"{quote(self.username or '', safe='')}{':***' if self.password else ''}@"
        hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"{scheme}://{auth}{hosts}/{quote(self.service_name, safe='')}/{self.db}"

    def _sentinel_kwargs(self, options: dict[str, Any]) -> dict[str, Any]:
        kwargs = {k: v for k, v in options.items() if k.startswith("socket_")}
        if self.sentinel_password is not None:
            kwargs.update(username=self.sentinel_username, password=self.sentinel_password)
        return kwargs

    def _master_kwargs(self, options: dict[str, Any]) -> dict[str, Any]:
        master = {**options, "db": self.db, "username": self.username, "password": self.password}
        if self.ssl:
            master["ssl"] = True
        return master

    def client(self, options: dict[str, Any]) -> redis.Redis:
        """A client of the current master, following a switch as soon as a Sentinel
        announces it (:class:`MasterSwitch`); redis-py finds the new master."""
        sentinel = redis.sentinel.Sentinel(
            self.sentinels,
            min_other_sentinels=self.min_other_sentinels,
            sentinel_kwargs=self._sentinel_kwargs(options),
        )
        switch = MasterSwitch(self.service_name, list(sentinel.sentinels))
        master: _MasterClient = sentinel.master_for(
            self.service_name,
            redis_class=_MasterClient,
            connection_class=_SSLSwitchedConnection if self.ssl else _SwitchedConnection,
            master_switch=switch,
            **self._master_kwargs(options),
        )
        master.master_switch = switch
        return master

    def async_client(self, options: dict[str, Any]) -> redis.asyncio.Redis:
        """The asyncio twin of :meth:`client` (``redis.asyncio.sentinel``); the switch is
        watched by the same threads, connections check it before each command."""
        sentinel = redis.asyncio.sentinel.Sentinel(
            self.sentinels,
            min_other_sentinels=self.min_other_sentinels,
            sentinel_kwargs=self._sentinel_kwargs(options),
        )
        watched = redis.sentinel.Sentinel(
            self.sentinels, sentinel_kwargs=self._sentinel_kwargs(options)
        )
        switch = MasterSwitch(self.service_name, list(watched.sentinels))
        connection_class = _AsyncSSLSwitchedConnection if self.ssl else _AsyncSwitchedConnection
        master: _AsyncMasterClient = sentinel.master_for(
            self.service_name,
            redis_class=_AsyncMasterClient,
            connection_class=connection_class,
            master_switch=switch,
            **self._master_kwargs(options),
        )
        master.master_switch = switch
        return master


class MasterSwitch:
    """Which master a client's connections were made for, told by the Sentinels.

    One daemon thread per Sentinel subscribes to ``+switch-master`` (reconnecting with
    backoff when a Sentinel is away: any one of them is enough to hear a switch). When one
    names our master at a new address, :attr:`epoch` goes up and every connected socket of
    the client is shut down: a command blocked on the old master (an idle worker's
    ``BLMOVE``, a subscription) fails at once and its owner reconnects; an idle connection
    sees the new epoch before its next command and reconnects first. Sockets are only shut
    down here, never closed: the thread that owns a connection closes it.

    ``+switch-master`` comes about a second after the replica was promoted (when Sentinel's
    next ``INFO`` sees it): what the client wrote to the old master meanwhile would be lost
    or (a reservation) run twice. So commands are also held back from the moment the leading
    Sentinel announces it is about to promote (``+failover-state-send-slaveof-noone``) until
    the switch, an abort (``-failover-abort-*``), or :data:`HOLD_SECONDS`: the same pause a
    planned failover makes with ``CLIENT PAUSE``, on the client side.

    Threads do not survive ``fork``: a job's child has no watcher, and needs none.
    """

    def __init__(self, service_name: str, sentinels: list[redis.Redis]) -> None:
        self.service_name = service_name
        self.epoch = 0
        self.address: tuple[str, int] | None = None
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._open = threading.Event()
        self._open.set()
        self._hold_until = 0.0
        for sentinel in sentinels:
            name = f"resque-sentinel-watch-{sentinel.get_connection_kwargs().get('port')}"
            threading.Thread(target=self._watch, args=(sentinel,), name=name, daemon=True).start()

    def register(self, connection: Any) -> None:
        with self._lock:
            self._connections.add(connection)

    def stop(self) -> None:
        self._stop.set()

    def _watch(self, sentinel: redis.Redis) -> None:
        delay = 0.1
        while not self._stop.is_set():
            pubsub = sentinel.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(SWITCH_CHANNEL, PROMOTING_CHANNEL)
                pubsub.psubscribe(ABORT_PATTERN)
                delay = 0.1
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self.heard(_text(message["channel"]), _text(message["data"]))
            except (redis.RedisError, OSError):
                self._stop.wait(delay)
                delay = min(delay * 2, _LONGEST_DELAY)
            finally:
                pubsub.close()

    def heard(self, channel: str, data: str) -> None:
        """Sentinel's events name a master as ``<name> <ip> <port>`` (``+switch-master``, then
        the new ip and port), after ``master`` or after ``@`` for a replica's events."""
        words = data.split()
        if channel == SWITCH_CHANNEL:
            if len(words) == 5 and words[0] == self.service_name and words[4].isdigit():
                self.switched((words[3], int(words[4])))
        elif self.service_name in words[1:2] + words[5:6]:
            if channel == PROMOTING_CHANNEL:
                self.hold()
            else:
                self.release()

    def hold(self) -> None:
        """A promotion is about to happen: commands wait for the new master."""
        self._hold_until = time.monotonic() + HOLD_SECONDS
        self._open.clear()
        log.warning(
            "Sentinel: failing %s over; commands wait for the new master", self.service_name
        )

    def release(self) -> None:
        self._open.set()

    @property
    def holding(self) -> bool:
        return not self._open.is_set() and time.monotonic() < self._hold_until

    def wait_open(self) -> None:
        """Block while a failover holds commands back (at most until its deadline)."""
        if not self._open.is_set():
            self._open.wait(max(0.0, self._hold_until - time.monotonic()))

    def switched(self, address: tuple[str, int]) -> None:
        """Our master is now at ``address`` (each Sentinel says so: the first one acts)."""
        with self._lock:
            if address == self.address:
                self.release()
                return
            self.address = address
            self.epoch += 1
            connections = list(self._connections)
        log.warning("Sentinel: master %s is now %s:%s", self.service_name, *address)
        for connection in connections:
            _shut_down(getattr(connection, "_sock", None))
        self.release()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _shut_down(sock: socket.socket | None) -> None:
    """Wake whatever waits on ``sock``; its owner sees the error and reconnects."""
    if sock is not None:
        with contextlib.suppress(OSError):  # closed meanwhile by its owner
            sock.shutdown(socket.SHUT_RDWR)


class _SwitchedConnection(redis.sentinel.SentinelManagedConnection):
    """A master connection that reconnects (through the Sentinels) after a switch."""

    def __init__(self, *, master_switch: MasterSwitch, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self.master_switch = master_switch
        self.epoch = master_switch.epoch
        master_switch.register(self)

    def _drop_if_stale(self) -> None:
        if self._sock is not None and self.epoch != self.master_switch.epoch:
            self.disconnect()

    def connect(self) -> None:
        self._drop_if_stale()
        # Set first: connecting sends commands (AUTH, SELECT) that must not see it stale.
        self.epoch = self.master_switch.epoch
        super().connect()  # type: ignore[no-untyped-call]

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        """Sent to the current master: redis-py's own send path would reconnect a dropped
        connection to the last address, not ask the Sentinels."""
        self.master_switch.wait_open()
        self._drop_if_stale()
        if self._sock is None:
            self.connect()
        super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]


class _SSLSwitchedConnection(_SwitchedConnection, redis.connection.SSLConnection):
    pass


class _AsyncSwitchedConnection(redis.asyncio.sentinel.SentinelManagedConnection):
    """The asyncio twin of :class:`_SwitchedConnection`, without the wake-up (an asyncio
    producer blocks on nothing): a stale connection reconnects before its next command."""

    def __init__(self, *, master_switch: MasterSwitch, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self.master_switch = master_switch
        self.epoch = master_switch.epoch

    async def _drop_if_stale(self) -> None:
        if self.is_connected and self.epoch != self.master_switch.epoch:
            await self.disconnect()

    async def connect(self) -> None:
        await self._drop_if_stale()
        self.epoch = self.master_switch.epoch
        await super().connect()  # type: ignore[no-untyped-call]

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        while self.master_switch.holding:
            await asyncio.sleep(0.01)
        await self._drop_if_stale()
        if not self.is_connected:
            await self.connect()
        await super().send_packed_command(command, check_health)


class _AsyncSSLSwitchedConnection(_AsyncSwitchedConnection, redis.asyncio.connection.SSLConnection):
    pass


class _MasterClient(redis.Redis):
    """The master's client, closing the Sentinel clients it found the master with too."""

    master_switch: MasterSwitch | None = None

    def close(self) -> None:
        if self.master_switch is not None:
            self.master_switch.stop()
        super().close()
        for sentinel in _sentinel_clients(self.connection_pool):
            sentinel.close()


class _AsyncMasterClient(redis.asyncio.Redis):
    """The asyncio twin of :class:`_MasterClient`."""

    master_switch: MasterSwitch | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        if self.master_switch is not None:
            self.master_switch.stop()
        await super().aclose(close_connection_pool)
        for sentinel in _sentinel_clients(self.connection_pool):
            await sentinel.aclose()


def _sentinel_clients(pool: Any) -> list[Any]:
    """The clients of the Sentinels behind a Sentinel connection pool (on its manager)."""
    return list(getattr(getattr(pool, "sentinel_manager", None), "sentinels", []))


def _address(item: str) -> tuple[str, int]:
    host, sep, port = item.strip().rpartition(":")
    if not sep:
        host, port = port, str(DEFAULT_SENTINEL_PORT)
    if not host or not port.isdigit():
        raise ConfigurationError(f"bad Sentinel address {item!r}: expected host:port")
    return host.strip("[]"), int(port)


def _credential(netloc: str, index: int) -> str | None:
    userinfo, sep, _hosts = netloc.rpartition("@")
    if not sep:
        return None
    user, has_password, password = userinfo.partition(":")
    value = (user, password if has_password else "")[index]
    return unquote(value) if value else None


def _options(query: str) -> dict[str, str]:
    parsed = {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}
    unknown = set(parsed) - _OPTIONS
    if unknown:
        raise ConfigurationError(
            f"unknown Sentinel URL option(s) {', '.join(sorted(unknown))}: "
            f"use {', '.join(sorted(_OPTIONS))}"
        )
    if not parsed.get("min_other_sentinels", "0").isdigit():
        raise ConfigurationError("min_other_sentinels must be a whole number")
    return parsed


def redact_sentinel(url: str) -> str:
    """A Sentinel URL with the master's and the Sentinels' passwords hidden."""
    scheme, _sep, rest = url.partition("://")
    userinfo, at, hosts = rest.rpartition("@")
    if at and ":" in userinfo:
        rest = f"{userinfo.partition(':')[0]}:***@{hosts}"
    head, question, query = rest.partition("?")
    if question:
        pairs = [
            f"{k}=***" if k == "sentinel_password" else f"{k}={v}"
            for k, _eq, v in (pair.partition("=") for pair in query.split("&"))
        ]
        rest = f"{head}?{'&'.join(pairs)}"
    return f"{scheme}://{rest}"
