"""Where Redis is, and under which namespace: parsed once, passed explicitly.

Ruby Resque accepts ``redis://`` and ``rediss://`` URLs and its own ``host:port``,
``host:port:db``, ``host:port/namespace`` and ``host:port:db/namespace`` strings; an
operator copies whatever the Ruby side uses, so we accept the same (plus ``unix://``).
A master behind Sentinel is a ``redis+sentinel://`` URL (:mod:`resque_compat.sentinel`); a
Redis Cluster URL is refused: Resque's schema needs multi-key operations across hash slots.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

import redis
import redis.asyncio

from .errors import ConfigurationError
from .keys import DEFAULT_NAMESPACE, Keys
from .sentinel import SentinelSettings, is_sentinel_url, redact_sentinel

DEFAULT_URL = "redis://localhost:6379/0"
_URL_SCHEMES = ("redis://", "rediss://", "unix://")
# No CLIENT SETINFO round trips on connect (redis-py >= 7 spells it driver_info).
_NO_CLIENT_SETINFO: dict[str, Any] = (
    {"driver_info": None}
    if "driver_info" in inspect.signature(redis.Redis.__init__).parameters
    else {"lib_name": None, "lib_version": None}
)
_RUBY_FORM = re.compile(r"^(?P<host>[^:/]+)(?::(?P<port>\d+))?(?::(?P<db>\d+))?(?:/(?P<ns>.+))?$")


@dataclass(frozen=True)
class RedisSettings:
    """A Redis location (as a redis-py URL) and the Resque namespace on it.

    ``repr`` and ``display_url`` hide the password, so settings can be logged.
    """

    url: str = DEFAULT_URL
    namespace: str = DEFAULT_NAMESPACE
    socket_timeout: float | None = None
    health_check_interval: int = 0
    #: Set for a ``redis+sentinel://`` URL: the master is found (and found again after a
    #: failover) through these Sentinels, and ``url`` only names it for display.
    sentinel: SentinelSettings | None = None

    @classmethod
    def from_url(cls, url: str | None = None, namespace: str | None = None) -> RedisSettings:
        """Parse a URL or a Ruby-style ``host:port[:db][/namespace]`` string.

        An explicit ``namespace`` wins over one embedded in a Ruby-style string.
        """
        location = url or DEFAULT_URL
        chosen_namespace = namespace if namespace is not None else DEFAULT_NAMESPACE
        if is_sentinel_url(location.strip()):
            sentinel = SentinelSettings.from_url(location.strip())
            return cls(url=sentinel.display_url, namespace=chosen_namespace, sentinel=sentinel)
        redis_url, embedded_namespace = parse_location(location)
        chosen = namespace if namespace is not None else embedded_namespace
        return cls(url=redis_url, namespace=chosen if chosen is not None else DEFAULT_NAMESPACE)

    def with_namespace(self, namespace: str) -> RedisSettings:
        return replace(self, namespace=namespace)

    @property
    def keys(self) -> Keys:
        return Keys(self.namespace)

    @property
    def display_url(self) -> str:
        return redact_url(self.url)

    def __repr__(self) -> str:
        return f"RedisSettings(url={self.display_url!r}, namespace={self.namespace!r})"

    def _client_options(self) -> dict[str, Any]:
        return {
            **_NO_CLIENT_SETINFO,
            # Keys or values that are not UTF-8 (a foreign worker id, say) round-trip as read.
            "encoding_errors": "surrogateescape",
            "socket_timeout": self.socket_timeout,
            "health_check_interval": self.health_check_interval,
        }

    def client(self) -> redis.Redis:
        """A new synchronous client (bytes in, bytes out: payloads are never re-decoded)."""
        if self.sentinel is not None:
            return self.sentinel.client(self._client_options())
        return redis.Redis.from_url(self.url, **self._client_options())

    def async_client(self) -> redis.asyncio.Redis:
        if self.sentinel is not None:
            return self.sentinel.async_client(self._client_options())
        return redis.asyncio.Redis.from_url(self.url, **self._client_options())


def parse_location(location: str) -> tuple[str, str | None]:
    """Turn any accepted form into a redis-py URL and the namespace it names, if any."""
    location = location.strip()
    if location.startswith(_URL_SCHEMES):
        return _checked_url(location), None
    refuse_cluster(location)
    if "://" in location:
        raise ConfigurationError(
            f"unsupported Redis URL scheme in {redact_url(location)!r}: "
            "use redis://, rediss://, unix:// or redis+sentinel://"
        )
    match = _RUBY_FORM.match(location)
    if match is None:
        raise ConfigurationError(
            f"cannot parse Redis location {redact(location)!r}: expected a redis:// URL or "
            "host:port, host:port:db, host:port/namespace"
        )
    port = match["port"] or "6379"
    db = match["db"] or "0"
    return f"redis://{match['host']}:{port}/{db}", match["ns"]


_CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://", "redis-cluster://")
CLUSTER_REFUSAL = (
    "Redis Cluster is not supported: Resque's schema needs multi-key operations across hash "
    "slots (SADD queues + RPUSH queue:<q>, the reserve script over a queue and worker:<id>), "
    "which a cluster refuses (CROSSSLOT). Use a single Redis, with Sentinel for failover "
    "(redis+sentinel://...)"
)


def refuse_cluster(location: str) -> None:
    """Raise the clear refusal for a Redis Cluster URL (see :data:`CLUSTER_REFUSAL`)."""
    if location.lower().startswith(_CLUSTER_SCHEMES):
        raise ConfigurationError(f"{CLUSTER_REFUSAL}; got {redact(location)!r}")


def _checked_url(url: str) -> str:
    """The URL, unless its port or database is not a number.

    redis-py raises a bare ``ValueError`` for a bad port and silently uses database 0 for
    ``redis://host:6379/x``: either would send a worker to the wrong place or a traceback
    to an operator, so both are refused here with the URL (password hidden) in the message.
    """
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        _port = parts.port  # urlsplit checks the port only when it is read
    except ValueError as error:
        raise ConfigurationError(f"bad port in Redis URL {shown!r}: {error}") from error
    databases = parse_qs(parts.query).get("db", [])
    if parts.scheme != "unix":
        databases.append(parts.path.strip("/"))
    for database in databases:
        if database and not database.isdigit():
            raise ConfigurationError(
                f"bad database {database!r} in Redis URL {shown!r}: use a number, as in /0"
            )
    return url


_CREDENTIALS = re.compile(r"(?P<user>[^\s:/@]*):(?P<password>[^\s@/]+)@")


_SENTINEL_PASSWORD = re.compile(r"(?P<key>[?&]sentinel_password=)[^&\s]+")


def redact(text: str) -> str:
    """Any ``user:password@`` in a text (URL or not) with the password as ``***``, and a
    Sentinel URL's ``sentinel_password=`` too."""
    hidden = _CREDENTIALS.sub(lambda m: f"{m['user']}:***@", text)
    return _SENTINEL_PASSWORD.sub(lambda m: f"{m['key']}***", hidden)


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (usernames stay: they help debugging)."""
    if is_sentinel_url(url):
        return redact_sentinel(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None:
        return url
    user = quote(parts.username or "", safe="")
    host = parts.netloc.rpartition("@")[2]  # as written: a bad port must not raise here
    netloc = f"{user}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
