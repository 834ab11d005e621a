"""Revoking is idempotent: one row per revoked thing, however often (DESIGN.md §4)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth import revocation
from cloudcx.oauth.models import OAuthClient, Revocation
from cloudcx.oauth.revocation import Kind
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import bearer, password_token


async def rows(db: AsyncSession) -> list[Revocation]:
    db.expire_all()
    return list(await db.scalars(select(Revocation).order_by(Revocation.id)))


async def test_revoking_one_token_a_hundred_times_keeps_one_row(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, admin: User
) -> None:
    token = (await password_token(http, oauth_client.client_id, admin.email))["access_token"]
    form = {"token": token, "client_id": oauth_client.client_id}
    for _ in range(100):
        assert (await http.post("/oauth/revoke", data=form)).status_code == 200
    count = await db.scalar(
        select(func.count()).select_from(Revocation).where(Revocation.kind == Kind.TOKEN)
    )
    assert count == 1
    assert (await http.get("/api/v1/me", headers=bearer(token))).status_code == 401


async def test_a_repeated_token_revocation_keeps_its_longest_lifetime(
    db: AsyncSession, tenant: TenantInfo
) -> None:
    await revocation.revoke(db, tenant.id, Kind.TOKEN, "jti-1", lifetime=600)
    await db.commit()
    (first,) = await rows(db)
    kept = (first.id, first.expires_at, first.created_at)
    await revocation.revoke(db, tenant.id, Kind.TOKEN, "jti-1", lifetime=60)
    await db.commit()
    (again,) = await rows(db)
    assert (again.id, again.expires_at, again.created_at) == kept
    await revocation.revoke(db, tenant.id, Kind.TOKEN, "jti-1", lifetime=3600)
    await db.commit()
    (longer,) = await rows(db)
    assert longer.expires_at - kept[1] >= timedelta(seconds=3000)


async def test_revoking_a_user_again_moves_the_cut_to_now(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, admin: User
) -> None:
    user_id = str(admin.id)
    await revocation.revoke(db, tenant.id, Kind.USER, user_id)
    await db.commit()
    (first,) = await rows(db)
    first_id, first_cut = first.id, first.created_at
    await asyncio.sleep(0.01)
    await revocation.revoke(db, tenant.id, Kind.USER, user_id)
    await db.commit()
    (again,) = await rows(db)
    assert again.id == first_id
    assert again.created_at > first_cut
    # The process that revoked applied the newer cut at commit.
    assert platform.revocations._users[user_id] == again.created_at.timestamp()


async def test_the_same_value_in_two_tenants_is_two_revocations(
    db: AsyncSession, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    for owner in (tenant, other_tenant):
        await revocation.revoke(db, owner.id, Kind.GRANT, "family-1")
    await db.commit()
    assert {r.tenant_id for r in await rows(db)} == {tenant.id, other_tenant.id}


async def test_a_rolled_back_revocation_is_not_applied(
    db: AsyncSession, platform: Platform, tenant: TenantInfo
) -> None:
    await revocation.revoke(db, tenant.id, Kind.TOKEN, "never-committed")
    await db.rollback()
    assert "never-committed" not in platform.revocations._tokens
    assert await rows(db) == []


async def test_reloading_costs_the_same_however_often_a_token_is_revoked(
    db: AsyncSession, platform: Platform, tenant: TenantInfo
) -> None:
    mirror = revocation.RevocationSet(platform.sessionmaker)
    await mirror.refresh()
    for _ in range(50):
        await revocation.revoke(db, tenant.id, Kind.TOKEN, "jti-hot", lifetime=600)
        await db.commit()
    before = mirror.rows_read
    await mirror.refresh()
    await mirror.refresh()
    assert mirror.rows_read - before == 2  # the one row, once per poll
    assert len(mirror) == 1
