"""Reading the audit log (filters, newest first, cursor pages) and its retention."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.audit.models import AuditEvent
from cloudcx.db import utcnow

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class Filters:
    action: str | None = None
    # Matches the actor's email or client name (substring) or its exact id.
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Page:
    events: list[AuditEvent]
    # Pass as ``before`` for the next (older) page; None on the last page.
    next_before: int | None


def _filtered(tenant_id: uuid.UUID, filters: Filters) -> Select[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.actor:
        needle = filters.actor.strip()[:320]
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            or_(
                AuditEvent.actor_id == needle,
                AuditEvent.actor_label.ilike(f"%{escaped}%", escape="\\"),
            )
        )
    if filters.since:
        query = query.where(AuditEvent.time >= filters.since)
    if filters.until:
        query = query.where(AuditEvent.time < filters.until)
    return query


async def list_events(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    filters: Filters,
    *,
    before: int | None = None,
    limit: int = 50,
) -> Page:
    """Newest first; keyset pagination on id, so pages stay stable while events arrive."""
    limit = max(1, min(limit, MAX_PAGE))
    query = _filtered(tenant_id, filters)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = list(await session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].id if more and rows else None)


async def purge_older_than(session: AsyncSession, days: int, now: datetime | None = None) -> int:
    """Delete events past the retention period; the caller commits."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    result = await session.execute(delete(AuditEvent).where(AuditEvent.time < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
