"""TLS, ACL users, and passwords that never show: logs, process titles, reprs, errors.

The TLS server is a real ``redis-server --port 0 --tls-port P`` with a CA and certificates
made by the ``openssl`` command for this test session; clients and workers reach it through
``rediss://`` URLs whose query names the CA and the client certificate (redis-py's
``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from resque_compat import ConfigurationError, RedisSettings, Resque
from resque_compat.devserver import RedisServerProcess, free_port
from resque_compat.keys import Keys
from tests.chaos.jobs import CHAOS_QUEUE, RAN_KEY
from tests.chaos.procs import (
    REPO_ROOT,
    WorkerProcess,
    children_of,
    cmdline,
    python_worker_command,
    worker_env,
)
from tests.workerproc import wait_for

KEYS = Keys()
PASSWORD = "s3cret-Tr0ub4dor-3"
USER = "app"
MODES = [pytest.param([], id="fork"), pytest.param(["--no-fork"], id="nofork")]


# -- TLS ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    def query(self, client_cert: bool = True) -> str:
        query = f"ssl_ca_certs={self.ca}"
        if client_cert:
            query += f"&ssl_certfile={self.client_cert}&ssl_keyfile={self.client_key}"
        return query


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _signed_certificate(directory: Path, name: str, extensions: str) -> None:
    _openssl(
        "req", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", f"{name}.key",
        "-out", f"{name}.csr", "-subj", f"/CN=resque-compat test {name}", cwd=directory,
    )  # fmt: skip
    (directory / f"{name}.ext").write_text(extensions)
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext",
        cwd=directory,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throwaway CA, a server certificate for ``localhost`` and a client certificate."""
    if shutil.which("openssl") is None:
        pytest.skip(
            "the openssl command is needed to make test certificates (apt-get install openssl)"
        )
    directory = tmp_path_factory.mktemp("tls")
    _openssl(
        "req", "-x509", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", "ca.key",
        "-out", "ca.crt", "-days", "2", "-subj", "/CN=resque-compat test CA", cwd=directory,
    )  # fmt: skip
    _signed_certificate(directory, "server", "subjectAltName=DNS:localhost\n")
    _signed_certificate(directory, "client", "extendedKeyUsage=clientAuth\n")
    return TlsFiles(
        directory / "ca.crt",
        directory / "server.crt",
        directory / "server.key",
        directory / "client.crt",
        directory / "client.key",
    )


@pytest.fixture(scope="module")
def tls_url(tls_files: TlsFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A TLS-only redis-server (no plain port) that requires client certificates."""
    port = free_port()
    directory = tmp_path_factory.mktemp("tls-redis")
    command = [
        "redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
        "--tls-cert-file", str(tls_files.server_cert), "--tls-key-file",
        str(tls_files.server_key), "--tls-ca-cert-file", str(tls_files.ca),
        "--tls-auth-clients", "yes", "--save", "", "--appendonly", "no", "--dir", str(directory),
    ]  # fmt: skip
    log = directory / "redis.log"
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"rediss://localhost:{port}/0?{tls_files.query()}"
    try:
        _wait_for_tls_server(server, url, log)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def _wait_for_tls_server(server: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = log.read_text(errors="replace")
            if "TLS" in output and "not" in output.lower():
                pytest.skip(f"this redis-server has no TLS support: {output.strip()[-200:]}")
            raise AssertionError(f"redis-server exited: {output}")
        try:
            with redis.Redis.from_url(url) as client:
                client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise AssertionError(f"the TLS redis-server never answered: {log.read_text()}")


def _ran(url: str) -> list[str]:
    with redis.Redis.from_url(url) as client:
        return [item.decode() for item in client.lrange(RAN_KEY, 0, -1)]


def _fresh(url: str) -> None:
    with redis.Redis.from_url(url) as client:
        client.flushall()


@pytest.mark.parametrize("mode", MODES)
def test_producer_and_worker_over_tls(tls_url: str, tmp_path: Path, mode: list[str]) -> None:
    _fresh(tls_url)
    with Resque.from_url(tls_url) as resque:
        resque.enqueue_to(CHAOS_QUEUE, "ChaosJob", "over-tls", 0)
        assert resque.size(CHAOS_QUEUE) == 1
    worker = WorkerProcess.python(
        CHAOS_QUEUE, ["--interval", "0", *mode], worker_env(tls_url), tmp_path / "worker.log"
    )
    try:
        assert worker.wait(30) == 0, worker.output()
    finally:
        worker.finish()
    assert _ran(tls_url) == ["over-tls"], worker.output()
    with Resque.from_url(tls_url) as resque:
        assert resque.stat("processed") == 1 and resque.stat("failed") == 0
        assert resque.workers() == []


def test_tls_checks_the_server_certificate_and_needs_tls(tls_url: str, tls_files: TlsFiles) -> None:
    """Refused: no CA to check the server against, a name the certificate is not for
    (127.0.0.1; it names localhost), plain text, no client certificate."""
    port = tls_url.split(":")[2].split("/")[0]
    client_cert = f"ssl_certfile={tls_files.client_cert}&ssl_keyfile={tls_files.client_key}"
    refused: dict[str, str | None] = {
        f"rediss://localhost:{port}/0?{client_cert}": "certificate verify failed",
        f"rediss://127.0.0.1:{port}/0?{tls_files.query()}": "mismatch",
        f"redis://localhost:{port}/0": None,
        f"rediss://localhost:{port}/0?{tls_files.query(client_cert=False)}": None,
    }
    for url, reason in refused.items():
        with Resque.from_url(url) as resque, pytest.raises(redis.ConnectionError, match=reason):
            resque.size(CHAOS_QUEUE)


# -- ACL ----------------------------------------------------------------------------------


class AclRedis:
    """A private redis-server where only the ACL user ``app`` may do anything, and only on
    the keys of the Resque namespace (plus the chaos jobs' own list), no dangerous commands
    (KEYS, FLUSHALL, DEBUG, CONFIG...) and no pub/sub channels: least privilege for a fleet."""

    RULES = ("on", f">{PASSWORD}", "~resque:*", "~chaos:*", "resetchannels", "+@all", "-@dangerous")

    def __init__(self) -> None:
        self.server = RedisServerProcess()
        self.server.start()
        self.lock_down()

    def lock_down(self) -> None:
        """The ACL lives in memory only: applied again after each (re)start."""
        with redis.Redis(port=self.server.port) as client:
            client.execute_command("ACL", "SETUSER", USER, *self.RULES)
            client.execute_command("ACL", "SETUSER", "default", "off")

    def url(self, password: str = PASSWORD) -> str:
        return f"redis://{USER}:{password}@127.0.0.1:{self.server.port}/0"

    def restart(self, down_for: float) -> None:
        self.server.stop()
        time.sleep(down_for)
        self.server.start()
        self.lock_down()

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def acl_redis() -> Iterator[AclRedis]:
    server = AclRedis()
    try:
        yield server
    finally:
        server.close()


def test_an_acl_user_is_the_only_way_in(acl_redis: AclRedis) -> None:
    with (
        Resque.from_url(f"redis://127.0.0.1:{acl_redis.server.port}/0") as anonymous,
        pytest.raises(redis.AuthenticationError),
    ):
        anonymous.size(CHAOS_QUEUE)
    with Resque.from_url(acl_redis.url("wrong")) as intruder:
        with pytest.raises(redis.AuthenticationError) as refused:
            intruder.size(CHAOS_QUEUE)
        assert "wrong" not in _everything_said(refused.value)
    with Resque.from_url(acl_redis.url()) as resque:
        resque.enqueue_to(CHAOS_QUEUE, "ChaosJob", "acl", 0)
        assert resque.size(CHAOS_QUEUE) == 1
        info = resque.info()
        assert info["pending"] == 1 and PASSWORD not in repr(info)
    with redis.Redis.from_url(acl_redis.url()) as client:
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.get("outside-the-namespace")
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.flushall()


@pytest.mark.parametrize("mode", MODES)
def test_worker_as_an_acl_user_through_an_outage_never_shows_the_password(
    acl_redis: AclRedis, tmp_path: Path, mode: list[str]
) -> None:
    """The password is given on the command line (the worst case): after startup it is in
    no process title (parent or job child), and never in the log, a Redis outage included."""
    with Resque.from_url(acl_redis.url()) as resque:
        resque.enqueue_to(CHAOS_QUEUE, "ChaosJob", "slow", 1500)
    command = [
        sys.executable, "-m", "resque_compat", "--redis", acl_redis.url(), "work",
        "--queues", CHAOS_QUEUE, "--app", "tests.chaos.jobs", "-vv",
        "--heartbeat-interval", "1", "--interval", "1", *mode,
    ]  # fmt: skip
    worker = _start(command, worker_env(acl_redis.url()), tmp_path / "worker.log")
    try:
        wait_for(lambda: "Processing" in " ".join(_titles(worker)), 20, "the job to start")
        titles = _titles(worker)
        acl_redis.restart(down_for=2)
        with Resque.from_url(acl_redis.url()) as resque:
            resque.enqueue_to(CHAOS_QUEUE, "ChaosJob", "after-outage", 0)
        try:
            wait_for(lambda: "after-outage" in _ran(acl_redis.url()), 30, "a job after the outage")
        except AssertionError as error:
            raise AssertionError(f"{error}; worker log:\n{worker.output()}") from None
        titles += _titles(worker)
        worker.signal(signal.SIGQUIT)
        assert worker.wait(30) == 0, worker.output()
    finally:
        worker.finish()
    output = worker.output()
    assert "Redis unavailable" in output or "heartbeat failed" in output, output
    assert titles and all(t.startswith("resque") for t in titles), titles
    assert PASSWORD not in output
    assert not [t for t in titles if PASSWORD in t]


def _start(
    command: list[str], env: dict[str, str], log: Path, titled: bool = True
) -> WorkerProcess:
    with log.open("wb") as out:
        popen = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    proc = WorkerProcess(popen, log)
    try:
        if titled:
            wait_for(lambda: cmdline(proc.pid).startswith("resque"), 20, "the worker's title")
    except BaseException:
        proc.finish()
        raise
    return proc


def _titles(worker: WorkerProcess) -> list[str]:
    """Process titles of the worker, its job child and its fork server, as ``ps`` shows them
    to anyone."""
    titles = []
    for pid in [worker.pid, *worker.children()]:
        try:
            title = cmdline(pid)
        except OSError:
            continue
        if title:  # a child that already exited shows an empty command line
            titles.append(title)
    return titles


def test_the_supervisor_title_hides_the_password(acl_redis: AclRedis, tmp_path: Path) -> None:
    command = python_worker_command(CHAOS_QUEUE, "--count", "2", "--interval", "1")
    command[3:3] = ["--redis", acl_redis.url()]
    log = tmp_path / "supervisor.log"
    worker = _start(command, worker_env(acl_redis.url()), log, titled=False)
    try:
        wait_for(lambda: len(children_of(worker.pid)) == 2, 20, "two workers")
        titles = _titles(worker)
    finally:
        worker.finish()
    assert not [t for t in titles if PASSWORD in t], titles


# -- what errors and reprs say ------------------------------------------------------------


def _everything_said(error: BaseException) -> str:
    """All an operator could see of an error: message, repr, traceback, causes included."""
    return "".join(traceback.format_exception(error)) + repr(error) + str(error)


def test_settings_never_show_the_password() -> None:
    settings = RedisSettings.from_url(f"redis://{USER}:{PASSWORD}@db.internal:6380/2")
    shown = [repr(settings), str(settings), settings.display_url, f"{settings!r}"]
    assert not [text for text in shown if PASSWORD in text]
    assert settings.display_url == f"redis://{USER}:***@db.internal:6380/2"


REFUSED_PORT = free_port()
BAD_LOCATIONS = [
    pytest.param(f"redis://{USER}:{PASSWORD}@127.0.0.1:{REFUSED_PORT}/0", id="refused"),
    pytest.param(f"rediss://:{PASSWORD}@127.0.0.1:{REFUSED_PORT}/0", id="refused-tls"),
    pytest.param(f"redis://{USER}:{PASSWORD}@no-such-host.invalid:6379/0", id="unknown-host"),
    pytest.param(f"redis://{USER}:{PASSWORD}@127.0.0.1:notaport/0", id="bad-port"),
    pytest.param(f"redis://{USER}:{PASSWORD}@[::1/0", id="bad-ipv6"),
    pytest.param(f"http://{USER}:{PASSWORD}@127.0.0.1/0", id="wrong-scheme"),
    pytest.param(f"{USER}:{PASSWORD}@127.0.0.1:6379", id="no-scheme"),
]


@pytest.mark.parametrize("location", BAD_LOCATIONS)
def test_errors_never_show_the_password(location: str) -> None:
    with (
        pytest.raises((redis.RedisError, ConfigurationError, ValueError)) as raised,
        Resque.from_url(location) as resque,
    ):
        resque.enqueue_to(CHAOS_QUEUE, "ChaosJob", "x", 0)
    assert PASSWORD not in _everything_said(raised.value)


def test_the_cli_never_shows_the_password_on_a_failed_start(tmp_path: Path) -> None:
    """A worker that cannot reach Redis dies with a traceback: the password is not in it."""
    url = f"redis://{USER}:{PASSWORD}@127.0.0.1:{REFUSED_PORT}/0"
    done = subprocess.run(
        python_worker_command(CHAOS_QUEUE, "--interval", "0"),
        cwd=REPO_ROOT,
        env=worker_env(url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "Connection refused" in done.stdout + done.stderr
    assert PASSWORD not in done.stdout + done.stderr
