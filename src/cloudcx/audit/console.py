"""Global Settings > Security > Audit Log (administrators only)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from cloudcx.audit.queries import Filters, Position, list_events
from cloudcx.audit.service import Action
from cloudcx.console.web import ConsoleDep
from cloudcx.deps import SessionDep, platform_of

router = APIRouter(prefix="/settings/security/audit-log", include_in_schema=False)

PAGE_SIZE = 50


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _start_of(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def _end_of(day: date | None) -> datetime | None:
    """The start of the next day; None (no bound) after the last day ``date`` has."""
    return _start_of(day + timedelta(days=1)) if day and day < date.max else None


@router.get("")
async def audit_log(
    cx: ConsoleDep,
    session: SessionDep,
    action: str = "",
    actor: str = "",
    since: str = "",
    until: str = "",
    before: str = "",
) -> Response:
    """Filters by action, actor and date range (``until`` is inclusive); newest first."""
    cx.require_admin()
    action, actor = action[:64], actor[:320]
    since_day, until_day = _day(since), _day(until)
    filters = Filters(
        action=action or None,
        actor=actor or None,
        since=_start_of(since_day),
        until=_end_of(until_day),
    )
    await platform_of(cx.request).audit.flush()  # this process's queued events are listed too
    page = await list_events(
        session, cx.tenant.id, filters, before=Position.parse(before), limit=PAGE_SIZE
    )
    kept = {
        "action": action,
        "actor": actor,
        "since": since_day.isoformat() if since_day else "",
        "until": until_day.isoformat() if until_day else "",
    }
    query = {k: v for k, v in kept.items() if v}
    older = (
        f"?{urlencode({**query, 'before': str(page.next_before)})}" if page.next_before else None
    )
    first = f"?{urlencode(query)}" if before else None
    return cx.render(
        "audit/list.html",
        events=page.events,
        actions=[a.value for a in Action],
        values=kept,
        bad_dates=bool((since and not since_day) or (until and not until_day)),
        older_url=older,
        first_url=first,
    )
