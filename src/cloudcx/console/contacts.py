"""Control Panel > Contacts: search, detail with their tickets, create and edit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select

from cloudcx.api.problems import Problem
from cloudcx.console import versions
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
LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "company": "Company",
    "job_title": "Job title",
    "tags": "Tags",
    "notes": "Notes",
}
HINTS = {
    "email": "Enter an email address like name@example.com.",
    "phone": "Enter a phone number of digits, spaces and + ( ) . - only.",
    "tags": "Tags are single words of letters, digits and - _ . : / (50 characters at most).",
    "form": "Enter a name, an email address or a phone number.",
}


def _errors(exc: ValidationError | Problem) -> dict[str, str]:
    if isinstance(exc, ValidationError):
        return form_errors(exc, LABELS, HINTS)
    return problem_errors(exc)


def _flat(contact: Contact) -> dict[str, str]:
    values = {name: getattr(contact, name) or "" for name in FIELDS}
    values["tags"] = " ".join(contact.tags)
    return values


def snapshot(contact: Contact) -> versions.Snapshot:
    return versions.snapshot(ContactPublic.model_validate(contact), _flat(contact))


def _form(
    cx: ConsoleDep,
    contact: Contact | None,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    **extra: object,
) -> Response:
    if contact is not None:
        extra.setdefault("snap", snapshot(contact))
    return cx.render(
        "contacts/form.html",
        status_code,
        contact=contact,
        values=values,
        errors=errors,
        **extra,
    )


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
    return _form(cx, None, {}, {})


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
        values["tags"] = tags
        return _form(cx, None, values, _errors(exc), 422)
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
    return _form(cx, contact, _flat(contact), {})


@router.post("/{id_}/edit")
async def update(
    cx: ConsoleDep,
    session: SessionDep,
    id_: str,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    version: Annotated[str, Form(max_length=200)] = "",
    original: Annotated[str, Form(max_length=200_000)] = "",
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
    contact = await service.get_contact(session, cx.tenant.id, parse_id(id_), lock=True)
    if contact is None:
        raise RecordNotFound
    values = _form_values(first_name, last_name, email, phone, company, job_title, notes)
    values["tags"] = " ".join(t for t in tags.replace(",", " ").split() if t)
    try:
        versions.check(version, original, snapshot(contact), values, LABELS)
        data = ContactUpdate.model_validate(_payload(values, tags))
        await service.update_contact(session, contact, data)
    except versions.EditConflict as conflict:
        return _form(cx, contact, conflict.merged, {}, 409, conflict=conflict)
    except (ValidationError, Problem) as exc:
        await session.rollback()
        values["tags"] = tags
        contact = await _contact(session, cx, id_)
        return _form(cx, contact, values, _errors(exc), 422)
    await session.commit()
    return cx.redirect(f"{router.prefix}/{contact.id}?notice=saved")
