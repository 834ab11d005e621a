"""RFC 7009: the revocation endpoint."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth import clients
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import bearer
from tests.oauth.flows import SECRET, assert_oauth_error, configure, refresh, tokens_for


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    return await configure(db, oauth_client)


@pytest.fixture
async def issued(http: httpx.AsyncClient, client: OAuthClient, admin: User) -> dict[str, Any]:
    return await tokens_for(http, client, admin.email)


async def revoke(
    http: httpx.AsyncClient, client: OAuthClient, token: str, **extra: str
) -> httpx.Response:
    data = {"token": token, "client_id": client.client_id, **extra}
    return await http.post("/oauth/revoke", data=data)


async def api_status(http: httpx.AsyncClient, platform: Platform, token: str) -> int:
    await platform.revocations.refresh()
    return (await http.get("/api/v1/me", headers=bearer(token))).status_code


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
async def test_revoking_access_token_ends_it_everywhere(
    http: httpx.AsyncClient,
    platform: Platform,
    client: OAuthClient,
    issued: dict[str, Any],
    hint: str | None,
) -> None:
    extra = {"token_type_hint": hint} if hint else {}
    response = await revoke(http, client, issued["access_token"], **extra)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert await api_status(http, platform, issued["access_token"]) == 401
    # Only the access token: the refresh token still works.
    assert (await refresh(http, client, issued["refresh_token"])).status_code == 200


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
async def test_revoking_refresh_token_ends_its_access_tokens(
    http: httpx.AsyncClient,
    platform: Platform,
    client: OAuthClient,
    issued: dict[str, Any],
    hint: str | None,
) -> None:
    extra = {"token_type_hint": hint} if hint else {}
    response = await revoke(http, client, issued["refresh_token"], **extra)
    assert response.status_code == 200
    assert_oauth_error(await refresh(http, client, issued["refresh_token"]), 400, "invalid_grant")
    assert await api_status(http, platform, issued["access_token"]) == 401


@pytest.mark.parametrize(
    "token",
    ["unknown", "cxr_unknown", "a.b.c", "x" * 9000],
    ids=["unknown", "unknown-refresh-shape", "malformed-jwt", "huge"],
)
async def test_unknown_token_is_200(
    http: httpx.AsyncClient, client: OAuthClient, admin: User, token: str
) -> None:
    assert (await revoke(http, client, token)).status_code == 200


async def test_token_of_another_client_is_left_alone(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    tenant: TenantInfo,
    issued: dict[str, Any],
) -> None:
    other = await clients.create_client(db, tenant_id=tenant.id, client_name="Other")
    await db.commit()
    for token in (issued["access_token"], issued["refresh_token"]):
        assert (await revoke(http, other, token)).status_code == 200
    assert await api_status(http, platform, issued["access_token"]) == 200


async def test_other_tenant_cannot_revoke(
    http: httpx.AsyncClient,
    platform: Platform,
    client: OAuthClient,
    issued: dict[str, Any],
    other_tenant: TenantInfo,
) -> None:
    response = await http.post(
        "/oauth/revoke",
        data={"token": issued["access_token"], "client_id": client.client_id},
        headers={"Host": "globex.example"},
    )
    assert_oauth_error(response, 401, "invalid_client")
    assert await api_status(http, platform, issued["access_token"]) == 200


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        ({"token_type_hint": "id_token"}, 400, "unsupported_token_type"),
        ({"token": None}, 400, "invalid_request"),
        ({"client_id": None}, 401, "invalid_client"),
        ({"client_id": "no-such-client"}, 401, "invalid_client"),
        ({"client_secret": "guess"}, 401, "invalid_client"),
    ],
    ids=["unknown-hint", "no-token", "no-client", "unknown-client", "secret-for-public"],
)
async def test_errors(
    http: httpx.AsyncClient,
    client: OAuthClient,
    issued: dict[str, Any],
    data: dict[str, str | None],
    status: int,
    error: str,
) -> None:
    body: dict[str, str | None] = {"token": issued["access_token"], "client_id": client.client_id}
    body.update(data)
    response = await http.post(
        "/oauth/revoke", data={k: v for k, v in body.items() if v is not None}
    )
    assert_oauth_error(response, status, error)


async def test_confidential_client_must_authenticate(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
) -> None:
    client = await configure(db, client, confidential=True)
    body = {"token": "anything", "client_id": client.client_id}
    assert_oauth_error(await http.post("/oauth/revoke", data=body), 401, "invalid_client")
    ok = await http.post("/oauth/revoke", data={**body, "client_secret": SECRET})
    assert ok.status_code == 200


async def test_get_is_not_allowed(http: httpx.AsyncClient, tenant: TenantInfo) -> None:
    assert (await http.get("/oauth/revoke")).status_code == 405


async def test_client_of_another_tenant_cannot_revoke(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    client: OAuthClient,
    issued: dict[str, Any],
    other_tenant: TenantInfo,
) -> None:
    theirs = await clients.create_client(db, tenant_id=other_tenant.id, client_name="Theirs")
    await db.commit()
    for token in (issued["access_token"], issued["refresh_token"]):
        response = await http.post(
            "/oauth/revoke",
            data={"token": token, "client_id": theirs.client_id},
            headers={"Host": "globex.example"},
        )
        assert response.status_code == 200
    assert await api_status(http, platform, issued["access_token"]) == 200
    assert (await refresh(http, client, issued["refresh_token"])).status_code == 200
