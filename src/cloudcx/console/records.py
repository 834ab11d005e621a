"""Helpers shared by the Control Panel's record pages (tickets, contacts, users)."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.api import pagination
from cloudcx.api.pagination import Keyset, Page, PageParams
from cloudcx.api.problems import Problem
from cloudcx.console.web import Console
from cloudcx.contacts.models import Contact

M = TypeVar("M", bound=BaseModel)
PAGE_SIZE = 25


class RecordNotFound(Exception):
    """Unknown id, or a record of another tenant: both are simply not found."""


def parse_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise RecordNotFound from None


def form_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic errors keyed by field name, for the form templates."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "form"
        message = str(err["msg"]).removeprefix("Value error, ")
        errors.setdefault(field, message[:1].upper() + message[1:])
    return errors


def problem_errors(exc: Problem) -> dict[str, str]:
    """A service's 409/422 problem as form errors."""
    fields: list[dict[str, Any]] = exc.extensions.get("errors") or []
    if fields:
        return {f["field"]: f["message"] for f in fields}
    return {"form": exc.detail}


async def page_of(
    session: AsyncSession,
    cx: Console,
    query: Select[Any],
    keyset: Keyset,
    cursor: str | None,
    model: type[M],
) -> Page[M]:
    """One page of a listing; a bad or foreign cursor just restarts from the top."""
    params = PageParams(limit=PAGE_SIZE, cursor=cursor, request=cx.request)
    try:
        ordered = pagination.apply(query, keyset, params)
    except Problem:
        params = PageParams(limit=PAGE_SIZE, cursor=None, request=cx.request)
        ordered = pagination.apply(query, keyset, params)
    rows = (await session.scalars(ordered)).all()
    return pagination.page(rows, keyset, params, model)


async def people(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    contact_ids: set[uuid.UUID | None],
    user_ids: set[uuid.UUID | None],
) -> dict[uuid.UUID, str]:
    """Display names of the contacts and users a page mentions, in one query each."""
    names: dict[uuid.UUID, str] = {}
    wanted_contacts = {i for i in contact_ids if i}
    wanted_users = {i for i in user_ids if i}
    if wanted_contacts:
        rows = await session.scalars(
            select(Contact).where(Contact.tenant_id == tenant_id, Contact.id.in_(wanted_contacts))
        )
        names.update({c.id: c.name for c in rows})
    if wanted_users:
        users = await session.scalars(
            select(User).where(User.tenant_id == tenant_id, User.id.in_(wanted_users))
        )
        names.update({u.id: u.name for u in users})
    return names
