"""``GET /api/v1/me``: the guide's step 3."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth.models import OAuthClient
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import bearer, password_token


async def test_me_returns_user_tenant_and_client(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User, tenant: TenantInfo
) -> None:
    token = (await password_token(http, oauth_client.client_id, admin.email))["access_token"]
    response = await http.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {
        "id": str(admin.id),
        "email": "admin@acme.example",
        "name": "Admin",
        "role": "admin",
    }
    assert body["tenant"] == {"id": str(tenant.id), "name": "Acme"}
    assert body["client"] == {
        "client_id": oauth_client.client_id,
        "client_name": "Helpdesk Sync",
    }
    assert "tickets:read" in body["scope"].split()


async def test_me_for_a_deactivated_user_is_401(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, admin: User
) -> None:
    token = (await password_token(http, oauth_client.client_id, admin.email))["access_token"]
    admin.is_active = False
    await db.merge(admin)
    await db.commit()
    response = await http.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
