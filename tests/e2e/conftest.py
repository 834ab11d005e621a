"""Browser fixtures: the real server, Debian's Chromium through Playwright, artefacts.

Where no Chromium can be found the browser tests skip and say why, so the
README's test command passes on a machine without root; CI sets
``CLOUDCX_REQUIRE_BROWSER=1`` and there a missing browser fails the run.
When a test fails, a screenshot and the HTML of every page it had open are kept
under ``test-artifacts/`` with the server's log.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Request,
    Response,
    Route,
    expect,
    sync_playwright,
)

from tests.e2e.watch import PageProblems
from tests.live_server import LiveServer, running
from tests.oauth_app import CallbackApp, metadata_or_skip

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ACTION_TIMEOUT_MS = 10_000
EXPECT_TIMEOUT_MS = 5_000
LAUNCH_TIMEOUT_MS = 30_000
ABORTED = "net::ERR_ABORTED"
HTTP_STATUS_MESSAGE = "Failed to load resource: the server responded with a status of"
LOCAL_PREFIXES = ("http://127.0.0.1:", "about:", "data:", "blob:")

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's outcome so fixtures can tell whether the test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def _failed(item: pytest.Item) -> bool:
    return any(r.failed for r in item.stash.get(_REPORTS, {}).values())


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running(tmp_path_factory.mktemp("e2e-server")) as server:
        yield server


def find_chromium() -> str | None:
    explicit = os.environ.get("CLOUDCX_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CLOUDCX_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (CLOUDCX_REQUIRE_BROWSER=1 requires the browser tests to run)")
    pytest.skip(f"{reason}; install it with `apt-get install chromium` to run the browser tests")


@pytest.fixture(autouse=True)
def _clean_database() -> None:
    """Replaces the suite's cleaner: these tests use the server's own database.

    It also keeps asyncio out of this package. Playwright's sync API marks its
    event loop as running between calls, so no async fixture may run while a
    browser is open; the browser fixtures are package-scoped for the same
    reason, closing before the asynchronous tests of other packages run.
    """


@pytest.fixture(autouse=True)
def _reset_throttle() -> None:
    """Replaces the suite's async throttle reset, for the reason given above: the
    server under test runs in its own process with its own counters."""


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        _unavailable("no Chromium found (looked for chromium, chromium-browser, $CLOUDCX_CHROMIUM)")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, timeout=LAUNCH_TIMEOUT_MS
            )
        except Error as exc:
            _unavailable(f"Chromium at {executable} did not start: {exc.message.splitlines()[0]}")
        expect.set_options(timeout=EXPECT_TIMEOUT_MS)
        yield browser
        browser.close()


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


def _watch(context: BrowserContext, problems: PageProblems) -> None:
    def on_console(message: ConsoleMessage) -> None:
        # Chromium logs every 4xx answer, intended ones too (a 403 or 422 page);
        # on_response judges HTTP statuses, so those messages are left to it.
        if message.type == "error" and not message.text.startswith(HTTP_STATUS_MESSAGE):
            problems.add("console error", f"{message.text} ({message.location.get('url')})")

    def on_failed(request: Request) -> None:
        # ERR_ABORTED is the browser dropping a request a navigation made moot (a
        # script still loading when a link is followed); blocked requests show
        # up on their own as a CSP console error or a request outside 127.0.0.1.
        if request.failure == ABORTED:
            return
        problems.add("request failed", f"{request.method} {request.url}: {request.failure}")

    def on_response(response: Response) -> None:
        # An expected 4xx page (403, 422) is a document; a failing asset or any 5xx is not.
        if response.status >= 500 or (
            response.status >= 400 and response.request.resource_type != "document"
        ):
            problems.add("bad response", f"{response.status} {response.url}")

    def outside(route: Route) -> None:
        problems.add("request outside 127.0.0.1", route.request.url)
        route.abort()

    # The tests talk to 127.0.0.1 only; a page reaching elsewhere is a defect too.
    context.route(lambda url: not url.startswith(LOCAL_PREFIXES), outside)
    context.on("console", on_console)
    context.on("requestfailed", on_failed)
    context.on("response", on_response)
    context.on("weberror", lambda error: problems.add("page error", str(error.error)))


def _safe_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:150]


def keep_artifacts(
    request: pytest.FixtureRequest, context: BrowserContext, server: LiveServer
) -> Path:
    """Screenshots and HTML of every open page, and the server log, for a failed test."""
    target = request.config.rootpath / "test-artifacts" / _safe_name(request.node.nodeid)
    target.mkdir(parents=True, exist_ok=True)
    for n, page in enumerate(context.pages):
        try:
            page.screenshot(path=str(target / f"page{n}.png"), full_page=True, timeout=5_000)
            (target / f"page{n}.html").write_text(
                f"<!-- {page.url} -->\n{page.content()}", encoding="utf-8"
            )
        except Error as exc:  # a crashed or closed page still leaves the others
            (target / f"page{n}.error.txt").write_text(str(exc), encoding="utf-8")
    (target / "server.log").write_text(server.log(), encoding="utf-8")
    return target


def new_context(
    browser: Browser, server: LiveServer, problems: PageProblems, **options: object
) -> BrowserContext:
    context = browser.new_context(base_url=server.base_url, **options)  # type: ignore[arg-type]
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
    _watch(context, problems)
    return context


@pytest.fixture
def context(
    request: pytest.FixtureRequest,
    browser: Browser,
    live_server: LiveServer,
    problems: PageProblems,
) -> Iterator[BrowserContext]:
    context = new_context(browser, live_server, problems)
    yield context
    try:
        if _failed(request.node) or problems:
            where = keep_artifacts(request, context, live_server)
            problems.artifacts = str(where)
    finally:
        context.close()
    # Checked after every test, so a page that logs an error or loses a request
    # fails even when every assertion of the test held.
    problems.assert_none()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def oauth_metadata(live_server: LiveServer) -> dict[str, Any]:
    """The RFC 8414 document; skips the test while the server answers 404 for it."""
    return metadata_or_skip(live_server)


@pytest.fixture(autouse=True)
def _needs_oauth_server(request: pytest.FixtureRequest) -> None:
    """Tests marked ``needs_oauth_server`` run once the server publishes its metadata."""
    if request.node.get_closest_marker("needs_oauth_server"):
        request.getfixturevalue("oauth_metadata")


@pytest.fixture
def callback_app() -> Iterator[CallbackApp]:
    """A third-party web app on a free port, with its redirect URI."""
    with CallbackApp() as app:
        yield app
