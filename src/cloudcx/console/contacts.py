"""Control Panel > Contacts: search, detail with their tickets, create and edit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select

from cloudcx.api.problems import Problem
from cloudcx.console.records import (
    RecordNotFound,
    form_errors,
    page_of,
    parse_id,
    problem_errors,
)
from cloudcx.console.web import ConsoleDep
from cloudcx.contacts import service
from cloudcx.contacts.api import NEWEST_FIRST
from cloudcx.contacts.models import Contact
from cloudcx.contacts.schemas import ContactCreate, ContactPublic, ContactUpdate
from cloudcx.deps import SessionDep
from cloudcx.tickets.models import Ticket

router = APIRouter(prefix="/contacts", include_in_schema=False)

Text = Annotated[str, Form(max_length=20_000)]
FIELDS = ("first_name", "last_name", "email", "phone", "company", "job_title", "notes")
NOTICES = {"created": "Contact created.", "saved": "Contact saved."}


async def _contact(session: SessionDep, cx: ConsoleDep, id_: str) -> Contact:
    contact = await service.get_contact(session, cx.tenant.id, parse_id(id_))
    if contact is None:
        raise RecordNotFound
    return contact


def _payload(values: dict[str, str], tags: str) -> dict[str, object]:
    """Form strings to API fields: blank email and phone mean none."""
    data: dict[str, object] = {k: v for k, v in values.items() if k in FIELDS}
    for name in ("email", "phone"):
        data[name] = values.get(name, "").strip() or None
    data["tags"] = [t for t in tags.replace(",", " ").split() if t]
    return data


def _form_values(*values: str) -> dict[str, str]:
    """The submitted fields by name, to show the form again after an error."""
    return dict(zip(FIELDS, values, strict=True))


@router.get("")
async def list_page(
    cx: ConsoleDep, session: SessionDep, q: str = "", cursor: str | None = None
) -> Response:
    cx.require_user()
    query = service.search(cx.tenant.id, q.replace("\x00", "")[:200] or None, None, None)
    page = await page_of(session, cx, query, NEWEST_FIRST, cursor, ContactPublic)
    return cx.render("contacts/list.html", page=page, q=q)


@router.get("/new")
async def new_page(cx: ConsoleDep) -> Response:
    cx.require_user()
    return cx.render("contacts/form.html", contact=None, values={}, errors={})


@router.post("/new")
async def create(
    cx: ConsoleDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    first_name: Text = "",
    last_name: Text = "",
    email: Text = "",
    phone: Text = "",
    company: Text = "",
    job_title: Text = "",
    tags: Text = "",
    notes: Text = "",
) -> Response:
    cx.require_user()
    cx.check_csrf(csrf_token)
    values = _form_values(first_name, last_name, email, phone, company, job_title, notes)
    try:
        contact = await service.create_contact(
            session, cx.tenant.id, ContactCreate.model_validate(_payload(values, tags))
        )
    except (ValidationError, Problem) as exc:
        errors = form_errors(exc) if isinstance(exc, ValidationError) else problem_errors(exc)
        values["tags"] = tags
        return cx.render("contacts/form.html", 422, contact=None, values=values, errors=errors)
    await session.commit()
    return cx.redirect(f"{router.prefix}/{contact.id}?notice=created")


@router.get("/{id_}")
async def detail_page(
    cx: ConsoleDep, session: SessionDep, id_: str, notice: str | None = None
) -> Response:
    cx.require_user()
    contact = await _contact(session, cx, id_)
    tickets = await session.scalars(
        select(Ticket)
        .where(Ticket.tenant_id == cx.tenant.id, Ticket.requester_id == contact.id)
        .order_by(Ticket.created_at.desc())
        .limit(100)
    )
    return cx.render(
        "contacts/detail.html",
        contact=contact,
        tickets=list(tickets),
        notice=NOTICES.get(notice or ""),
    )


@router.get("/{id_}/edit")
async def edit_page(cx: ConsoleDep, session: SessionDep, id_: str) -> Response:
    cx.require_user()
    contact = await _contact(session, cx, id_)
    values = {name: getattr(contact, name) or "" for name in FIELDS}
    values["tags"] = " ".join(contact.tags)
    return cx.render("contacts/form.html", contact=contact, values=values, errors={})


@router.post("/{id_}/edit")
async def update(
    cx: ConsoleDep,
    session: SessionDep,
    id_: str,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    first_name: Text = "",
    last_name: Text = "",
    email: Text = "",
    phone: Text = "",
    company: Text = "",
    job_title: Text = "",
    tags: Text = "",
    notes: Text = "",
) -> Response:
    cx.require_user()
    cx.check_csrf(csrf_token)
    contact = await _contact(session, cx, id_)
    values = _form_values(first_name, last_name, email, phone, company, job_title, notes)
    try:
        data = ContactUpdate.model_validate(_payload(values, tags))
        await service.update_contact(session, contact, data)
    except (ValidationError, Problem) as exc:
        errors = form_errors(exc) if isinstance(exc, ValidationError) else problem_errors(exc)
        await session.rollback()
        values["tags"] = tags
        contact = await _contact(session, cx, id_)
        return cx.render("contacts/form.html", 422, contact=contact, values=values, errors=errors)
    await session.commit()
    return cx.redirect(f"{router.prefix}/{contact.id}?notice=saved")
