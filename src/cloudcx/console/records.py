"""Helpers shared by the Control Panel's record pages (tickets, contacts, users)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
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


# Words for pydantic's error types, so no library text reaches a page.
_MESSAGES = {
    "missing": "{label} is required.",
    "string_too_long": "{label} must be at most {max_length} characters.",
    "too_long": "{label} can hold at most {max_length} entries.",
    "enum": "Choose {a} {lower} from the list.",
    "literal_error": "Choose {a} {lower} from the list.",
    "uuid_parsing": "Choose {a} {lower} from the list.",
    "uuid_type": "Choose {a} {lower} from the list.",
    "int_parsing": "{label} must be a whole number.",
    "string_pattern_mismatch": "{label} contains characters that are not allowed.",
    "value_error": "{label} is not valid.",
}
_NUL = "must not contain NUL characters"


def _message(err: Any, label: str, hint: str | None) -> str:
    kind = str(err["type"])
    ctx = err.get("ctx") or {}
    if kind == "string_too_short":
        low = ctx.get("min_length", 1)
        return f"{label} is required." if low <= 1 else f"{label} needs at least {low} characters."
    if kind == "value_error" and _NUL in str(err["msg"]):
        return f"{label} contains a character that is not allowed."
    if hint and kind in {"value_error", "string_pattern_mismatch"}:
        return hint
    template = _MESSAGES.get(kind, "{label} is not valid.")
    ctx = {k: v for k, v in ctx.items() if k not in {"label", "lower", "a"}}
    article = "an" if label[:1].lower() in set("aeiou") else "a"
    return template.format(label=label, lower=label.lower(), a=article, **ctx)


def form_errors(
    exc: ValidationError,
    labels: Mapping[str, str],
    hints: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Validation errors keyed by field name, in the product's words, for the templates.

    ``labels`` are the fields' names on screen; ``hints`` say what a field takes
    when its value has the wrong form (an email address, a phone number), and
    under ``"form"`` what the whole form lacks (a model validator's error).
    """
    errors: dict[str, str] = {}
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "form"
        if field == "form":
            message = (hints or {}).get("form", "Check the form and try again.")
        else:
            label = labels.get(field, field.replace("_", " ").capitalize())
            message = _message(err, label, (hints or {}).get(field))
        errors.setdefault(field, message)
    return errors


def problem_errors(exc: Problem, words: Mapping[str, str] | None = None) -> dict[str, str]:
    """A service's 409/422 problem as form errors; ``words`` replace the API's
    message for a field where the page says it better ("choose from the list")."""
    fields: list[dict[str, Any]] = exc.extensions.get("errors") or []
    if fields:
        return {f["field"]: (words or {}).get(f["field"], f["message"]) for f in fields}
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
