"""The guide's password grant through the client libraries integrators use.

requests-oauthlib's ``LegacyApplicationClient`` sends ``username`` (RFC 6749
§4.3.2), and by default presents a public client as HTTP Basic with an empty
secret; Authlib's httpx client sends ``client_id`` in the body.
"""

from __future__ import annotations

from typing import Any

import pytest
from authlib.integrations.httpx_client import OAuth2Client
from oauthlib.oauth2 import LegacyApplicationClient
from requests_oauthlib import OAuth2Session

from tests.live_server import LiveServer

pytestmark = pytest.mark.slow


def assert_bearer_token(token: dict[str, Any]) -> None:
    assert token["token_type"].lower() == "bearer"
    assert token["access_token"].count(".") == 2
    assert token["expires_in"] > 0
    assert "tickets:read" in token["scope"]


@pytest.mark.parametrize(
    "include_client_id",
    [pytest.param(None, id="client-as-basic-auth"), pytest.param(True, id="client-id-in-body")],
)
def test_requests_oauthlib_legacy_application_client(
    live_server: LiveServer,
    client_id: str,
    include_client_id: bool | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on 127.0.0.1
    with OAuth2Session(client=LegacyApplicationClient(client_id=client_id)) as session:
        session.trust_env = False
        token = session.fetch_token(
            token_url=live_server.url("/oauth/token"),
            username=live_server.admin_email,
            password=live_server.admin_password,
            include_client_id=include_client_id,
            timeout=10,
        )
        assert_bearer_token(token)
        me = session.get(live_server.url("/api/v1/me"), timeout=10)
    assert me.status_code == 200, me.text
    assert me.json()["user"]["email"] == live_server.admin_email
    assert me.json()["client"]["client_id"] == client_id


def test_requests_oauthlib_reports_a_wrong_password_as_invalid_grant(
    live_server: LiveServer, client_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oauthlib.oauth2.rfc6749.errors import InvalidGrantError

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    with OAuth2Session(client=LegacyApplicationClient(client_id=client_id)) as session:
        session.trust_env = False
        with pytest.raises(InvalidGrantError):
            session.fetch_token(
                token_url=live_server.url("/oauth/token"),
                username=live_server.admin_email,
                password="not-the-password",
                include_client_id=True,
                timeout=10,
            )


def test_authlib_httpx_client_password_grant(live_server: LiveServer, client_id: str) -> None:
    with OAuth2Client(
        client_id=client_id, token_endpoint_auth_method="none", trust_env=False, timeout=10
    ) as client:
        token = client.fetch_token(
            live_server.url("/oauth/token"),
            grant_type="password",
            username=live_server.admin_email,
            password=live_server.admin_password,
        )
        assert_bearer_token(token)
        me = client.get(live_server.url("/api/v1/me"))
        tickets = client.get(live_server.url("/api/v1/tickets"))
    assert me.status_code == 200, me.text
    assert me.json()["user"]["role"] == "admin"
    assert tickets.status_code == 200, tickets.text
    assert isinstance(tickets.json()["data"], list)


def test_authlib_raises_the_rfc6749_error_of_an_unknown_client(live_server: LiveServer) -> None:
    from authlib.integrations.base_client.errors import OAuthError

    with (
        OAuth2Client(
            client_id="no-such-client", token_endpoint_auth_method="none", trust_env=False
        ) as client,
        pytest.raises(OAuthError) as raised,
    ):
        client.fetch_token(
            live_server.url("/oauth/token"),
            grant_type="password",
            username=live_server.admin_email,
            password=live_server.admin_password,
        )
    assert raised.value.error == "invalid_client"
