"""Reading the audit log (filters, newest first, cursor pages) and its retention."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, and_, delete, or_, select
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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_POSITION = re.compile(r"^([0-9]{1,18})_([0-9]{1,18})$")


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page ends: the last event's time and id, written ``<µs since epoch>_<id>``.

    The log is ordered by the time events happened, not by id: events queued by
    ``audit.writer`` get their ids when the queue is written, a moment after
    events recorded inside transactions.
    """

    time: datetime
    id: int

    @classmethod
    def of(cls, event: AuditEvent) -> Position:
        return cls(event.time, event.id)

    @classmethod
    def parse(cls, value: str | None) -> Position | None:
        match = _POSITION.match(value or "")
        if match is None:
            return None
        micros, id_ = (int(g) for g in match.groups())
        try:
            return cls(_EPOCH + micros * _MICROSECOND, id_)
        except OverflowError:
            return None

    def __str__(self) -> str:
        return f"{(self.time - _EPOCH) // _MICROSECOND}_{self.id}"


@dataclass(frozen=True, slots=True)
class Page:
    events: list[AuditEvent]
    # Pass as ``before`` for the next (older) page; None on the last page.
    next_before: Position | None


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
    before: Position | None = None,
    limit: int = 50,
) -> Page:
    """Newest first; keyset pagination on (time, id), so pages stay stable while
    events arrive."""
    limit = max(1, min(limit, MAX_PAGE))
    query = _filtered(tenant_id, filters)
    if before is not None:
        query = query.where(
            or_(
                AuditEvent.time < before.time,
                and_(AuditEvent.time == before.time, AuditEvent.id < before.id),
            )
        )
    newest_first = query.order_by(AuditEvent.time.desc(), AuditEvent.id.desc())
    rows = list(await session.scalars(newest_first.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, Position.of(rows[-1]) if more and rows else None)


async def purge_older_than(session: AsyncSession, days: int, now: datetime | None = None) -> int:
    """Delete events past the retention period; the caller commits."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    result = await session.execute(delete(AuditEvent).where(AuditEvent.time < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
