"""The real resque-web, an HTML reader and headless Chromium, for the resque-web tests.

resque-web is Ruby Resque's Sinatra app (``Resque::Server``, ``lib/resque/server.rb``); it
reads the Redis schema directly, so it is the sharpest judge of whether what a Python worker
writes looks, to a Ruby operator, like what a Ruby worker writes. :class:`ResqueWeb` starts it
unchanged (``ruby_fixtures/resque_web.ru`` on WEBrick, a loopback port the kernel picks) and
speaks HTTP to it the way its pages do: plain GETs for pages and links, the ``XMLHttpRequest``
GET its Retry link sends, form POSTs carrying the browser's ``Origin``.

Pages are read with :func:`parse_html` (stdlib ``html.parser`` into a small tree) rather than
string matching, so a check names the element it means (``td.where a``) and fails on markup
that only looks right as text. :func:`render_in_chromium` runs Debian's ``chromium`` headless:
resque-web turns times into "3 minutes ago" with jQuery, and only a browser shows whether a
time we wrote parses (``NaN days ago`` when it does not).
"""

from __future__ import annotations

import contextlib
import html
import http.client
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from urllib.parse import urlencode, urlsplit

import pytest

from .runtimes import RUBY_FIXTURES, RuntimeProcess, start_ruby

RESQUE_WEB_RU = RUBY_FIXTURES / "resque_web.ru"

_LISTENING = re.compile(r"resque-web listening on (http://[^\s/]+)/")

#: What an error page carries: Sinatra's exception page (development mode, the default),
#: Rack's plain-text one, resque-web's own "Can't connect to Redis!" and any Ruby frame.
ERROR_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Internal Server Error", re.compile(r"Internal Server Error")),
    ("NoMethodError", re.compile(r"NoMethodError")),
    ("Sinatra's exception page", re.compile(r"<title>[\w:]+ at /|id=['\"]backtrace")),
    # A frame as plain text ("x.rb:12:in `m'") or as Sinatra's page lists it ("x.rb</code> in").
    ("a Ruby backtrace", re.compile(r"\.rb(?::\d+:in [`']|</code>\s+in\b)")),
    ("resque-web's Redis error", re.compile(r"Can't connect to Redis")),
)


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """One HTTP answer of resque-web, body decoded as the UTF-8 it always is."""

    method: str
    path: str
    status: int
    headers: Mapping[str, str]
    body: str

    @property
    def location(self) -> str:
        """The path a redirect points to (resque-web sends absolute URLs)."""
        return urlsplit(self.headers.get("location", "")).path

    def describe(self) -> str:
        return f"{self.method} {self.path} -> {self.status}\n{self.body[:3000]}"


def page_errors(body: str) -> list[str]:
    """The error-page markers found in ``body`` (empty for a healthy page).

    Entities are decoded first: Sinatra's exception page escapes ``/`` in paths as ``&#x2F;``.
    """
    text = html.unescape(body)
    return [name for name, pattern in ERROR_MARKERS if pattern.search(text)]


class ResqueWeb:
    """A running resque-web against one Redis; a context manager that stops it."""

    def __init__(self, process: RuntimeProcess, base_url: str) -> None:
        self.process = process
        self.base_url = base_url
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80

    @classmethod
    def start(
        cls,
        redis_url: str,
        timeout: float = 60.0,
        *,
        script: Path = RESQUE_WEB_RU,
        env: Mapping[str, str] | None = None,
        version: str | None = None,
    ) -> ResqueWeb:
        """Start ``ruby_fixtures/resque_web.ru`` (or another ``script`` that prints the same
        "listening" line) and wait until it answers HTTP.

        ``version`` picks a Ruby Resque of the version matrix (see ``runtimes.start_ruby``);
        the fixture runs ``Resque::Server`` on WEBrick itself, so 1.27's ``bin/resque-web``
        (which needs the missing ``vegas`` gem) is never involved.
        """
        process = start_ruby(str(script), redis_url, env=env, version=version)
        try:
            base_url = _wait_for_listening(process, timeout)
            web = cls(process, base_url)
            web._wait_until_serving(timeout)
        except BaseException:
            process.stop()
            raise
        return web

    def _wait_until_serving(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.get("/overview")
                return
            except OSError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """One request; redirects are returned, not followed, so tests see where they go."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            answer = connection.getresponse()
            content = answer.read().decode("utf-8", errors="replace")
            found = {name.lower(): value for name, value in answer.getheaders()}
            return Response(method, path, answer.status, found, content)
        finally:
            connection.close()

    def get(self, path: str, *, xhr: bool = False) -> Response:
        """A GET; ``xhr`` adds the header jQuery's ``$.ajax`` sends (the Retry link's way)."""
        headers = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        if xhr:
            headers = {"Accept": "text/plain, */*; q=0.01", "X-Requested-With": "XMLHttpRequest"}
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, fields: Mapping[str, str] | None = None) -> Response:
        """Submit a form as a browser does: urlencoded body, the page's ``Origin``."""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": self.base_url,
            "Referer": self.url("/failed"),
        }
        body = urlencode(dict(fields or {})).encode()
        return self.request("POST", path, body=body, headers=headers)

    def page(self, path: str) -> Element:
        """GET a page, insist on a healthy 200, and return it parsed."""
        response = self.get(path)
        assert response.status == 200, response.describe()
        problems = page_errors(response.body)
        assert not problems, f"{path} shows {problems}:\n{response.describe()}"
        return parse_html(response.body)

    def log(self) -> str:
        """What resque-web wrote to stderr: access log lines and Sinatra's backtraces."""
        return self.process.output()[1]

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self) -> ResqueWeb:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _wait_for_listening(process: RuntimeProcess, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        stdout, stderr = process.output()
        found = _LISTENING.search(stdout)
        if found:
            return found.group(1)
        if not process.alive() or time.monotonic() >= deadline:
            raise RuntimeError(
                f"resque-web did not start\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
            )
        time.sleep(0.05)


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass
class Element:
    """An HTML element: enough of a DOM to find things by tag and class and read their text."""

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        """All text inside, as the browser's ``textContent`` has it (entities decoded)."""
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def words(self) -> str:
        """The text with runs of whitespace collapsed: what a reader sees."""
        return " ".join(self.text().split())

    def iter(self) -> Iterator[Element]:
        """This element and every element inside it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        """Descendants (and self) with this tag and/or class, in document order."""
        return [
            e
            for e in self.iter()
            if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)
        ]

    def find(self, tag: str | None = None, cls: str | None = None) -> Element:
        """The first match; an AssertionError showing this element's text when none."""
        found = self.find_all(tag, cls)
        assert found, f"no <{tag or '*'}{'.' + cls if cls else ''}> in: {self.words()[:500]}"
        return found[0]

    def by_id(self, element_id: str) -> Element:
        for element in self.iter():
            if element.attrs.get("id") == element_id:
                return element
        raise AssertionError(f"no element with id {element_id!r}")

    def links(self) -> list[Element]:
        return self.find_all("a")


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document")
        self._open: list[Element] = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self._open[-1].children.append(element)
        if tag not in _VOID_TAGS:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching open element; a stray end tag closes nothing.
        for depth in range(len(self._open) - 1, 0, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._open[-1].children.append(data)


def parse_html(document: str) -> Element:
    """Parse a page into an :class:`Element` tree rooted at ``#document``."""
    builder = _TreeBuilder()
    builder.feed(document)
    builder.close()
    return builder.root


# --------------------------------------------------------------------------------------------
# Headless Chromium
# --------------------------------------------------------------------------------------------

_CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)


def chromium_executable() -> str | None:
    """Debian's ``chromium`` (never a downloaded browser), or None when not installed."""
    return shutil.which("chromium")


def chromium_skip_reason() -> str | None:
    if chromium_executable() is None:
        return (
            "chromium not found on PATH: `apt-get install -y chromium` (Debian's package) "
            "to run the headless-browser check of resque-web"
        )
    return None


_CHROMIUM_SKIP_REASON = chromium_skip_reason()

SCREENSHOTS_ENV = "RESQUE_WEB_SCREENSHOTS"


def screenshot_dir(tmp_path: Path) -> Path:
    """``$RESQUE_WEB_SCREENSHOTS`` (e.g. ``docs/img``) when set, else the test's tmp dir:
    the docs' screenshots are refreshed by running the browser tests with it set."""
    configured = os.environ.get(SCREENSHOTS_ENV, "")
    if not configured:
        return tmp_path
    directory = Path(configured)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


#: Marks a test that drives headless Chromium; skipped, saying why, when it is absent.
requires_chromium = pytest.mark.skipif(
    _CHROMIUM_SKIP_REASON is not None, reason=_CHROMIUM_SKIP_REASON or ""
)


def render_in_chromium(url: str, screenshot: Path | None = None, timeout: float = 60.0) -> str:
    """The DOM of ``url`` after its scripts ran (``--dump-dom``), optionally a screenshot.

    Each call gets a fresh profile directory, removed afterwards. The browser runs in its
    own session so a hang is ended by killing its whole process group (renderers included).
    """
    executable = chromium_executable()
    if executable is None:
        raise RuntimeError(_CHROMIUM_SKIP_REASON or "chromium not found")
    with tempfile.TemporaryDirectory(prefix="resque-web-chromium-") as profile:
        command = [executable, *_CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom"]
        if screenshot is not None:
            command.append(f"--screenshot={screenshot.resolve()}")
        command.append(url)
        stdout, stderr, returncode = _run_browser(command, timeout)
    if returncode != 0 or "<html" not in stdout:
        raise RuntimeError(f"chromium failed ({returncode}) on {url}:\n{stderr[-3000:]}")
    return stdout


def _run_browser(command: list[str], timeout: float) -> tuple[str, str, int]:
    with subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "LANG": "C.UTF-8"},
    ) as browser:
        try:
            stdout, stderr = browser.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(browser.pid, signal.SIGKILL)
            browser.communicate()
            raise
        return stdout, stderr, browser.returncode
