"""RFC 6749 §4.1.3-§4.1.4: exchanging an authorization code at the token endpoint."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import jwt
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.db import utcnow
from cloudcx.oauth import clients
from cloudcx.oauth.models import AuthorizationCode, OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import bearer
from tests.oauth.flows import (
    REDIRECT_URI,
    assert_oauth_error,
    configure,
    exchange,
    get_code,
    refresh,
)


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    return await configure(db, oauth_client)


@pytest.fixture
async def code(http: httpx.AsyncClient, client: OAuthClient, admin: User) -> str:
    return await get_code(http, client, admin.email, scope="tickets:read profile")


async def wait_for_revocations(platform: Platform) -> None:
    await platform.revocations.refresh()


async def test_exchange_returns_bound_tokens(
    http: httpx.AsyncClient, client: OAuthClient, admin: User, code: str
) -> None:
    response = await exchange(http, client, code)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "profile tickets:read"
    assert body["refresh_token"].startswith("cxr_")
    assert response.headers["cache-control"] == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == str(admin.id)
    assert claims["client_id"] == client.client_id
    me = await http.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200


async def test_no_refresh_token_without_refresh_grant(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, admin: User
) -> None:
    client = await configure(db, oauth_client, grant_types=["authorization_code"])
    code = await get_code(http, client, admin.email)
    body = (await exchange(http, client, code)).json()
    assert "refresh_token" not in body


async def test_second_use_is_invalid_grant_and_revokes_first_tokens(
    http: httpx.AsyncClient, platform: Platform, client: OAuthClient, code: str
) -> None:
    first = (await exchange(http, client, code)).json()
    second = await exchange(http, client, code)
    assert_oauth_error(second, 400, "invalid_grant")
    await wait_for_revocations(platform)
    me = await http.get("/api/v1/me", headers=bearer(first["access_token"]))
    assert me.status_code == 401
    again = await refresh(http, client, first["refresh_token"])
    assert_oauth_error(again, 400, "invalid_grant")


async def test_concurrent_exchanges_issue_once(
    http: httpx.AsyncClient, client: OAuthClient, code: str
) -> None:
    results = await asyncio.gather(*(exchange(http, client, code) for _ in range(3)))
    assert sorted(r.status_code for r in results) == [200, 400, 400]


async def test_expired_code_is_invalid_grant(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, code: str
) -> None:
    await db.execute(update(AuthorizationCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    await db.commit()
    assert_oauth_error(await exchange(http, client, code), 400, "invalid_grant")


async def test_code_lives_about_a_minute(db: AsyncSession, client: OAuthClient, code: str) -> None:
    row = await db.scalar(select(AuthorizationCode))
    assert row is not None
    assert 55 <= (row.expires_at - row.created_at).total_seconds() <= 65


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"code": None}, 400, "invalid_request"),
        ({"code": "not-a-code"}, 400, "invalid_grant"),
        ({"code": "x" * 500}, 400, "invalid_grant"),
        ({"redirect_uri": None}, 400, "invalid_request"),
        ({"redirect_uri": REDIRECT_URI + "/other"}, 400, "invalid_grant"),
        ({"client_id": "no-such-client"}, 401, "invalid_client"),
    ],
    ids=[
        "no-code",
        "unknown-code",
        "huge-code",
        "redirect_uri-omitted-but-was-sent",
        "redirect_uri-differs",
        "unknown-client",
    ],
)
async def test_bad_exchange(
    http: httpx.AsyncClient,
    client: OAuthClient,
    code: str,
    overrides: dict[str, str | None],
    status: int,
    error: str,
) -> None:
    assert_oauth_error(await exchange(http, client, code, **overrides), status, error)


async def test_code_of_another_client_is_invalid_grant(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, code: str
) -> None:
    other = await clients.create_client(db, tenant_id=tenant.id, client_name="Other")
    await db.commit()
    other = await configure(db, other)
    assert_oauth_error(await exchange(http, other, code), 400, "invalid_grant")


async def test_client_no_longer_allowed_the_grant_is_unauthorized_client(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, code: str
) -> None:
    client = await configure(db, client, grant_types=["password"])
    assert_oauth_error(await exchange(http, client, code), 400, "unauthorized_client")


async def test_code_at_another_tenant_is_invalid_client(
    http: httpx.AsyncClient, client: OAuthClient, code: str, other_tenant: TenantInfo
) -> None:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": client.client_id,
    }
    response = await http.post("/oauth/token", data=data, headers={"Host": "globex.example"})
    assert_oauth_error(response, 401, "invalid_client")


async def test_deactivated_user_code_is_invalid_grant(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User, code: str
) -> None:
    admin.is_active = False
    await db.merge(admin)
    await db.commit()
    assert_oauth_error(await exchange(http, client, code), 400, "invalid_grant")


async def test_redirect_uri_may_be_omitted_when_request_omitted_it(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    code = await get_code(http, client, admin.email, redirect_uri=None)
    response = await exchange(http, client, code, redirect_uri=None)
    assert response.status_code == 200, response.text


async def test_code_presented_by_a_client_of_another_tenant_is_invalid_grant(
    http: httpx.AsyncClient, db: AsyncSession, code: str, other_tenant: TenantInfo
) -> None:
    theirs = await clients.create_client(db, tenant_id=other_tenant.id, client_name="Theirs")
    await db.commit()
    theirs = await configure(db, theirs)
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": theirs.client_id,
            "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        },
        headers={"Host": "globex.example"},
    )
    assert_oauth_error(response, 400, "invalid_grant")
