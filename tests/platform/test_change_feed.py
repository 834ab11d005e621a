"""Cached clients, users and revocations follow every change (DESIGN.md §8).

A change committed by this process is in force before the request that made it
answers; a change made elsewhere (another process: here, a session outside the
platform's) is seen once the cache entry expires, within the revocation delay.
"""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudcx.accounts.models import Role, User
from cloudcx.core import secrets
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import bearer, password_token

SECRET = "a-client-secret-of-enough-length-0123456789"


async def me(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.get("/api/v1/me", headers=bearer(token))


async def client_credentials(http: httpx.AsyncClient, client_id: str) -> httpx.Response:
    basic = base64.b64encode(f"{client_id}:{SECRET}".encode()).decode()
    return await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )


@pytest.fixture
async def confidential(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    oauth_client.secret_digest = secrets.digest(SECRET)
    oauth_client.grant_types = ["client_credentials"]
    await db.commit()
    return oauth_client


async def test_a_warm_me_request_makes_no_database_query(
    http: httpx.AsyncClient, platform: Platform, oauth_client: OAuthClient, admin: User
) -> None:
    token = (await password_token(http, oauth_client.client_id, admin.email))["access_token"]
    assert (await me(http, token)).status_code == 200
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(platform.engine.sync_engine, "before_cursor_execute", count)
    try:
        response = await me(http, token)
    finally:
        event.remove(platform.engine.sync_engine, "before_cursor_execute", count)
    assert response.status_code == 200
    assert response.json()["user"]["email"] == admin.email
    assert statements == []


async def test_a_user_change_committed_here_is_in_force_at_once(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, admin: User
) -> None:
    token = (await password_token(http, oauth_client.client_id, admin.email))["access_token"]
    assert (await me(http, token)).json()["user"]["role"] == "admin"
    admin.role = Role.AGENT
    admin.name = "Renamed"
    await db.commit()
    user = (await me(http, token)).json()["user"]
    assert (user["role"], user["name"]) == ("agent", "Renamed")
    admin.is_active = False
    await db.commit()
    assert (await me(http, token)).status_code == 401


async def test_a_client_disabled_here_stops_client_credentials_at_once(
    http: httpx.AsyncClient, db: AsyncSession, confidential: OAuthClient
) -> None:
    assert (await client_credentials(http, confidential.client_id)).status_code == 200
    confidential.is_enabled = False
    await db.commit()
    refused = await client_credentials(http, confidential.client_id)
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")


async def test_a_rotated_secret_is_refused_at_once(
    http: httpx.AsyncClient, db: AsyncSession, confidential: OAuthClient
) -> None:
    assert (await client_credentials(http, confidential.client_id)).status_code == 200
    confidential.secret_digest = secrets.digest("another-secret-entirely-0123456789")
    await db.commit()
    assert (await client_credentials(http, confidential.client_id)).status_code == 401


async def test_a_deleted_client_is_unknown_at_once(
    http: httpx.AsyncClient, db: AsyncSession, confidential: OAuthClient
) -> None:
    assert (await client_credentials(http, confidential.client_id)).status_code == 200
    await db.delete(confidential)
    await db.commit()
    assert (await client_credentials(http, confidential.client_id)).status_code == 401


async def test_a_change_made_elsewhere_is_seen_within_the_revocation_delay(
    http: httpx.AsyncClient, platform: Platform, oauth_client: OAuthClient, admin: User
) -> None:
    """A session of another sessionmaker stands for another process: no hook sees it."""
    token = (await password_token(http, oauth_client.client_id, admin.email))["access_token"]
    assert (await me(http, token)).status_code == 200
    elsewhere = async_sessionmaker(platform.engine)
    async with elsewhere() as session:
        await session.execute(update(User).where(User.id == admin.id).values(is_active=False))
        await session.commit()
    delay = platform.settings.revocation_poll_interval
    assert delay <= 1.0
    await asyncio.sleep(delay + 0.05)
    assert (await me(http, token)).status_code == 401


async def test_another_tenants_client_is_not_served_from_the_cache(
    http: httpx.AsyncClient, platform: Platform, confidential: OAuthClient, other_tenant: TenantInfo
) -> None:
    assert (await client_credentials(http, confidential.client_id)).status_code == 200
    assert await platform.clients.get(other_tenant.id, confidential.client_id) is None
    assert await platform.users.get(other_tenant.id, confidential.tenant_id) is None


async def test_a_revocation_committed_here_is_refused_before_the_answer(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User
) -> None:
    issued = await password_token(http, oauth_client.client_id, admin.email)
    token = issued["access_token"]
    assert (await me(http, token)).status_code == 200
    revoked = await http.post(
        "/oauth/revoke", data={"token": token, "client_id": oauth_client.client_id}
    )
    assert revoked.status_code == 200
    # No wait for the poll: the revoking process applied its own row at commit.
    assert (await me(http, token)).status_code == 401
