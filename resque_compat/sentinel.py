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
"""

from __future__ import annotations

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
        """A client of the current master; redis-py finds the new one after a failover."""
        sentinel = redis.sentinel.Sentinel(
            self.sentinels,
            min_other_sentinels=self.min_other_sentinels,
            sentinel_kwargs=self._sentinel_kwargs(options),
        )
        master: redis.Redis = sentinel.master_for(
            self.service_name, redis_class=_MasterClient, **self._master_kwargs(options)
        )
        return master

    def async_client(self, options: dict[str, Any]) -> redis.asyncio.Redis:
        """The asyncio twin of :meth:`client` (``redis.asyncio.sentinel``)."""
        sentinel = redis.asyncio.sentinel.Sentinel(
            self.sentinels,
            min_other_sentinels=self.min_other_sentinels,
            sentinel_kwargs=self._sentinel_kwargs(options),
        )
        master: redis.asyncio.Redis = sentinel.master_for(
            self.service_name, redis_class=_AsyncMasterClient, **self._master_kwargs(options)
        )
        return master


class _MasterClient(redis.Redis):
    """The master's client, closing the Sentinel clients it found the master with too."""

    def close(self) -> None:
        super().close()
        for sentinel in _sentinel_clients(self.connection_pool):
            sentinel.close()


class _AsyncMasterClient(redis.asyncio.Redis):
    """The asyncio twin of :class:`_MasterClient`."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
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
