"""The real server for the client-library tests, and an OAuth client to use with it."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import authlib.deprecate
import pytest

from tests.live_server import LiveServer, running

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
