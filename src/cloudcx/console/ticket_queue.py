"""Control Panel > Tickets: the queue, its views (Mine, Unassigned, All open, Solved
today), filters, full-text search and sort orders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from enum import StrEnum

from fastapi.responses import Response

from cloudcx.accounts.models import User
from cloudcx.console.home import start_of_today
from cloudcx.console.records import page_of, people
from cloudcx.console.ticket_form import agents
from cloudcx.console.web import ConsoleDep
from cloudcx.deps import SessionDep
from cloudcx.tickets.filters import UNSOLVED, TicketFilters, filtered
from cloudcx.tickets.listing import SORTS
from cloudcx.tickets.models import TicketPriority, TicketStatus
from cloudcx.tickets.schemas import TicketPublic


@dataclass(frozen=True, slots=True)
class View:
    name: str
    label: str
    heading: str


VIEWS = {
    v.name: v
    for v in (
        View("mine", "Mine", "My open tickets"),
        View("unassigned", "Unassigned", "Unassigned open tickets"),
        View("open", "All open", "All open tickets"),
        View("solved_today", "Solved today", "Tickets solved today"),
        View("all", "All", "All tickets"),
    )
}
SORT_LABELS = {
    "-created_at": "Newest first",
    "created_at": "Oldest first",
    "-updated_at": "Recently updated",
    "updated_at": "Least recently updated",
    "-priority": "Priority, urgent first",
    "priority": "Priority, low first",
}
DEFAULT_SORT = "-created_at"


def _values(kind: type[StrEnum]) -> set[str]:
    return {m.value for m in kind}


def _filters(status: str, priority: str, assignee: str, q: str) -> TicketFilters:
    """Query-string filters; unknown values are ignored rather than refused on a page."""
    statuses = [TicketStatus(status)] if status in _values(TicketStatus) else None
    prio = TicketPriority(priority) if priority in _values(TicketPriority) else None
    try:
        assignee_id = uuid.UUID(assignee) if assignee else None
    except ValueError:
        assignee_id = None
    return TicketFilters(
        status=statuses, priority=prio, assignee=assignee_id, q=q.replace("\x00", "")[:200]
    )


def _in_view(view: str, f: TicketFilters, user: User) -> TicketFilters:
    """The view's own conditions; a status picked in the form replaces the view's."""
    statuses = f.status or list(UNSOLVED)
    if view == "mine":
        return replace(f, assignee=user.id, status=statuses)
    if view == "unassigned":
        return replace(f, assignee=None, unassigned=True, status=statuses)
    if view == "open":
        return replace(f, status=statuses)
    if view == "solved_today":
        return replace(f, solved_since=start_of_today())
    return f


async def list_page(
    cx: ConsoleDep,
    session: SessionDep,
    view: str = "all",
    status: str = "",
    priority: str = "",
    assignee: str = "",
    q: str = "",
    sort: str = DEFAULT_SORT,
    cursor: str | None = None,
) -> Response:
    """``GET /tickets`` (routed in ``console.tickets``)."""
    user = cx.require_user()
    view = view if view in VIEWS else "all"
    sort = sort if sort in SORT_LABELS else DEFAULT_SORT
    if assignee == "me":
        assignee = str(user.id)
    filters = _in_view(view, _filters(status, priority, assignee, q), user)
    query = await filtered(session, cx.tenant.id, filters)
    page = await page_of(session, cx, query, SORTS[sort], cursor, TicketPublic)
    names = await people(
        session,
        cx.tenant.id,
        {t.requester_id for t in page.data},
        {t.assignee_id for t in page.data},
    )
    return cx.render(
        "tickets/list.html",
        page=page,
        names=names,
        agents=await agents(session, cx),
        view=VIEWS[view],
        views=list(VIEWS.values()),
        sorts=SORT_LABELS,
        filters={
            "status": status,
            "priority": priority,
            "assignee": assignee,
            "q": q,
            "sort": sort,
        },
        statuses=list(TicketStatus),
        priorities=list(TicketPriority),
    )
