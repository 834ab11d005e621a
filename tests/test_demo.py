"""``cloudcx demo``: a living product on first start, loaded once."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx import demo
from cloudcx.accounts.models import User
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from cloudcx.tickets.models import Message, Ticket
from tests.helpers import bearer, password_token


async def test_demo_loads_once_and_serves_the_api(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    tenant: TenantInfo,
    oauth_client: OAuthClient,
) -> None:
    result = await demo.load(platform, tenant.id, "demo-password-123")
    assert result.loaded and len(result.agents) == 3
    assert await db.scalar(select(func.count()).select_from(Ticket)) == len(demo.STORIES)
    assert await db.scalar(select(func.count()).select_from(Message)) > len(demo.STORIES)
    again = await demo.load(platform, tenant.id)
    assert not again.loaded
    assert await db.scalar(select(func.count()).select_from(User)) == 3

    token = await password_token(
        http, oauth_client.client_id, result.agents[0], "demo-password-123"
    )
    listed = await http.get("/api/v1/tickets?limit=100", headers=bearer(token["access_token"]))
    numbers = sorted(t["number"] for t in listed.json()["data"])
    assert numbers == list(range(1, len(demo.STORIES) + 1))
