"""RFC 8414: authorization server metadata, and a client that needs nothing else."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import bearer, csrf_from, login
from tests.oauth.flows import REDIRECT_URI, SECRET, configure

WELL_KNOWN = "/.well-known/oauth-authorization-server"


async def test_document(http: httpx.AsyncClient, tenant: TenantInfo) -> None:
    response = await http.get(WELL_KNOWN)
    assert response.status_code == 200
    meta = response.json()
    assert meta["issuer"] == "http://localhost"
    assert meta["authorization_endpoint"] == "http://localhost/oauth/authorize"
    assert meta["token_endpoint"] == "http://localhost/oauth/token"
    assert meta["revocation_endpoint"] == "http://localhost/oauth/revoke"
    assert meta["introspection_endpoint"] == "http://localhost/oauth/introspect"
    assert meta["jwks_uri"] == "http://localhost/.well-known/jwks.json"
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["token_endpoint_auth_methods_supported"] == [
        "none",
        "client_secret_basic",
        "client_secret_post",
    ]
    # RFC 7662 §2.1: introspection always needs client authentication.
    assert meta["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert set(meta["grant_types_supported"]) == {
        "password",
        "authorization_code",
        "refresh_token",
        "client_credentials",
    }
    assert {"tickets:read", "contacts:write", "users:read"} <= set(meta["scopes_supported"])


async def test_issuer_follows_the_tenant_host(
    http: httpx.AsyncClient, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    meta = (await http.get(WELL_KNOWN, headers={"Host": "globex.example"})).json()
    assert meta["issuer"] == "http://globex.example"
    assert meta["token_endpoint"] == "http://globex.example/oauth/token"


async def test_unknown_host_is_404(http: httpx.AsyncClient, tenant: TenantInfo) -> None:
    response = await http.get(WELL_KNOWN, headers={"Host": "nobody.example"})
    assert response.status_code == 404


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    return await configure(db, oauth_client, confidential=True)


async def test_a_client_using_only_the_metadata(
    http: httpx.AsyncClient, platform: Platform, client: OAuthClient, admin: User
) -> None:
    """Code flow with PKCE, refresh, introspect and revoke, every URL from the document
    (a confidential client: introspection needs client authentication)."""
    meta = (await http.get(WELL_KNOWN)).json()
    verifier = base64.urlsafe_b64encode(b"v" * 40).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "tickets:read",
        "state": "s1",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": meta["code_challenge_methods_supported"][0],
    }
    await login(http, admin.email)
    page = await http.get(urlsplit(meta["authorization_endpoint"]).path, params=params)
    answer = await http.post(
        urlsplit(meta["authorization_endpoint"]).path,
        data={**params, "csrf_token": csrf_from(page.text), "decision": "allow"},
    )
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["state"] == ["s1"] and query["iss"] == [meta["issuer"]]
    token = await http.post(
        meta["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT_URI,
            "client_id": client.client_id,
            "client_secret": SECRET,
            "code_verifier": verifier,
        },
    )
    tokens = token.json()
    refreshed = await http.post(
        meta["token_endpoint"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client.client_id,
            "client_secret": SECRET,
        },
    )
    assert refreshed.status_code == 200
    fresh = refreshed.json()
    seen = await http.post(
        meta["introspection_endpoint"],
        data={
            "token": fresh["access_token"],
            "client_id": client.client_id,
            "client_secret": SECRET,
        },
    )
    assert seen.json()["active"] is True
    gone = await http.post(
        meta["revocation_endpoint"],
        data={
            "token": fresh["refresh_token"],
            "client_id": client.client_id,
            "client_secret": SECRET,
        },
    )
    assert gone.status_code == 200
    after = await http.post(
        meta["introspection_endpoint"],
        data={
            "token": fresh["refresh_token"],
            "client_id": client.client_id,
            "client_secret": SECRET,
        },
    )
    assert after.json() == {"active": False}
    jwks = await http.get(meta["jwks_uri"])
    assert jwks.json()["keys"]
    await platform.revocations.refresh()
    me = await http.get("/api/v1/me", headers=bearer(fresh["access_token"]))
    assert me.status_code == 401
