"""Authlib's httpx client, configured from the RFC 8414 metadata document alone.

Code flow with PKCE S256 through the consent page, automatic refresh with
rotation (RFC 9700 §4.14: reusing a rotated refresh token ends the family),
revocation (RFC 7009) and introspection (RFC 7662).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client

from tests.integrations.people import Administrator, Person
from tests.live_server import LiveServer
from tests.oauth_app import (
    REVOCATION_DEADLINE,
    CallbackApp,
    api_status,
    assert_refused_soon,
    token_request,
)

pytestmark = [pytest.mark.slow, pytest.mark.needs_oauth_server]

SCOPE = "profile tickets:read"


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def make_client(
    metadata: dict[str, Any],
    client_id: str,
    app: CallbackApp,
    client_secret: str | None = None,
    auth_method: str = "none",
    **kwargs: Any,
) -> OAuth2Client:
    return OAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method=auth_method,
        revocation_endpoint_auth_method=auth_method,
        redirect_uri=app.redirect_uri,
        scope=SCOPE,
        code_challenge_method="S256",
        token_endpoint=metadata["token_endpoint"],
        trust_env=False,
        timeout=10,
        **kwargs,
    )


def code_flow(client: OAuth2Client, metadata: dict[str, Any], person: Person) -> dict[str, Any]:
    """Authorization request, the person's Allow, the code exchanged with its verifier."""
    verifier = generate_token(48)
    url, state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier
    )
    callback = person.visit(url)
    assert callback.startswith(client.redirect_uri + "?"), callback
    token: dict[str, Any] = client.fetch_token(
        metadata["token_endpoint"],
        authorization_response=callback,
        state=state,
        code_verifier=verifier,
    )
    return token


@pytest.fixture
def authlib_client(
    oauth_metadata: dict[str, Any], code_client: str, callback_app: CallbackApp
) -> Iterator[OAuth2Client]:
    with make_client(oauth_metadata, code_client, callback_app) as client:
        yield client


def test_code_flow_with_pkce(
    authlib_client: OAuth2Client,
    oauth_metadata: dict[str, Any],
    person: Person,
    live_server: LiveServer,
) -> None:
    token = code_flow(authlib_client, oauth_metadata, person)
    assert token["token_type"].lower() == "bearer"
    assert set(token["scope"].split()) == set(SCOPE.split())
    assert token.get("refresh_token")
    me = authlib_client.get(live_server.url("/api/v1/me"))
    assert me.status_code == 200, me.text
    assert me.json()["user"]["email"] == person.email


def test_automatic_refresh_rotates_and_reuse_ends_the_family(
    authlib_client: OAuth2Client,
    oauth_metadata: dict[str, Any],
    person: Person,
    live_server: LiveServer,
    code_client: str,
) -> None:
    first = code_flow(authlib_client, oauth_metadata, person)
    updates: list[dict[str, Any]] = []
    authlib_client.update_token = lambda token, **_: updates.append(dict(token))

    # The access token looks expired to the client: its next call refreshes first.
    authlib_client.token = {**first, "expires_at": int(time.time()) - 120}
    me = authlib_client.get(live_server.url("/api/v1/me"))
    assert me.status_code == 200, me.text
    assert len(updates) == 1, "Authlib did not refresh the token"
    second = updates[0]
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"], "the refresh token was not rotated"

    # The rotated-out refresh token is refused, and presenting it ends the family:
    # the newest refresh token and its access token stop working too.
    def refresh(refresh_token: str) -> dict[str, Any]:
        response = token_request(
            live_server,
            oauth_metadata["token_endpoint"],
            grant_type="refresh_token",
            refresh_token=refresh_token,
            client_id=code_client,
        )
        assert response.status_code == 400, response.text
        body: dict[str, Any] = response.json()
        return body

    assert refresh(first["refresh_token"])["error"] == "invalid_grant"
    assert refresh(second["refresh_token"])["error"] == "invalid_grant"
    assert_refused_soon(live_server, second["access_token"])


def test_revocation_rfc7009(
    authlib_client: OAuth2Client,
    oauth_metadata: dict[str, Any],
    person: Person,
    live_server: LiveServer,
) -> None:
    endpoint = oauth_metadata["revocation_endpoint"]
    token = code_flow(authlib_client, oauth_metadata, person)
    assert api_status(live_server, token["access_token"]) == 200

    revoked = authlib_client.revoke_token(
        endpoint, token=token["access_token"], token_type_hint="access_token"
    )
    assert revoked.status_code == 200, revoked.text
    assert_refused_soon(live_server, token["access_token"])

    # Revoking the refresh token ends it; an unknown token is answered 200 too (§2.2).
    assert authlib_client.revoke_token(endpoint, token=token["refresh_token"]).status_code == 200
    with pytest.raises(OAuthError, match="invalid_grant"):
        authlib_client.refresh_token(
            oauth_metadata["token_endpoint"], refresh_token=token["refresh_token"]
        )
    assert authlib_client.revoke_token(endpoint, token="not-a-token").status_code == 200


def introspection_auth(
    metadata: dict[str, Any], admin: Administrator, client_id: str
) -> tuple[str | None, str]:
    """The client authentication the metadata says introspection accepts (RFC 8414 §2).

    A public client introspects with its client_id alone when "none" is listed;
    otherwise the client is made confidential with Generate client secret.
    """
    methods = metadata.get("introspection_endpoint_auth_methods_supported") or [
        "client_secret_basic"  # RFC 8414's default
    ]
    if "none" in methods:
        return None, "none"
    secret = admin.generate_client_secret(client_id)
    method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    return secret, method


def test_introspection_rfc7662(
    oauth_metadata: dict[str, Any],
    code_client: str,
    callback_app: CallbackApp,
    admin: Administrator,
    person: Person,
) -> None:
    secret, method = introspection_auth(oauth_metadata, admin, code_client)
    endpoint = oauth_metadata["introspection_endpoint"]
    with make_client(
        oauth_metadata, code_client, callback_app, client_secret=secret, auth_method=method
    ) as client:
        token = code_flow(client, oauth_metadata, person)

        def introspect(value: str) -> dict[str, Any]:
            response = client.introspect_token(endpoint, token=value)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        active = introspect(token["access_token"])
        assert active["active"] is True
        assert active["client_id"] == code_client
        assert set(active["scope"].split()) == set(SCOPE.split())
        assert active["exp"] > time.time()
        assert introspect(token["refresh_token"])["active"] is True
        assert introspect("not-a-token") == {"active": False}

        revoked = client.revoke_token(
            oauth_metadata["revocation_endpoint"], token=token["refresh_token"]
        )
        assert revoked.status_code == 200, revoked.text
        assert introspect(token["refresh_token"])["active"] is False
        # Its access tokens end with it, on every process within the revocation deadline.
        deadline = time.monotonic() + REVOCATION_DEADLINE
        while introspect(token["access_token"])["active"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert introspect(token["access_token"]) == {"active": False}


def test_a_code_is_single_use_and_bound_to_its_verifier(
    authlib_client: OAuth2Client,
    oauth_metadata: dict[str, Any],
    code_client: str,
    callback_app: CallbackApp,
    person: Person,
    live_server: LiveServer,
) -> None:
    def new_code() -> tuple[str, str]:
        verifier = generate_token(48)
        url, _ = authlib_client.create_authorization_url(
            oauth_metadata["authorization_endpoint"], code_verifier=verifier
        )
        return query_of(person.visit(url))["code"], verifier

    def exchange(code: str, code_verifier: str) -> tuple[int, str | None]:
        response = token_request(
            live_server,
            oauth_metadata["token_endpoint"],
            grant_type="authorization_code",
            code=code,
            redirect_uri=callback_app.redirect_uri,
            client_id=code_client,
            code_verifier=code_verifier,
        )
        return response.status_code, response.json().get("error")

    # A verifier other than the one the challenge was made from (RFC 7636 §4.6).
    code, _ = new_code()
    assert exchange(code, generate_token(48)) == (400, "invalid_grant")
    # A second use of a code that worked (RFC 6749 §4.1.2).
    code, verifier = new_code()
    assert exchange(code, verifier)[0] == 200
    assert exchange(code, verifier) == (400, "invalid_grant")


def test_deny_sends_access_denied_to_the_app(
    authlib_client: OAuth2Client,
    oauth_metadata: dict[str, Any],
    person: Person,
) -> None:
    url, state = authlib_client.create_authorization_url(
        oauth_metadata["authorization_endpoint"], code_verifier=generate_token(48)
    )
    query = query_of(person.visit(url, decision="Deny"))
    assert query["error"] == "access_denied"
    assert query["state"] == state
    assert "code" not in query
