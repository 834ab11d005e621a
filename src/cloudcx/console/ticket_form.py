"""Control Panel > Tickets > New Ticket: an agent logs a call or a walk-in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select

from cloudcx.accounts.models import User
from cloudcx.api.problems import Problem
from cloudcx.console.records import form_errors, problem_errors
from cloudcx.console.web import ConsoleDep
from cloudcx.deps import SessionDep
from cloudcx.tickets import service
from cloudcx.tickets.models import TicketChannel, TicketPriority
from cloudcx.tickets.schemas import TicketCreate

router = APIRouter()

Field = Annotated[str, Form(max_length=70_000)]
LABELS = {
    "subject": "Subject",
    "description": "Description",
    "requester_email": "Requester's email",
    "priority": "Priority",
    "channel": "Channel",
    "assignee_id": "Assignee",
}
HINTS = {"requester_email": "Enter an email address like name@example.com."}
WORDS = {"assignee_id": "Choose an active agent from the list."}


async def agents(session: SessionDep, cx: ConsoleDep) -> list[User]:
    rows = await session.scalars(
        select(User).where(User.tenant_id == cx.tenant.id, User.is_active).order_by(User.name)
    )
    return list(rows)


@router.get("/new")
async def new_page(cx: ConsoleDep, session: SessionDep) -> Response:
    cx.require_user()
    return await _new_form(cx, session, {"priority": "normal", "channel": "phone"}, {})


async def _new_form(
    cx: ConsoleDep,
    session: SessionDep,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return cx.render(
        "tickets/new.html",
        status_code=status_code,
        values=values,
        errors=errors,
        agents=await agents(session, cx),
        priorities=list(TicketPriority),
        channels=list(TicketChannel),
    )


@router.post("/new")
async def create(
    cx: ConsoleDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    subject: Field = "",
    description: Field = "",
    requester_email: Annotated[str, Form(max_length=400)] = "",
    priority: Annotated[str, Form(max_length=20)] = "normal",
    channel: Annotated[str, Form(max_length=20)] = "phone",
    assignee_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """An agent logs a ticket, e.g. from a phone call; an unknown email becomes a contact."""
    cx.require_user()
    cx.check_csrf(csrf_token)
    values = {
        "subject": subject,
        "description": description,
        "priority": priority,
        "channel": channel,
        "assignee_id": assignee_id,
        "requester_email": requester_email,
    }
    try:
        data = TicketCreate.model_validate(
            {
                "subject": subject,
                "description": description,
                "priority": priority,
                "channel": channel,
                "assignee_id": assignee_id or None,
                "requester_email": requester_email.strip() or None,
            }
        )
        ticket = await service.create_ticket(session, cx.tenant.id, data)
    except ValidationError as exc:
        return await _new_form(cx, session, values, form_errors(exc, LABELS, HINTS), 422)
    except Problem as exc:
        await session.rollback()
        return await _new_form(cx, session, values, problem_errors(exc, WORDS), 422)
    await session.commit()
    return cx.redirect(f"/tickets/{ticket.id}?notice=created")
