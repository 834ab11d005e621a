"""Retention: audit events older than ``CLOUDCX_AUDIT_RETENTION_DAYS`` are deleted.

One process at a time runs it at start and then every
``CLOUDCX_HOUSEKEEPING_INTERVAL`` seconds (``cloudcx.jobs``), in batches, so a
year's backlog is deleted in short transactions rather than one long one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudcx.audit.models import AuditEvent
from cloudcx.db import WriteGate, utcnow
from cloudcx.jobs import BATCH, Step, batch_delete, run_steps

log = logging.getLogger("cloudcx.audit")

INTERVAL = 3600.0
NAME = "audit events"


def steps(days: int, now: datetime | None = None) -> list[tuple[str, Step]]:
    cutoff = (now or utcnow()) - timedelta(days=days)
    return [(NAME, batch_delete(AuditEvent, AuditEvent.time < cutoff))]


async def purge(
    sessionmaker: async_sessionmaker[AsyncSession],
    days: int,
    *,
    gate: WriteGate | None = None,
    limit: int = BATCH,
    stopping: Callable[[], bool] = lambda: False,
) -> int:
    """Delete events past the retention period; how many were deleted."""
    removed = await run_steps(sessionmaker, steps(days), gate=gate, limit=limit, stopping=stopping)
    deleted = removed.get(NAME, 0)
    if deleted:
        log.info("audit retention: deleted %d events older than %d days", deleted, days)
    return deleted
