"""The real server for the client-library tests, and an OAuth client to use with it."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import authlib.deprecate
import pytest

from tests.integrations.people import Administrator, Person
from tests.live_server import AGENT_PASSWORD, LiveServer, running
from tests.oauth_app import CallbackApp, metadata_or_skip

# Authlib's httpx integration announces on import that it prefers the httpx2
# package, through an "always" filter that importing authlib.deprecate
# installs; import the integration once here, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    import authlib.integrations.httpx_client

PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
)


@pytest.fixture(autouse=True)
def _clean_database() -> None:
    """Replaces the suite's cleaner: these tests use the server's own database."""


@pytest.fixture(autouse=True)
def _direct_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Libraries that read proxy settings (urllib, requests) go straight to 127.0.0.1."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running(tmp_path_factory.mktemp("integrations-server")) as server:
        yield server


@pytest.fixture(scope="session")
def client_id(live_server: LiveServer) -> str:
    """The guide's kind of client: public, allowed the password grant."""
    return live_server.create_client("Integration App", "Used by the client-library tests.")


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


@pytest.fixture(scope="session")
def agent(live_server: LiveServer) -> tuple[str, str]:
    """The person who grants apps access to their account: an agent."""
    email = "agent@example.com"
    live_server.create_user(email, AGENT_PASSWORD, role="agent", name="Avery Agent")
    return email, AGENT_PASSWORD


@pytest.fixture
def person(live_server: LiveServer, agent: tuple[str, str]) -> Iterator[Person]:
    with Person(live_server, *agent) as someone:
        yield someone


@pytest.fixture
def admin(live_server: LiveServer) -> Iterator[Administrator]:
    with Administrator(live_server, live_server.admin_email, live_server.admin_password) as who:
        yield who


@pytest.fixture
def code_client(live_server: LiveServer, admin: Administrator, callback_app: CallbackApp) -> str:
    """A client set up for the authorization-code flow on its Action > Edit page."""
    client_id = live_server.create_client(
        f"Calendar Sync {uuid.uuid4().hex[:8]}", "Puts ticket due dates in your calendar."
    )
    admin.allow_code_flow(client_id, callback_app.redirect_uri)
    return client_id
