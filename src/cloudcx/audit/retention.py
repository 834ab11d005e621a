"""Retention: audit events older than ``CLOUDCX_AUDIT_RETENTION_DAYS`` are deleted.

Every process runs the cleanup about hourly; the delete is idempotent, so
several processes doing it at once only repeat each other's work.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudcx.audit.queries import purge_older_than

log = logging.getLogger("cloudcx.audit")

INTERVAL = 3600.0


async def purge(sessionmaker: async_sessionmaker[AsyncSession], days: int) -> int:
    async with sessionmaker() as session:
        deleted = await purge_older_than(session, days)
        await session.commit()
    if deleted:
        log.info("audit retention: deleted %d events older than %d days", deleted, days)
    return deleted
