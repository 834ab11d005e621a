"""A revocation whose row id was used before (SQLite reuses the id of a
deleted last row) must still be applied by every process."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.db import utcnow
from cloudcx.oauth import revocation
from cloudcx.oauth.models import Revocation
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo


async def test_reused_row_id_is_applied(
    db: AsyncSession, platform: Platform, tenant: TenantInfo
) -> None:
    mirror = revocation.RevocationSet(platform.sessionmaker)
    db.add(
        Revocation(
            id=7,
            tenant_id=tenant.id,
            kind="token",
            value="first",
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    await db.commit()
    await mirror.refresh()
    await db.execute(delete(Revocation))
    db.add(
        Revocation(
            id=7,
            tenant_id=tenant.id,
            kind="token",
            value="second",
            created_at=utcnow() + timedelta(seconds=1),
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    await db.commit()
    await mirror.refresh()
    assert {"first", "second"} <= mirror._tokens
