"""Global Settings > Security > OAuth Client (administrators only)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from cloudcx.audit import events as audit_events
from cloudcx.audit.service import Action
from cloudcx.console import confirm
from cloudcx.console.web import ConsoleDep
from cloudcx.deps import SessionDep
from cloudcx.oauth import clients, consents, revocation
from cloudcx.oauth import scopes as scope_catalog
from cloudcx.oauth.clients import ClientFormError
from cloudcx.oauth.models import OAuthClient

router = APIRouter(prefix="/settings/security/oauth-clients", include_in_schema=False)

LIST_URL = router.prefix
NOTICES = {
    "created": "OAuth client created.",
    "updated": "OAuth client saved.",
    "deleted": "OAuth client deleted.",
}

NameField = Annotated[str, Form(max_length=10_000)]
DescriptionField = Annotated[str, Form(max_length=10_000)]
CsrfField = Annotated[str, Form(max_length=200)]


class ClientNotFound(Exception):
    """Unknown id, or a client of another tenant: both are simply not found."""


async def find_client(session: SessionDep, cx: ConsoleDep, id_: str) -> OAuthClient:
    try:
        parsed = uuid.UUID(id_)
    except ValueError:
        raise ClientNotFound from None
    client = await clients.get_client(session, cx.tenant.id, parsed)
    if client is None:
        raise ClientNotFound
    return client


@router.get("")
async def list_page(cx: ConsoleDep, session: SessionDep, notice: str | None = None) -> Response:
    cx.require_admin()
    rows = await clients.list_clients(session, cx.tenant.id)
    return cx.render("oauth_clients/list.html", clients=rows, notice=NOTICES.get(notice or ""))


def _new_form(
    cx: ConsoleDep, values: Mapping[str, object], errors: dict[str, str], status_code: int = 200
) -> Response:
    return cx.render(
        "oauth_clients/form.html",
        status_code=status_code,
        client=None,
        values=values,
        errors=errors,
        all_scopes=list(scope_catalog.SCOPES.values()),
    )


@router.get("/new")
async def new_page(cx: ConsoleDep) -> Response:
    cx.require_admin()
    return _new_form(cx, {"scopes": list(scope_catalog.STARTING_SCOPES)}, {})


@router.post("/new")
async def create(
    cx: ConsoleDep,
    session: SessionDep,
    csrf_token: CsrfField = "",
    client_name: NameField = "",
    description: DescriptionField = "",
    scopes: Annotated[list[str], Form(max_length=50)] = [],  # noqa: B006
) -> Response:
    user = cx.require_admin()
    cx.check_csrf(csrf_token)
    try:
        client = await clients.create_client(
            session,
            tenant_id=cx.tenant.id,
            client_name=client_name,
            description=description,
            created_by=user.id,
            # The page always sends an empty "scopes" beside the ticked ones; a
            # request without the field (not from the page) gets the starting scopes.
            scopes=[s for s in scopes if s] if scopes else scope_catalog.STARTING_SCOPES,
        )
    except ClientFormError as exc:
        values = {"client_name": client_name, "description": description, "scopes": scopes}
        return _new_form(cx, values, exc.errors, 422)
    await audit_events.client_changed(
        session, cx.request, cx.tenant.id, user, Action.CLIENT_CREATED, client
    )
    await session.commit()
    return cx.redirect(f"{LIST_URL}?notice=created")


@router.get("/{id_}/delete")
async def delete_page(cx: ConsoleDep, session: SessionDep, id_: str) -> Response:
    cx.require_admin()
    client = await find_client(session, cx, id_)
    return confirm.ask(
        cx,
        confirm.Confirmation(
            title=f"Delete “{client.client_name}”?",
            lines=[
                f"Applications using Client ID {client.client_id} will no longer be able to "
                "get tokens, and every token of this client stops working at once. "
                "This cannot be undone.",
            ],
            action=f"{LIST_URL}/{client.id}/delete",
            button="Delete",
            cancel=LIST_URL,
        ),
    )


@router.post("/{id_}/delete")
async def delete(
    cx: ConsoleDep, session: SessionDep, id_: str, csrf_token: CsrfField = ""
) -> Response:
    user = cx.require_admin()
    cx.check_csrf(csrf_token)
    client = await find_client(session, cx, id_)
    await audit_events.client_changed(
        session, cx.request, cx.tenant.id, user, Action.CLIENT_DELETED, client
    )
    # Tokens are JWTs checked in memory: deleting the row alone would not end them.
    await consents.revoke_client_tokens(session, client)
    await session.delete(client)
    await session.commit()
    await revocation.past_the_cut()
    return cx.redirect(f"{LIST_URL}?notice=deleted")
