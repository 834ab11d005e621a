"""An OAuth client's secret and tokens: Regenerate and Revoke all tokens, each confirmed.

Both take access away from whoever uses the client now, so each is a link to
a confirmation page whose form performs it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cloudcx.audit import events as audit_events
from cloudcx.audit.service import Action
from cloudcx.console import confirm
from cloudcx.console.oauth_client_edit import issue_secret
from cloudcx.console.oauth_clients import LIST_URL, find_client
from cloudcx.console.web import ConsoleDep
from cloudcx.deps import SessionDep
from cloudcx.oauth import consents, revocation

router = APIRouter(prefix=LIST_URL, include_in_schema=False)


@router.get("/{id_}/secret")
async def secret_page(
    cx: ConsoleDep, session: SessionDep, id_: str, saved: str | None = None
) -> Response:
    cx.require_admin()
    client = await find_client(session, cx, id_)
    edit_url = f"{LIST_URL}/{client.id}/edit"
    lines = ["Your changes to the client were saved."] if saved else []
    if client.is_confidential:
        title, button = f"Regenerate the secret of “{client.client_name}”?", "Regenerate"
        lines.append(
            "Applications using the current secret are refused at once, until they are "
            "given the new one."
        )
    else:
        title, button = f"Generate a secret for “{client.client_name}”?", "Generate client secret"
        lines.append("The client becomes confidential: it must send the secret from then on.")
    return confirm.ask(
        cx,
        confirm.Confirmation(
            title=title,
            lines=lines,
            action=f"{LIST_URL}/{client.id}/secret",
            button=button,
            cancel=edit_url,
        ),
    )


@router.post("/{id_}/secret")
async def generate_secret(
    request: Request, cx: ConsoleDep, session: SessionDep, id_: str
) -> Response:
    """The secret is shown on the page after the redirect, once (``console.shown``)."""
    user = cx.require_admin()
    form = await request.form()
    cx.check_csrf(form.get("csrf_token"))
    client = await find_client(session, cx, id_)
    return await issue_secret(request, cx, session, client, user)


@router.get("/{id_}/revoke-tokens")
async def revoke_tokens_page(cx: ConsoleDep, session: SessionDep, id_: str) -> Response:
    cx.require_admin()
    client = await find_client(session, cx, id_)
    granted = await consents.count_for_client(session, client)
    lines = ["Every access and refresh token of this client stops working at once."]
    if granted:
        users = "1 user" if granted == 1 else f"{granted} users"
        lines.append(f"{users} will have to grant it access again.")
    lines.append("The client itself stays: applications can get new tokens.")
    return confirm.ask(
        cx,
        confirm.Confirmation(
            title=f"Revoke every token of “{client.client_name}”?",
            lines=lines,
            action=f"{LIST_URL}/{client.id}/revoke-tokens",
            button="Revoke all tokens",
            cancel=f"{LIST_URL}/{client.id}/edit",
        ),
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
