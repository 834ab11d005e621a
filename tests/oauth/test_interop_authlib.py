"""A third-party library (Authlib's OAuth 2.0 client) runs the whole flow from metadata."""

from __future__ import annotations

import warnings
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from tests.helpers import bearer, csrf_from, login
from tests.oauth.flows import REDIRECT_URI, SECRET, configure

with warnings.catch_warnings():
    # Authlib installs an "always" filter for its own deprecation notices on import
    # (it prefers httpx2 to httpx); install it first, then silence it here.
    import authlib.deprecate

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.common.security import generate_token
    from authlib.integrations.httpx_client import AsyncOAuth2Client


async def browser_consent(http: httpx.AsyncClient, url: str) -> str:
    """The user's part: open the authorization URL, press Allow, return the callback."""
    page = await http.get(url)
    assert page.status_code == 200, page.text
    params = dict(httpx.URL(url).params)
    answer = await http.post(
        "/oauth/authorize",
        data={**params, "csrf_token": csrf_from(page.text), "decision": "allow"},
    )
    location: str = answer.headers["location"]
    return location


@pytest.mark.parametrize("confidential", [False, True], ids=["public", "confidential"])
async def test_authlib_client_code_flow_refresh_introspect_revoke(
    app: FastAPI,
    http: httpx.AsyncClient,
    db: AsyncSession,
    oauth_client: OAuthClient,
    admin: User,
    platform: Platform,
    confidential: bool,
) -> None:
    client = await configure(db, oauth_client, confidential=confidential)
    meta = (await http.get("/.well-known/oauth-authorization-server")).json()
    async with AsyncOAuth2Client(
        client_id=client.client_id,
        client_secret=SECRET if confidential else None,
        token_endpoint_auth_method="client_secret_basic" if confidential else "none",
        revocation_endpoint_auth_method="client_secret_basic" if confidential else "none",
        redirect_uri=REDIRECT_URI,
        scope="tickets:read profile",
        code_challenge_method="S256",
        transport=httpx.ASGITransport(app=app),
    ) as oauth:
        verifier = generate_token(48)
        url, _state = oauth.create_authorization_url(
            meta["authorization_endpoint"], code_verifier=verifier
        )
        await login(http, admin.email)
        callback = await browser_consent(http, url)
        token: dict[str, Any] = await oauth.fetch_token(
            meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
        )
        assert token["scope"] == "profile tickets:read"
        refreshed = await oauth.refresh_token(meta["token_endpoint"])
        assert refreshed["refresh_token"] != token["refresh_token"]
        seen = await oauth.introspect_token(
            meta["introspection_endpoint"], token=refreshed["access_token"]
        )
        if confidential:
            assert seen.json()["active"] is True
        else:  # RFC 7662 §2.1: a client_id alone does not authorize introspection
            assert seen.status_code == 401
            assert seen.json()["error"] == "invalid_client"
        revoked = await oauth.revoke_token(
            meta["revocation_endpoint"],
            token=refreshed["refresh_token"],
            token_type_hint="refresh_token",
        )
        assert revoked.status_code == 200
    # Revoking the refresh token ended the access tokens issued with it.
    await platform.revocations.refresh()
    me = await http.get("/api/v1/me", headers=bearer(refreshed["access_token"]))
    assert me.status_code == 401
