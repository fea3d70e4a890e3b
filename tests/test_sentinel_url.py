"""The ``redis+sentinel://`` URL and the Redis Cluster refusal (a URL, a server in cluster mode)."""

from __future__ import annotations

import pytest

from resque_compat.connection import CLUSTER_REFUSAL, RedisSettings, redact, redact_url
from resque_compat.devserver import RedisServerProcess, free_port
from resque_compat.errors import ConfigurationError
from resque_compat.sentinel import SentinelSettings
from tests.workerproc import PythonWorker


def test_a_sentinel_url_names_the_sentinels_the_service_and_the_db() -> None:
    settings = RedisSettings.from_url("redis+sentinel://:s3cret@h1:26379,h2:26380,h3/mymaster/2")
    assert settings.sentinel == SentinelSettings(
        sentinels=(("h1", 26379), ("h2", 26380), ("h3", 26379)),
        service_name="mymaster",
        db=2,
        password="s3cret",
    )
    assert settings.namespace == "resque"
    assert settings.display_url == "redis+sentinel://:***@h1:26379,h2:26380,h3:26379/mymaster/2"
    assert "s3cret" not in repr(settings) and "s3cret" not in repr(settings.sentinel)


def test_sentinel_options_and_tls() -> None:
    url = (
        "rediss+sentinel://app:pw@10.0.0.1:26379/cache"
        "?sentinel_username=watch&sentinel_password=spw&min_other_sentinels=1"
    )
    sentinel = RedisSettings.from_url(url, namespace="jobs").sentinel
    assert sentinel is not None
    assert (sentinel.ssl, sentinel.db, sentinel.username, sentinel.password) == (
        True,
        0,
        "app",
        "pw",
    )
    assert (sentinel.sentinel_username, sentinel.sentinel_password) == ("watch", "spw")
    assert sentinel.min_other_sentinels == 1


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://h1:26379",  # no service name
        "redis+sentinel:///mymaster",  # no sentinel
        "redis+sentinel://h1:port/mymaster",
        "redis+sentinel://h1:26379/mymaster/db",
        "redis+sentinel://h1:26379/mymaster/0?retries=3",
    ],
)
def test_a_malformed_sentinel_url_is_refused_clearly(url: str) -> None:
    with pytest.raises(ConfigurationError, match="Sentinel"):
        RedisSettings.from_url(url)


@pytest.mark.parametrize(
    "url", ["redis+cluster://h1:7000,h2:7001", "rediss+cluster://user:pw@h1:7000/0"]
)
def test_a_redis_cluster_url_is_refused_with_the_reason(url: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        RedisSettings.from_url(url)
    assert CLUSTER_REFUSAL in str(refused.value)
    assert "pw" not in str(refused.value)


def cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is a valid port too."""
    port = free_port()
    while port > 55_000:
        port = free_port()
    return port


def test_a_worker_refuses_a_server_in_cluster_mode() -> None:
    cluster_node = RedisServerProcess(cluster_port(), ["--cluster-enabled", "yes"])
    with cluster_node, PythonWorker(cluster_node.url, "compat", "--interval", "0") as worker:
        assert worker.wait(30) != 0
        output = worker.output()
    assert CLUSTER_REFUSAL in output, output


def test_passwords_of_a_sentinel_url_never_show() -> None:
    url = "redis+sentinel://app:pw1@h1:26379/mymaster/0?sentinel_password=pw2&min_other_sentinels=1"
    for shown in (redact(f"resque-compat --redis {url} work"), redact_url(url)):
        assert "pw1" not in shown and "pw2" not in shown, shown
        assert "h1:26379/mymaster/0" in shown
    assert "pw" not in RedisSettings.from_url(url).display_url
