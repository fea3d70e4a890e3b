"""The ``redis+sentinel://`` URL and the Redis Cluster refusal (a URL, a server in cluster mode)."""

from __future__ import annotations

import time

import pytest

from resque_compat.connection import CLUSTER_REFUSAL, RedisSettings, redact, redact_url
from resque_compat.devserver import RedisServerProcess, free_port
from resque_compat.errors import ConfigurationError
from resque_compat.sentinel import (
    PROMOTING_CHANNEL,
    SWITCH_CHANNEL,
    MasterSwitch,
    SentinelSettings,
)
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


def test_the_switch_watch_reads_sentinel_events_for_its_master_only() -> None:
    """The events as Sentinel publishes them (no Sentinel here: no watcher thread starts)."""
    switch = MasterSwitch("mymaster", [])
    promoting = "slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379"
    switch.heard(PROMOTING_CHANNEL, promoting.replace("mymaster", "other"))
    assert not switch.holding
    switch.heard(PROMOTING_CHANNEL, promoting)
    assert switch.holding
    switch.heard(SWITCH_CHANNEL, "other 127.0.0.1 6379 127.0.0.1 6380")
    assert switch.holding and switch.epoch == 0
    switch.heard(SWITCH_CHANNEL, "mymaster 127.0.0.1 6379 127.0.0.1 6380")
    assert not switch.holding and (switch.epoch, switch.address) == (1, ("127.0.0.1", 6380))
    switch.heard(SWITCH_CHANNEL, "mymaster 127.0.0.1 6379 127.0.0.1 6380")  # another Sentinel
    assert switch.epoch == 1
    switch.heard(PROMOTING_CHANNEL, promoting)
    switch.heard("-failover-abort-slave-timeout", "master mymaster 127.0.0.1 6380")
    assert not switch.holding and switch.epoch == 1


def test_a_hold_never_ended_lapses() -> None:
    switch = MasterSwitch("mymaster", [])
    switch.hold()
    switch._hold_until = time.monotonic() + 0.05
    started = time.monotonic()
    switch.wait_open()
    assert 0.03 < time.monotonic() - started < 1.0 and not switch.holding
