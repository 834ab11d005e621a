"""RFC 7662: the introspection endpoint, for authenticated (confidential) clients only."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.core import secrets
from cloudcx.db import utcnow
from cloudcx.oauth import clients, tokens
from cloudcx.oauth.models import OAuthClient, RefreshToken
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.oauth.flows import SECRET, assert_oauth_error, configure, exchange, get_code, refresh


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    return await configure(db, oauth_client, confidential=True)


@pytest.fixture
async def issued(http: httpx.AsyncClient, client: OAuthClient, admin: User) -> dict[str, Any]:
    code = await get_code(http, client, admin.email, scope="tickets:read profile")
    response = await exchange(http, client, code, client_secret=SECRET)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def credentials(client: OAuthClient) -> dict[str, str]:
    return {"client_id": client.client_id, "client_secret": SECRET}


async def confidential_client(db: AsyncSession, tenant_id: Any, name: str) -> OAuthClient:
    made = await clients.create_client(db, tenant_id=tenant_id, client_name=name)
    made.secret_digest = secrets.digest(SECRET)
    await db.commit()
    return made


async def introspect(
    http: httpx.AsyncClient, client: OAuthClient, token: str, **extra: str
) -> dict[str, Any]:
    data = {"token": token, **credentials(client), **extra}
    response = await http.post("/oauth/introspect", data=data)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


async def test_active_access_token_has_full_claims(
    http: httpx.AsyncClient, client: OAuthClient, admin: User, issued: dict[str, Any]
) -> None:
    body = await introspect(http, client, issued["access_token"])
    assert body["active"] is True
    assert body["scope"] == "profile tickets:read"
    assert body["client_id"] == client.client_id
    assert body["sub"] == str(admin.id)
    assert body["token_type"] == "Bearer"
    assert body["iss"] == "http://localhost"
    assert body["aud"] == "http://localhost/api/v1"
    for claim in ("exp", "iat", "jti"):
        assert claim in body


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token", "something-else"])
async def test_active_refresh_token(
    http: httpx.AsyncClient, client: OAuthClient, issued: dict[str, Any], hint: str | None
) -> None:
    extra = {"token_type_hint": hint} if hint else {}
    body = await introspect(http, client, issued["refresh_token"], **extra)
    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert body["scope"] == "profile tickets:read"
    assert body["exp"] > time.time()


async def test_revoked_access_token_is_inactive(
    http: httpx.AsyncClient, platform: Platform, client: OAuthClient, issued: dict[str, Any]
) -> None:
    await http.post("/oauth/revoke", data={"token": issued["access_token"], **credentials(client)})
    await platform.revocations.refresh()
    assert await introspect(http, client, issued["access_token"]) == {"active": False}


async def test_rotated_refresh_token_is_inactive(
    http: httpx.AsyncClient, client: OAuthClient, issued: dict[str, Any]
) -> None:
    await refresh(http, client, issued["refresh_token"], client_secret=SECRET)
    assert await introspect(http, client, issued["refresh_token"]) == {"active": False}


async def test_expired_refresh_token_is_inactive(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, issued: dict[str, Any]
) -> None:
    await db.execute(update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    await db.commit()
    assert await introspect(http, client, issued["refresh_token"]) == {"active": False}


async def test_expired_access_token_is_inactive(
    http: httpx.AsyncClient, platform: Platform, client: OAuthClient, tenant: TenantInfo
) -> None:
    expired = tokens.issue(
        platform.keys,
        issuer="http://localhost",
        tenant_id=tenant.id,
        subject="someone",
        client_id=client.client_id,
        scope="tickets:read",
        ttl=-120,
    )
    assert await introspect(http, client, expired.value) == {"active": False}


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "a.b.c", "cxr_nothing", "x" * 9000],
    ids=["empty", "garbage", "malformed-jwt", "unknown-refresh", "huge"],
)
async def test_malformed_tokens_are_inactive(
    http: httpx.AsyncClient, client: OAuthClient, admin: User, token: str
) -> None:
    if not token:
        response = await http.post("/oauth/introspect", data=credentials(client))
        assert_oauth_error(response, 400, "invalid_request")
        return
    assert await introspect(http, client, token) == {"active": False}


async def test_tampered_signature_is_inactive(
    http: httpx.AsyncClient, client: OAuthClient, issued: dict[str, Any]
) -> None:
    head, payload, _sig = issued["access_token"].split(".")
    forged = jwt.encode(
        jwt.decode(issued["access_token"], options={"verify_signature": False}), "k" * 32
    )
    assert await introspect(http, client, f"{head}.{payload}.{forged.split('.')[2]}") == {
        "active": False
    }


async def test_other_tenants_token_is_inactive(
    http: httpx.AsyncClient,
    db: AsyncSession,
    issued: dict[str, Any],
    other_tenant: TenantInfo,
) -> None:
    globex_client = await confidential_client(db, other_tenant.id, "G")
    for token in (issued["access_token"], issued["refresh_token"]):
        response = await http.post(
            "/oauth/introspect",
            data={"token": token, **credentials(globex_client)},
            headers={"Host": "globex.example"},
        )
        assert response.json() == {"active": False}


async def test_another_clients_token_is_inactive(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, issued: dict[str, Any]
) -> None:
    other = await confidential_client(db, tenant.id, "Other")
    for token in (issued["access_token"], issued["refresh_token"]):
        assert await introspect(http, other, token) == {"active": False}


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        ({"client_id": None}, 401, "invalid_client"),
        ({"client_id": "no-such-client"}, 401, "invalid_client"),
        ({"client_secret": None}, 401, "invalid_client"),
        ({"client_secret": "wrong-secret"}, 401, "invalid_client"),
        ({"token": None}, 400, "invalid_request"),
    ],
    ids=["no-client", "unknown-client", "no-secret", "wrong-secret", "no-token"],
)
async def test_errors(
    http: httpx.AsyncClient,
    client: OAuthClient,
    issued: dict[str, Any],
    data: dict[str, str | None],
    status: int,
    error: str,
) -> None:
    body: dict[str, str | None] = {"token": issued["access_token"], **credentials(client)}
    body.update(data)
    response = await http.post(
        "/oauth/introspect", data={k: v for k, v in body.items() if v is not None}
    )
    assert_oauth_error(response, status, error)


async def test_confidential_client_authenticates_with_basic(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
) -> None:
    client = await configure(db, client, confidential=True)
    response = await http.post(
        "/oauth/introspect", data={"token": "x"}, auth=(client.client_id, SECRET)
    )
    assert response.json() == {"active": False}
    wrong = await http.post(
        "/oauth/introspect", data={"token": "x"}, auth=(client.client_id, "wrong")
    )
    assert_oauth_error(wrong, 401, "invalid_client")


async def test_public_client_may_not_introspect_even_its_own_tokens(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, admin: User
) -> None:
    """§2.1: the endpoint MUST require authorization; a client_id alone proves nothing."""
    public = await configure(db, oauth_client)
    code = await get_code(http, public, admin.email)
    issued = (await exchange(http, public, code)).json()
    for token in (issued["access_token"], issued["refresh_token"]):
        response = await http.post(
            "/oauth/introspect", data={"token": token, "client_id": public.client_id}
        )
        assert_oauth_error(response, 401, "invalid_client")
        assert "www-authenticate" not in response.headers


async def test_public_client_trying_basic_gets_a_basic_challenge(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, admin: User
) -> None:
    """RFC 6749 §5.2: a 401 for a client that tried the Authorization header names the scheme."""
    public = await configure(db, oauth_client)
    response = await http.post(
        "/oauth/introspect", data={"token": "x"}, auth=(public.client_id, "")
    )
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"] == 'Basic realm="oauth"'
