"""Tickets are tenant-owned: a token only ever sees its own tenant's tickets."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import Role, User
from cloudcx.oauth import clients
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from cloudcx.tickets.models import Ticket
from tests.conftest import make_user
from tests.helpers import bearer, password_token


async def test_list_shows_only_this_tenants_tickets(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    oauth_client: OAuthClient,
    admin: User,
    tenant: TenantInfo,
    other_tenant: TenantInfo,
) -> None:
    db.add(Ticket(tenant_id=tenant.id, number=1, subject="Printer on fire"))
    db.add(Ticket(tenant_id=other_tenant.id, number=1, subject="Globex secret"))
    await db.commit()

    token = (await password_token(http, oauth_client.client_id, admin.email))["access_token"]
    response = await http.get("/api/v1/tickets", headers=bearer(token))
    assert response.status_code == 200
    assert [t["subject"] for t in response.json()["data"]] == ["Printer on fire"]

    globex_client = await clients.create_client(db, tenant_id=other_tenant.id, client_name="G")
    await db.commit()
    await make_user(db, platform, other_tenant, "boss@globex.example", Role.ADMIN)
    response = await http.post(
        "/oauth/token",
        headers={"Host": "globex.example"},
        data={
            "grant_type": "password",
            "username": "boss@globex.example",
            "password": "a-long-and-Good-passw0rd",
            "client_id": globex_client.client_id,
        },
    )
    globex_token = response.json()["access_token"]
    response = await http.get(
        "/api/v1/tickets", headers={**bearer(globex_token), "Host": "globex.example"}
    )
    assert [t["subject"] for t in response.json()["data"]] == ["Globex secret"]
