"""Control Panel > Tickets: the queue with filters and search, and a ticket's conversation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from pydantic import ValidationError

from cloudcx.accounts.models import User
from cloudcx.api.problems import Problem
from cloudcx.console import ticket_form, ticket_queue, ticket_timeline, versions
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
from cloudcx.tickets.schemas import MessageCreate, TicketPublic, TicketUpdate

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


LABELS = {
    "subject": "Subject",
    "status": "Status",
    "priority": "Priority",
    "assignee_id": "Assignee",
    "tags": "Tags",
}
MESSAGE_LABELS = {"body": "Message", "kind": "Kind of message"}
ASSIGNEE_WORDS = {"assignee_id": "Choose an active agent from the list."}
# "Send and set Solved": a reply and the status in one submit.
SEND_AND_SET = {"send_pending": TicketStatus.PENDING, "send_solved": TicketStatus.SOLVED}


def _status_word(status: TicketStatus) -> str:
    return status.value.replace("_", " ").capitalize()


def _flat(ticket: Ticket) -> dict[str, str]:
    return {
        "subject": ticket.subject,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "assignee_id": str(ticket.assignee_id or ""),
        "tags": " ".join(ticket.tags),
    }


def snapshot(ticket: Ticket) -> versions.Snapshot:
    return versions.snapshot(TicketPublic.model_validate(ticket), _flat(ticket))


def _shown(agents_: list[User]) -> dict[str, dict[str, str]]:
    return {
        "status": {s.value: _status_word(s) for s in TicketStatus},
        "priority": {p.value: p.value.capitalize() for p in TicketPriority},
        "assignee_id": {"": "Unassigned", **{str(a.id): a.name for a in agents_}},
    }


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
    extra.setdefault("values", {**_flat(ticket), "kind": "reply"})
    extra.setdefault("snap", snapshot(ticket))
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
        send_and_set={k: _status_word(v) for k, v in SEND_AND_SET.items()},
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
    """A message alone: it changes no field an agent edits, so it needs no version."""
    user = cx.require_user()
    cx.check_csrf(csrf_token)
    ticket = await _ticket(session, cx, id_)
    try:
        data = MessageCreate.model_validate({"kind": kind, "body": body})
        await service.add_message(session, ticket, data, user.id, Actor(user.id))
    except ValidationError as exc:
        errors = form_errors(exc, MESSAGE_LABELS)
        return await _detail(cx, session, ticket, 422, errors=errors, body=body)
    await session.commit()
    notice = "noted" if data.kind == "note" else "replied"
    return cx.redirect(f"{router.prefix}/{ticket.id}?notice={notice}")


@router.post("/{id_}")
async def update(
    cx: ConsoleDep,
    session: SessionDep,
    id_: str,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    version: Annotated[str, Form(max_length=200)] = "",
    original: Annotated[str, Form(max_length=2000)] = "",
    status: Annotated[str, Form(max_length=20)] = "",
    priority: Annotated[str, Form(max_length=20)] = "",
    assignee_id: Annotated[str, Form(max_length=40)] = "",
    intent: Annotated[str, Form(max_length=20)] = "save",
    kind: Annotated[str, Form(max_length=10)] = "reply",
    body: Field = "",
    subject: Annotated[str | None, Form(max_length=1000)] = None,
    tags: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    """Properties and, with Send, a message: one submit, one version check.

    The ticket is locked until commit, so the version compared is the one replaced.
    A form without the subject or tags fields leaves them as they are.
    """
    user = cx.require_user()
    cx.check_csrf(csrf_token)
    ticket = await service.get_ticket(session, cx.tenant.id, parse_id(id_), lock=True)
    if ticket is None:
        raise RecordNotFound
    chosen = SEND_AND_SET.get(intent)
    saved = _flat(ticket)
    yours = {
        "subject": saved["subject"] if subject is None else subject,
        "status": chosen.value if chosen else status,
        "priority": priority,
        "assignee_id": assignee_id,
        "tags": saved["tags"] if tags is None else tags,
    }
    again = {"values": {**yours, "kind": kind}, "body": body}
    sending = intent == "send" or chosen is not None
    if body.strip() and not sending:
        errors = {"body": "Click Send to send this message, or clear it to save the properties."}
        return await _detail(cx, session, ticket, 422, errors=errors, **again)
    fields: dict[str, object] = {
        "status": yours["status"],
        "priority": priority,
        "assignee_id": assignee_id or None,
    }
    if subject is not None:
        fields["subject"] = subject
    if tags is not None:
        fields["tags"] = split_tags(tags)
    try:
        data = TicketUpdate.model_validate(fields)
        message = MessageCreate.model_validate({"kind": kind, "body": body}) if sending else None
        versions.check(
            version, original, snapshot(ticket), yours, LABELS, _shown(await agents(session, cx))
        )
        await service.update_ticket(session, ticket, data, Actor(user.id))
        if message is not None:
            await service.add_message(session, ticket, message, user.id, Actor(user.id))
    except ValidationError as exc:
        errors = form_errors(exc, {**LABELS, **MESSAGE_LABELS})
        if "tags" in errors:
            errors["tags"] = TAGS_HELP
        if "subject" in errors:
            errors["subject"] = "Enter a subject, 250 characters at most."
        return await _detail(cx, session, ticket, 422, errors=errors, **again)
    except versions.EditConflict as conflict:
        values = {**conflict.merged, "kind": kind}
        return await _detail(
            cx, session, ticket, 409, conflict=conflict, snap=conflict.current, values=values,
            body=body,
        )  # fmt: skip
    except Problem as exc:
        await session.rollback()
        ticket = await _ticket(session, cx, id_)
        errors = problem_errors(exc, ASSIGNEE_WORDS)
        return await _detail(cx, session, ticket, 422, errors=errors, **again)
    await session.commit()
    notice = "saved" if message is None else "noted" if message.kind == "note" else "replied"
    return cx.redirect(f"{router.prefix}/{ticket.id}?notice={notice}")
