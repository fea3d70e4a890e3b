"""Ruby Resque and node-resque as child processes, for the cross-runtime tests.

The point of ``resque_compat`` is that Python, Ruby and node processes share one Redis. That
can only be shown by running the real other implementations, so this module starts them:

* Ruby: scripts in ``ruby_fixtures/`` (``boot.rb`` loads Resque 3.x from ``RESQUE_RUBY_LIB``
  or the installed gem, pins the MultiJson adapter and points ``Resque.redis`` at the test
  server; ``worker.rb`` is ``rake resque:work`` without rake; ``eval.rb`` answers questions).
* node: scripts in ``compat_tests/node/`` using node-resque from npm (``enqueue.js``,
  ``worker.js``, ``info.js``).

Every child gets a timeout or a deadline, and long-running ones are :class:`RuntimeProcess`
objects that kill their whole process group (a forking Resque worker's job children
included) when stopped, when their ``with`` block ends, or at interpreter exit.

Jobs performed by any runtime's ``RecordArgs`` land in the plain Redis list
:data:`PERFORMED_KEY` as ``{"runtime": ..., "pid": ..., "args": [...]}``.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import pytest
import redis

REPO_ROOT = Path(__file__).resolve().parent.parent
RUBY_FIXTURES = REPO_ROOT / "ruby_fixtures"
NODE_DIR = Path(__file__).resolve().parent / "node"

#: The plain (un-namespaced) list every runtime's ``RecordArgs`` job appends to.
PERFORMED_KEY = "compat:performed"

#: Ruby Resque's ``Resque::VERSION`` the rig is written against; its workers' process titles
#: start with ``resque-<version>: ``.
RUBY_RESQUE_VERSION = "3.0.0"

RUBY_LIB_ENV = "RESQUE_RUBY_LIB"

#: The shared Ruby source trees beside the checkout (``../shared/ruby``): CI and the project's
#: machines have them, a user's machine usually does not. ``RESQUE_SHARED_RUBY`` overrides it.
SHARED_RUBY = Path(os.environ.get("RESQUE_SHARED_RUBY", REPO_ROOT.parent / "shared" / "ruby"))

#: Where the shared trees hold Ruby Resque 3.0.0, the version the rig is written against.
SHARED_RESQUE_LIB = SHARED_RUBY / "resque-3.0.0" / "lib"

#: The Ruby Resque versions of the version matrix (``compat_tests/test_versions.py``): deployments
#: still run 2.x and 1.27 beside 3.x. Each is a tree under :data:`SHARED_RUBY`.
RUBY_VERSIONS = ("3.0.0", "2.7.0", "1.27.4")

#: Set (by ``scripts/test.sh`` when the shared trees are present, and by CI) to make a missing
#: Ruby Resque an error instead of a skip: there, a Ruby test must never pass by skipping.
REQUIRE_RUBY_ENV = "RESQUE_COMPAT_REQUIRE_RUBY"

#: Environment variables Ruby Resque's worker reads. They are never inherited from the shell
#: running pytest (a developer's ``QUEUE=...`` must not change a test); pass them in ``env``.
RESQUE_WORKER_ENV_VARS = frozenset(
    {
        "QUEUE",
        "QUEUES",
        "INTERVAL",
        "MIN_INTERVAL",
        "MAX_INTERVAL",
        "BACKOFF_INTERVAL",
        "FORK_PER_JOB",
        "TERM_CHILD",
        "GRACEFUL_TERM",
        "RUN_AT_EXIT_HOOKS",
        "RESQUE_TERM_TIMEOUT",
        "RESQUE_PRE_SHUTDOWN_TIMEOUT",
        "LOGGING",
        "VERBOSE",
        "VVERBOSE",
        "BACKGROUND",
        "PIDFILE",
        "RESQUE_PROCLINE_PREFIX",
        "COUNT",
        "JOBS_PER_FORK",
        "MINUTES_PER_FORK",
        "RESQUE_MEM_THRESHOLD",
        "DISABLE_MULTI_JOBS_PER_FORK",
    }
)

_NPM_CI_TIMEOUT = 300.0


class RuntimeProcessError(subprocess.CalledProcessError):
    """A Ruby or node child exited non-zero; the message carries its stdout and stderr.

    ``CalledProcessError`` alone hides the output, and the output is the only useful part
    when a Ruby backtrace explains why a cross-runtime test failed.
    """

    def __str__(self) -> str:
        return _describe(f"{super().__str__()}", self.output, self.stderr)


class RuntimeTimeoutError(subprocess.TimeoutExpired):
    """A Ruby or node child ran past its timeout (and was killed); shows what it printed."""

    def __str__(self) -> str:
        return _describe(super().__str__(), self.output, self.stderr)


class NodeModulesMissingError(RuntimeError):
    """node is installed but node-resque is not, and ``npm ci`` could not install it.

    Deliberately an error rather than a skip: CI runs ``npm ci --prefix compat_tests/node``
    first, so a missing node-resque there means the interop tests silently stopped running.
    """


def _describe(head: str, stdout: str | bytes | None, stderr: str | bytes | None) -> str:
    def text(value: str | bytes | None) -> str:
        if value is None:
            return ""
        return value.decode(errors="replace") if isinstance(value, bytes) else value

    return f"{head}\n--- stdout ---\n{text(stdout)}\n--- stderr ---\n{text(stderr)}"


def _inherited_env() -> dict[str, str]:
    """The environment for children: ours, minus Resque worker settings from the shell."""
    return {k: v for k, v in os.environ.items() if k not in RESQUE_WORKER_ENV_VARS}


# --------------------------------------------------------------------------------------------
# Ruby
# --------------------------------------------------------------------------------------------


def _ruby_lib_from_env() -> str | None:
    value = os.environ.get(RUBY_LIB_ENV, "")
    if value and (Path(value) / "resque.rb").is_file():
        return str(Path(value).resolve())
    return None


@functools.cache
def _resque_gem_installed() -> bool:
    """Whether plain ``ruby`` can ``require "resque"`` (cached: the probe takes ~0.3 s)."""
    if shutil.which("ruby") is None:
        return False
    try:
        probe = subprocess.run(
            ["ruby", "-e", 'require "resque"'],
            capture_output=True,
            timeout=60,
            env=_inherited_env(),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def ruby_resque_lib() -> str | None:
    """Where Ruby Resque comes from: a lib directory, ``""`` for the installed gem, or None.

    ``RESQUE_RUBY_LIB`` wins when it points at a directory holding ``resque.rb`` (Resque is
    usually a source checkout on developer machines, not a gem). Then come the shared source
    trees beside the checkout (:data:`SHARED_RESQUE_LIB`, what CI uses), then the installed
    gem if ``ruby -e 'require "resque"'`` works; None means Ruby Resque is unavailable.
    """
    from_env = _ruby_lib_from_env()
    if from_env is not None:
        return from_env
    if (SHARED_RESQUE_LIB / "resque.rb").is_file() and shutil.which("ruby") is not None:
        return str(SHARED_RESQUE_LIB.resolve())
    return "" if _resque_gem_installed() else None


def ruby_skip_reason() -> str | None:
    """Why the Ruby interop tests cannot run here, or None when they can."""
    if shutil.which("ruby") is None:
        return "Ruby not found on PATH: install Ruby >= 2.7 to run the Ruby Resque interop tests"
    if ruby_resque_lib() is not None:
        return None
    configured = os.environ.get(RUBY_LIB_ENV, "")
    if configured:
        return (
            f"Ruby Resque not found: {RUBY_LIB_ENV}={configured} has no resque.rb; "
            f"point it at Resque's lib directory (see docs/development.md)"
        )
    return (
        f"Ruby Resque not found: set {RUBY_LIB_ENV}=/path/to/resque/lib (see docs/development.md)"
    )


_RUBY_SKIP_REASON = ruby_skip_reason()
if _RUBY_SKIP_REASON is not None and os.environ.get(REQUIRE_RUBY_ENV):
    raise RuntimeError(f"{REQUIRE_RUBY_ENV} is set but Ruby Resque cannot run: {_RUBY_SKIP_REASON}")

#: Marks a test that needs Ruby Resque; it is skipped, with the reason, when Resque is absent.
requires_ruby = pytest.mark.skipif(_RUBY_SKIP_REASON is not None, reason=_RUBY_SKIP_REASON or "")


def shared_resque_lib(version: str) -> Path:
    """The lib directory of Ruby Resque ``version`` in the shared trees."""
    return SHARED_RUBY / f"resque-{version}" / "lib"


def ruby_version_skip_reason(version: str) -> str | None:
    """Why Ruby Resque ``version`` cannot run here (no Ruby, or no shared tree), or None.

    :data:`RUBY_RESQUE_VERSION` is the rig's default Ruby Resque (``RESQUE_RUBY_LIB``, the
    shared tree or the gem, see :func:`ruby_resque_lib`); the others come from the shared trees.
    """
    if version == RUBY_RESQUE_VERSION:
        return ruby_skip_reason()
    if shutil.which("ruby") is None:
        return "Ruby not found on PATH: install Ruby >= 2.7 to run the Ruby Resque interop tests"
    if not (shared_resque_lib(version) / "resque.rb").is_file():
        return f"Ruby Resque {version} not found under {SHARED_RUBY} (set RESQUE_SHARED_RUBY)"
    return None


def requires_ruby_version(version: str) -> pytest.MarkDecorator:
    """Skips a test of Ruby Resque ``version`` where its tree is missing (an error in CI)."""
    reason = ruby_version_skip_reason(version)
    if reason is not None and os.environ.get(REQUIRE_RUBY_ENV):
        raise RuntimeError(f"{REQUIRE_RUBY_ENV} is set but Ruby Resque cannot run: {reason}")
    return pytest.mark.skipif(reason is not None, reason=reason or "")


def ruby_version_params() -> list[Any]:
    """``pytest.param`` per :data:`RUBY_VERSIONS`, for ``parametrize("ruby_version", ...)``."""
    return [
        pytest.param(v, id=f"resque-{v}", marks=requires_ruby_version(v)) for v in RUBY_VERSIONS
    ]


def _ruby_script(script: str) -> Path:
    path = Path(script)
    if path.is_absolute():
        return path
    if path.suffix != ".rb":
        path = path.with_suffix(".rb")
    resolved = RUBY_FIXTURES / path
    if not resolved.is_file():
        raise FileNotFoundError(f"no Ruby fixture script {resolved}")
    return resolved


def _ruby_command(
    script: str,
    redis_url: str,
    env: Mapping[str, str] | None,
    json_adapter: str,
    args: Sequence[str],
    version: str | None = None,
) -> tuple[list[str], dict[str, str]]:
    default = version is None or version == RUBY_RESQUE_VERSION
    lib = ruby_resque_lib() if default else str(shared_resque_lib(version or ""))
    if lib is None:
        raise RuntimeError(ruby_skip_reason() or "Ruby Resque not available")
    full_env = _inherited_env()
    full_env.update({RUBY_LIB_ENV: lib, "REDIS_URL": redis_url, "MULTI_JSON_ADAPTER": json_adapter})
    full_env.update(env or {})
    return ["ruby", str(_ruby_script(script)), *args], full_env


def run_ruby(
    script: str,
    redis_url: str,
    *,
    env: Mapping[str, str] | None = None,
    json_adapter: str = "json_gem",
    timeout: float = 60,
    args: Sequence[str] = (),
    input: str | None = None,
    version: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``ruby_fixtures/<script>`` to completion against ``redis_url``.

    The child gets ``RESQUE_RUBY_LIB``, ``REDIS_URL`` and ``MULTI_JSON_ADAPTER`` plus ``env``
    (Resque worker variables such as ``QUEUE`` are only ever taken from ``env``). Raises
    :class:`RuntimeProcessError` on a non-zero exit and :class:`RuntimeTimeoutError` after
    ``timeout`` seconds, both showing the child's output. ``version`` picks one of
    :data:`RUBY_VERSIONS` from the shared trees instead of the default Ruby Resque.
    """
    command, full_env = _ruby_command(script, redis_url, env, json_adapter, args, version)
    return _run(command, full_env, REPO_ROOT, timeout, input)


def start_ruby(
    script: str,
    redis_url: str,
    *,
    env: Mapping[str, str] | None = None,
    json_adapter: str = "json_gem",
    args: Sequence[str] = (),
    version: str | None = None,
) -> RuntimeProcess:
    """Start ``ruby_fixtures/<script>`` (typically ``worker.rb``) and return without waiting.

    Use the result as a context manager, or call :meth:`RuntimeProcess.stop`, so the
    worker and any job child it forked are gone when the test ends.
    """
    command, full_env = _ruby_command(script, redis_url, env, json_adapter, args, version)
    return RuntimeProcess.launch(command, full_env, REPO_ROOT)


def ruby_eval(
    code: str,
    redis_url: str,
    *,
    env: Mapping[str, str] | None = None,
    json_adapter: str = "json_gem",
    timeout: float = 60,
    version: str | None = None,
) -> Any:
    """Evaluate Ruby ``code`` with Resque booted on ``redis_url``; return its value from JSON.

    E.g. ``ruby_eval('Resque.peek("compat", 0, 10)', url)``. Symbols come back as strings and
    non-JSON objects as their ``to_s``. A Ruby exception raises :class:`RuntimeProcessError`.
    """
    done = run_ruby(
        "eval.rb",
        redis_url,
        env=env,
        json_adapter=json_adapter,
        timeout=timeout,
        input=code,
        version=version,
    )
    return json.loads(done.stdout)


# --------------------------------------------------------------------------------------------
# node
# --------------------------------------------------------------------------------------------


def _node_modules_present() -> bool:
    return (NODE_DIR / "node_modules" / "node-resque" / "package.json").is_file()


def node_available() -> bool:
    """Whether node is on PATH and node-resque is installed in ``compat_tests/node``."""
    return shutil.which("node") is not None and _node_modules_present()


def node_skip_reason() -> str | None:
    """Why the node interop tests must be skipped: only when node itself is missing.

    A missing ``node_modules`` is not a reason to skip (see :class:`NodeModulesMissingError`).
    """
    if shutil.which("node") is None:
        return "node not found on PATH: install Node.js >= 18 to run the node-resque interop tests"
    return None


_NODE_SKIP_REASON = node_skip_reason()

#: Marks a test that needs node; skipped, with the reason, when node is not installed.
requires_node = pytest.mark.skipif(_NODE_SKIP_REASON is not None, reason=_NODE_SKIP_REASON or "")


def ensure_node_modules(timeout: float = _NPM_CI_TIMEOUT) -> str | None:
    """Install node-resque (``npm ci``) if a fresh clone lacks it; None when it is ready.

    Returns a reason string instead of raising when it cannot (no node, no npm, no network),
    so callers choose between skipping and failing. A lock keeps parallel test processes from
    running ``npm ci`` on the same directory at once.
    """
    if _node_modules_present():
        return None
    skip = node_skip_reason()
    if skip is not None:
        return skip
    if shutil.which("npm") is None:
        return "npm not found on PATH: run `npm ci --prefix compat_tests/node` by hand"
    lock_path = Path(tempfile.gettempdir()) / "resque-compat-npm-ci.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _node_modules_present():
            return None
        try:
            done = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"],
                cwd=NODE_DIR,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"`npm ci` in {NODE_DIR} timed out after {timeout:.0f}s (no network?)"
    if done.returncode != 0 or not _node_modules_present():
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        return f"`npm ci` in {NODE_DIR} failed (no network?):\n{tail}"
    return None


def _node_command(script: str, args: Sequence[str]) -> list[str]:
    problem = ensure_node_modules()
    if problem is not None:
        raise NodeModulesMissingError(problem)
    path = NODE_DIR / (script if script.endswith(".js") else f"{script}.js")
    if not path.is_file():
        raise FileNotFoundError(f"no node script {path}")
    return ["node", str(path), *args]


def _node_env(redis_url: str, env: Mapping[str, str] | None) -> dict[str, str]:
    full_env = _inherited_env()
    full_env["REDIS_URL"] = redis_url
    full_env.update(env or {})
    return full_env


def run_node(
    script: str,
    redis_url: str,
    *args: str,
    timeout: float = 60,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``compat_tests/node/<script>`` with ``REDIS_URL`` set; raise on failure or timeout.

    Raises :class:`NodeModulesMissingError` if node-resque is absent and cannot be installed.
    """
    command = _node_command(script, args)
    return _run(command, _node_env(redis_url, env), NODE_DIR, timeout, None)


def start_node(
    script: str,
    redis_url: str,
    *args: str,
    env: Mapping[str, str] | None = None,
) -> RuntimeProcess:
    """Start ``compat_tests/node/<script>`` (typically ``worker.js``) without waiting."""
    command = _node_command(script, args)
    return RuntimeProcess.launch(command, _node_env(redis_url, env), NODE_DIR)


def node_enqueue(redis_url: str, queue: str, klass: str, args: Sequence[Any] = ()) -> None:
    """Enqueue one job through node-resque's ``Queue#enqueue``."""
    run_node("enqueue.js", redis_url, queue, klass, json.dumps(list(args)))


def node_info(redis_url: str) -> Any:
    """What node-resque's Queue API reports (queues, lengths, stats, workers, failed...)."""
    return json.loads(run_node("info.js", redis_url).stdout)


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


def _run(
    command: list[str], env: dict[str, str], cwd: Path, timeout: float, stdin: str | None
) -> subprocess.CompletedProcess[str]:
    """Like ``subprocess.run``, but a timeout kills the child's whole process group.

    ``subprocess.run`` kills only the child, which would leave the job process a forking
    Resque worker started running on after the test.
    """
    with subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            # The child is not reaped yet, so its group id is still ours to kill.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            raise RuntimeTimeoutError(command, timeout, stdout, stderr) from None
    if proc.returncode != 0:
        raise RuntimeProcessError(proc.returncode, command, stdout, stderr)
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


_live: set[RuntimeProcess] = set()


class RuntimeProcess(subprocess.Popen[str]):
    """A long-running Ruby or node child in its own process group, output kept in temp files.

    Output goes to files rather than pipes so a chatty worker can never block on a full
    pipe nobody reads; :meth:`output` (or :meth:`communicate`) returns it. Its own session
    lets :meth:`stop` kill the job children a forking Resque worker leaves behind.
    """

    _stdout_file: IO[bytes]
    _stderr_file: IO[bytes]
    _final_output: tuple[str, str] | None = None

    @classmethod
    def launch(cls, command: list[str], env: dict[str, str], cwd: Path) -> RuntimeProcess:
        # The files outlive this method: stop() closes them once the output is read.
        out = tempfile.TemporaryFile(prefix="resque-compat-out-")  # noqa: SIM115
        err = tempfile.TemporaryFile(prefix="resque-compat-err-")  # noqa: SIM115
        try:
            proc = cls(
                command,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                text=True,
                start_new_session=True,
            )
        except BaseException:
            out.close()
            err.close()
            raise
        proc._stdout_file = out
        proc._stderr_file = err
        _live.add(proc)
        return proc

    def output(self) -> tuple[str, str]:
        """Everything the child wrote so far to stdout and stderr (also after :meth:`stop`)."""
        if self._final_output is not None:
            return self._final_output
        return _read_all(self._stdout_file), _read_all(self._stderr_file)

    def communicate(
        self, input: str | None = None, timeout: float | None = None
    ) -> tuple[str, str]:
        """Wait for exit (``input`` is not supported: stdin is /dev/null) and return output."""
        if input:
            raise ValueError("RuntimeProcess has no stdin")
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.alive():
            if deadline is not None and time.monotonic() >= deadline:
                out, err = self.output()
                raise RuntimeTimeoutError(self.args, timeout or 0.0, out, err)
            time.sleep(0.02)
        self.stop()  # kills stray job children of the group, reaps, releases the files
        return self.output()

    def alive(self) -> bool:
        """Whether the child is still running (without reaping it, see :meth:`stop`)."""
        if self.returncode is not None:
            return False
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return False
        return info is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Ask the child to stop with ``sig``, SIGKILL its process group after ``timeout``.

        SIGTERM stops both a Ruby worker (killing its job child) and ``worker.js``
        gracefully; SIGQUIT lets a Ruby worker finish its job first. The group is killed
        while the leader is still unreaped, so its id cannot belong to anyone else yet.
        Returns the exit status.
        """
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.send_signal(sig)
            deadline = time.monotonic() + timeout
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.02)
        self._kill_group()
        returncode = self.wait(timeout=10)
        self._release()
        return returncode

    def _release(self) -> None:
        """Keep the final output in memory and close the files (pytest errors on leaks)."""
        if self._final_output is None:
            self._final_output = self.output()
            self._stdout_file.close()
            self._stderr_file.close()
        _live.discard(self)

    def kill_now(self) -> int:
        """SIGKILL the whole group at once (a crash, as far as Resque can tell)."""
        return self.stop(signal.SIGKILL, timeout=0)

    def _kill_group(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)

    def __enter__(self) -> RuntimeProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _read_all(file: IO[bytes]) -> str:
    if file.closed:
        return ""
    size = os.fstat(file.fileno()).st_size
    # pread leaves the shared file offset alone: the child may still be writing through it.
    return os.pread(file.fileno(), size, 0).decode(errors="replace")


@atexit.register
def _stop_leftovers() -> None:
    """Never leave a worker running after pytest exits, even if a test forgot to stop it."""
    for proc in list(_live):
        with contextlib.suppress(Exception):
            proc.stop(timeout=2)


class ProcessReaper:
    """Collects started processes and stops them all: the body of a per-test fixture."""

    def __init__(self) -> None:
        self._processes: list[RuntimeProcess] = []

    def add(self, proc: RuntimeProcess) -> RuntimeProcess:
        self._processes.append(proc)
        return proc

    def __iter__(self) -> Iterator[RuntimeProcess]:
        return iter(self._processes)

    def stop_all(self) -> None:
        for proc in reversed(self._processes):
            proc.stop()
        self._processes.clear()


# --------------------------------------------------------------------------------------------
# What the jobs recorded
# --------------------------------------------------------------------------------------------


def read_performed(redis_url: str) -> list[dict[str, Any]]:
    """The entries ``RecordArgs``/``Slow`` appended to :data:`PERFORMED_KEY`, oldest first."""
    client = redis.Redis.from_url(redis_url)
    try:
        raw: list[bytes] = client.lrange(PERFORMED_KEY, 0, -1)  # type: ignore[assignment]
    finally:
        client.close()
    return [json.loads(item) for item in raw]


def wait_for_performed(
    redis_url: str, count: int, timeout: float = 30.0, interval: float = 0.05
) -> list[dict[str, Any]]:
    """Poll until at least ``count`` jobs were recorded; raise TimeoutError with what was."""
    deadline = time.monotonic() + timeout
    while True:
        performed = read_performed(redis_url)
        if len(performed) >= count:
            return performed
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"{len(performed)} of {count} jobs recorded after {timeout}s: {performed!r}"
            )
        time.sleep(interval)
