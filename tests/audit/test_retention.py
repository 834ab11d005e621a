"""Retention: events past ``audit_retention_days`` are deleted, newer ones kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.audit import retention
from cloudcx.audit.models import AuditEvent
from cloudcx.audit.service import Actor, record
from cloudcx.db import utcnow
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo


async def test_purge_deletes_only_expired_events(
    db: AsyncSession, platform: Platform, tenant: TenantInfo
) -> None:
    for age_days in (400, 366, 364, 0):
        event = await record(db, tenant_id=tenant.id, action="key.rotated", actor=Actor.system())
        event.time = utcnow() - timedelta(days=age_days)
    await db.commit()
    deleted = await retention.purge(platform.sessionmaker, days=365)
    assert deleted == 2
    kept = (await db.scalars(select(AuditEvent.time))).all()
    assert len(kept) == 2
    assert min(kept) > utcnow() - timedelta(days=365)
