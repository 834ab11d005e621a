"""Control Panel > Tickets: the queue with filters and search, and a ticket's conversation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from pydantic import ValidationError

from cloudcx.api.problems import Problem
from cloudcx.console import ticket_form, ticket_queue, ticket_timeline
from cloudcx.console.records import (
    RecordNotFound,
    form_errors,
    parse_id,
    people,
    problem_errors,
)
from cloudcx.console.ticket_form import agents
from cloudcx.console.web import ConsoleDep
from cloudcx.deps import SessionDep
from cloudcx.tickets import service
from cloudcx.tickets.activity import Actor
from cloudcx.tickets.models import Ticket, TicketPriority, TicketStatus
from cloudcx.tickets.schemas import MessageCreate, TicketUpdate

router = APIRouter(prefix="/tickets", include_in_schema=False)
# Before the "/{id_}" routes, so that "/tickets/new" is not taken for an id.
router.include_router(ticket_form.router)
router.add_api_route("", ticket_queue.list_page, methods=["GET"])

Field = Annotated[str, Form(max_length=70_000)]
NOTICES = {
    "created": "Ticket created.",
    "replied": "Reply sent.",
    "noted": "Internal note added.",
    "saved": "Ticket saved.",
}


TAGS_HELP = (
    "Tags are single words of letters, digits and - . : / _ (50 characters at most), "
    "separated by commas or spaces; 20 at most."
)


def split_tags(text: str) -> list[str]:
    """Tags as typed: separated by commas, spaces or both."""
    return [t for t in text.replace(",", " ").split() if t]


async def _ticket(session: SessionDep, cx: ConsoleDep, id_: str) -> Ticket:
    ticket = await service.get_ticket(session, cx.tenant.id, parse_id(id_))
    if ticket is None:
        raise RecordNotFound
    return ticket


async def _detail(
    cx: ConsoleDep, session: SessionDep, ticket: Ticket, status_code: int = 200, **extra: object
) -> Response:
    messages, events = await ticket_timeline.load(session, ticket)
    contacts, users = ticket_timeline.mentioned(events)
    names = await people(
        session,
        cx.tenant.id,
        {ticket.requester_id, *(m.author_contact_id for m in messages), *contacts},
        {ticket.assignee_id, *(m.author_user_id for m in messages), *users},
    )
    extra.setdefault("errors", {})
    return cx.render(
        "tickets/detail.html",
        status_code=status_code,
        ticket=ticket,
        messages=messages,
        timeline=ticket_timeline.timeline(messages, events, names),
        clients=await ticket_timeline.client_names(session, cx.tenant.id, events),
        names=names,
        agents=await agents(session, cx),
        statuses=list(TicketStatus),
        priorities=list(TicketPriority),
        **extra,
    )


@router.get("/{id_}")
async def detail_page(
    cx: ConsoleDep, session: SessionDep, id_: str, notice: str | None = None
) -> Response:
    cx.require_user()
    ticket = await _ticket(session, cx, id_)
    return await _detail(cx, session, ticket, notice=NOTICES.get(notice or ""))


@router.post("/{id_}/messages")
async def add_message(
    cx: ConsoleDep,
    session: SessionDep,
    id_: str,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=10)] = "reply",
    body: Field = "",
) -> Response:
    user = cx.require_user()
    cx.check_csrf(csrf_token)
    ticket = await _ticket(session, cx, id_)
    try:
        data = MessageCreate.model_validate({"kind": kind, "body": body})
        await service.add_message(session, ticket, data, user.id, Actor(user.id))
    except ValidationError as exc:
        return await _detail(cx, session, ticket, 422, errors=form_errors(exc), body=body)
    await session.commit()
    notice = "noted" if data.kind == "note" else "replied"
    return cx.redirect(f"{router.prefix}/{ticket.id}?notice={notice}")


@router.post("/{id_}")
async def update(
    cx: ConsoleDep,
    session: SessionDep,
    id_: str,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    status: Annotated[str, Form(max_length=20)] = "",
    priority: Annotated[str, Form(max_length=20)] = "",
    assignee_id: Annotated[str, Form(max_length=40)] = "",
    subject: Annotated[str | None, Form(max_length=1000)] = None,
    tags: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    user = cx.require_user()
    cx.check_csrf(csrf_token)
    ticket = await _ticket(session, cx, id_)
    fields: dict[str, object] = {
        "status": status,
        "priority": priority,
        "assignee_id": assignee_id or None,
    }
    if subject is not None:  # a form without the field leaves the subject as it is
        fields["subject"] = subject
    if tags is not None:
        fields["tags"] = split_tags(tags)
    try:
        data = TicketUpdate.model_validate(fields)
        await service.update_ticket(session, ticket, data, Actor(user.id))
    except ValidationError as exc:
        errors = form_errors(exc)
        if "tags" in errors:
            errors["tags"] = TAGS_HELP
        if "subject" in errors:
            errors["subject"] = "Enter a subject, 250 characters at most."
        return await _detail(cx, session, ticket, 422, errors=errors, values=fields)
    except Problem as exc:
        await session.rollback()
        ticket = await _ticket(session, cx, id_)
        return await _detail(cx, session, ticket, 422, errors=problem_errors(exc))
    await session.commit()
    return cx.redirect(f"{router.prefix}/{ticket.id}?notice=saved")
