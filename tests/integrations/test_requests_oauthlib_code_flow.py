"""requests-oauthlib's ``OAuth2Session``: the authorization-code flow with PKCE S256.

The session makes the state, the code_verifier and its challenge, checks the
state of the redirect it is handed, and sends the verifier with the code.
"""

from __future__ import annotations

from typing import Any

import pytest
from requests_oauthlib import OAuth2Session

from tests.integrations.people import Person
from tests.live_server import LiveServer
from tests.oauth_app import CallbackApp

pytestmark = [pytest.mark.slow, pytest.mark.needs_oauth_server]

SCOPE = ["profile", "tickets:read"]


@pytest.mark.parametrize(
    "include_client_id",
    [pytest.param(None, id="client-as-basic-auth"), pytest.param(True, id="client-id-in-body")],
)
def test_oauth2session_code_flow_with_pkce(
    oauth_metadata: dict[str, Any],
    code_client: str,
    callback_app: CallbackApp,
    person: Person,
    live_server: LiveServer,
    include_client_id: bool | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on 127.0.0.1
    with OAuth2Session(
        code_client, redirect_uri=callback_app.redirect_uri, scope=SCOPE, pkce="S256"
    ) as session:
        session.trust_env = False
        url, state = session.authorization_url(oauth_metadata["authorization_endpoint"])
        assert "code_challenge_method=S256" in url
        callback = person.visit(url)
        token = session.fetch_token(
            oauth_metadata["token_endpoint"],
            authorization_response=callback,
            include_client_id=include_client_id,
            timeout=10,
        )
        assert set(token["scope"]) == set(SCOPE)
        assert token.get("refresh_token")
        me = session.get(live_server.url("/api/v1/me"), timeout=10)
    assert me.status_code == 200, me.text
    assert me.json()["user"]["email"] == person.email
    assert state in callback
