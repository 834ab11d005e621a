"""RFC 8414: the document a client library configures itself from."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.live_server import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.needs_oauth_server]

ENDPOINTS = (
    "authorization_endpoint",
    "token_endpoint",
    "revocation_endpoint",
    "introspection_endpoint",
    "jwks_uri",
)


def test_metadata_names_this_server_and_every_endpoint(
    oauth_metadata: dict[str, Any], live_server: LiveServer
) -> None:
    issuer = oauth_metadata["issuer"]
    assert issuer == live_server.base_url
    for name in ENDPOINTS:
        assert oauth_metadata[name].startswith(issuer + "/"), name
    assert oauth_metadata["token_endpoint"] == issuer + "/oauth/token"
    assert oauth_metadata["jwks_uri"] == issuer + "/.well-known/jwks.json"
    assert "code" in oauth_metadata["response_types_supported"]
    assert {"authorization_code", "refresh_token", "password"} <= set(
        oauth_metadata["grant_types_supported"]
    )
    assert oauth_metadata["code_challenge_methods_supported"] == ["S256"]
    assert "none" in oauth_metadata["token_endpoint_auth_methods_supported"]
    assert {"profile", "tickets:read"} <= set(oauth_metadata["scopes_supported"])


def test_every_endpoint_in_the_metadata_answers(oauth_metadata: dict[str, Any]) -> None:
    with httpx.Client(trust_env=False, timeout=10) as http:
        assert http.get(oauth_metadata["jwks_uri"]).json()["keys"]
        # The POST endpoints answer an empty request with an RFC 6749 error, not 404/405.
        for name in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
            response = http.post(oauth_metadata[name], data={})
            assert response.status_code in (400, 401), (name, response.status_code)
            assert "error" in response.json(), name
        authorize = http.get(oauth_metadata["authorization_endpoint"])
        assert authorize.status_code not in (404, 405, 500)
