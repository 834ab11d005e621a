"""Action > Edit of an OAuth client: its settings, its secret and its tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.audit import events as audit_events
from cloudcx.audit.service import Action
from cloudcx.console.oauth_clients import LIST_URL, find_client
from cloudcx.console.web import Console, ConsoleDep
from cloudcx.deps import SessionDep
from cloudcx.oauth import client_settings, consents, revocation
from cloudcx.oauth import scopes as scope_catalog
from cloudcx.oauth.clients import ClientFormError
from cloudcx.oauth.models import OAuthClient

router = APIRouter(prefix=LIST_URL, include_in_schema=False)

TEMPLATE = "oauth_clients/edit.html"
TEXT_FIELDS = (
    "client_name",
    "description",
    "redirect_uris",
    "access_token_ttl",
    "refresh_token_ttl",
    "is_enabled",
    "skip_consent",
)


def _values(client: OAuthClient) -> dict[str, Any]:
    return {
        "client_name": client.client_name,
        "description": client.description,
        "redirect_uris": "\n".join(client.redirect_uris),
        "grant_types": list(client.grant_types),
        "scopes": list(client.scopes),
        "access_token_ttl": client.access_token_ttl or "",
        "refresh_token_ttl": client.refresh_token_ttl or "",
        "is_enabled": client.is_enabled,
        "skip_consent": client.skip_consent,
    }


async def _render(
    cx: Console,
    session: AsyncSession,
    client: OAuthClient,
    values: dict[str, Any],
    status_code: int = 200,
    **extra: Any,
) -> Response:
    response = cx.render(
        TEMPLATE,
        status_code=status_code,
        client=client,
        values=values,
        errors=extra.pop("errors", {}),
        grant_labels=client_settings.GRANT_LABELS,
        all_scopes=list(scope_catalog.SCOPES.values()),
        granted_users=await consents.count_for_client(session, client),
        **extra,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/{id_}/edit")
async def edit_page(
    cx: ConsoleDep, session: SessionDep, id_: str, notice: str | None = None
) -> Response:
    cx.require_admin()
    client = await find_client(session, cx, id_)
    message = {"revoked": "Every token of this client has been revoked."}.get(notice or "")
    return await _render(cx, session, client, _values(client), notice=message)


@router.post("/{id_}/edit")
async def update(request: Request, cx: ConsoleDep, session: SessionDep, id_: str) -> Response:
    user = cx.require_admin()
    form = await request.form()
    cx.check_csrf(form.get("csrf_token"))
    client = await find_client(session, cx, id_)
    fields = {k: v for k in TEXT_FIELDS if isinstance(v := form.get(k), str)}
    grants = [g for g in form.getlist("grant_types") if isinstance(g, str)]
    scopes = [s for s in form.getlist("scopes") if isinstance(s, str)]
    try:
        settings = client_settings.clean_settings(fields, grants, scopes)
    except ClientFormError as exc:
        values: dict[str, Any] = {
            **fields,
            "grant_types": grants,
            "scopes": scopes,
            "is_enabled": fields.get("is_enabled") == "on",
            "skip_consent": fields.get("skip_consent") == "on",
        }
        return await _render(cx, session, client, values, 422, errors=exc.errors)
    stopping = await client_settings.apply(session, client, settings)
    action = Action.CLIENT_DISABLED if stopping else Action.CLIENT_UPDATED
    await audit_events.client_changed(session, request, cx.tenant.id, user, action, client)
    await session.commit()
    if stopping:
        await revocation.past_the_cut()
    return cx.redirect(f"{LIST_URL}?notice=updated")


@router.post("/{id_}/secret")
async def generate_secret(
    request: Request, cx: ConsoleDep, session: SessionDep, id_: str
) -> Response:
    """Show the new secret in this response only: it is never stored or shown again."""
    user = cx.require_admin()
    form = await request.form()
    cx.check_csrf(form.get("csrf_token"))
    client = await find_client(session, cx, id_)
    secret = client_settings.new_secret(client)
    await audit_events.client_changed(
        session, request, cx.tenant.id, user, Action.CLIENT_SECRET_GENERATED, client
    )
    await session.commit()
    return await _render(
        cx,
        session,
        client,
        _values(client),
        new_secret=secret,
        notice="Client secret generated. Copy it now: it will not be shown again.",
    )


@router.post("/{id_}/revoke-tokens")
async def revoke_tokens(
    request: Request, cx: ConsoleDep, session: SessionDep, id_: str
) -> Response:
    user = cx.require_admin()
    form = await request.form()
    cx.check_csrf(form.get("csrf_token"))
    client = await find_client(session, cx, id_)
    await consents.revoke_client_tokens(session, client)
    await audit_events.client_changed(
        session, request, cx.tenant.id, user, Action.GRANT_REVOKED, client
    )
    await session.commit()
    await revocation.past_the_cut()
    return cx.redirect(f"{LIST_URL}/{client.id}/edit?notice=revoked")
