"""Action > Edit of an OAuth client: its settings, saved conflict-safe.

Save stays on Edit with a notice. "Generate client secret" is a button of the
same form: it saves the form's edits first, so none are lost, then makes the
secret (``oauth_client_secret``). Enabling or disabling the client changes
who gets tokens, so that Save asks for confirmation first.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from cloudcx.accounts.models import User
from cloudcx.audit import events as audit_events
from cloudcx.audit.service import Action
from cloudcx.console import confirm, versions
from cloudcx.console import shown as shown_once
from cloudcx.console.oauth_clients import LIST_URL, find_client
from cloudcx.console.web import Console, ConsoleDep
from cloudcx.deps import SessionDep
from cloudcx.oauth import client_settings, consents, revocation
from cloudcx.oauth import scopes as scope_catalog
from cloudcx.oauth.clients import ClientFormError
from cloudcx.oauth.models import OAuthClient

router = APIRouter(prefix=LIST_URL, include_in_schema=False)

TEMPLATE = "oauth_clients/edit.html"
SECRET_KIND = "client_secret"
TEXT_FIELDS = (
    "client_name",
    "description",
    "redirect_uris",
    "post_logout_redirect_uris",
    "access_token_ttl",
    "refresh_token_ttl",
    "is_enabled",
    "skip_consent",
    "require_par",
    "require_dpop",
    "id_token_signed_response_alg",
)
LABELS = {
    "client_name": "Client name",
    "description": "Description",
    "redirect_uris": "Redirect URIs",
    "post_logout_redirect_uris": "Post-logout URIs",
    "grant_types": "Grant types",
    "scopes": "Allowed scopes",
    "access_token_ttl": "Access-token lifetime (seconds)",
    "refresh_token_ttl": "Refresh-token lifetime (seconds)",
    "is_enabled": "Enabled",
    "skip_consent": "Skip the consent page",
    "require_par": "Require pushed authorization requests",
    "require_dpop": "Require DPoP",
    "id_token_signed_response_alg": "ID token signing algorithm",
}
YES_NO = {"on": "Yes", "": "No"}
NOTICES = {
    "updated": "OAuth client saved.",
    "revoked": "Every token of this client has been revoked.",
    "secret": "Client secret generated. Copy it now: it will not be shown again.",
}


class ClientVersion(BaseModel):
    """What the edit form shows of a client: its digest is the form's version."""

    client_name: str
    description: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    access_token_ttl: int | None
    refresh_token_ttl: int | None
    is_enabled: bool
    skip_consent: bool
    require_par: bool
    require_dpop: bool
    id_token_signed_response_alg: str | None
    is_confidential: bool


def _flat(client: OAuthClient) -> dict[str, str]:
    """The client as the form's strings: what a stale save is compared with."""
    return {
        "client_name": client.client_name,
        "description": client.description,
        "redirect_uris": "\n".join(client.redirect_uris),
        "post_logout_redirect_uris": "\n".join(client.post_logout_redirect_uris),
        "grant_types": " ".join(client.grant_types),
        "scopes": " ".join(client.scopes),
        "access_token_ttl": str(client.access_token_ttl or ""),
        "refresh_token_ttl": str(client.refresh_token_ttl or ""),
        "is_enabled": "on" if client.is_enabled else "",
        "skip_consent": "on" if client.skip_consent else "",
        "require_par": "on" if client.require_par else "",
        "require_dpop": "on" if client.require_dpop else "",
        "id_token_signed_response_alg": client.id_token_signed_response_alg or "RS256",
    }


def snapshot(client: OAuthClient) -> versions.Snapshot:
    public = ClientVersion.model_validate(
        {**{k: getattr(client, k) for k in LABELS}, "is_confidential": client.is_confidential}
    )
    return versions.snapshot(public, _flat(client))


def _submitted(form: FormData) -> dict[str, str]:
    """The form's fields as strings, in the order and spelling ``_flat`` uses."""
    fields = {k: v if isinstance(v := form.get(k), str) else "" for k in TEXT_FIELDS}
    for name in ("redirect_uris", "post_logout_redirect_uris"):
        uris = [line.strip() for line in fields[name].splitlines() if line.strip()]
        fields[name] = "\n".join(uris)
    for name, catalogue in (
        ("grant_types", client_settings.GRANT_LABELS),
        ("scopes", scope_catalog.SCOPES),
    ):
        chosen = {g for g in form.getlist(name) if isinstance(g, str)}
        fields[name] = " ".join(g for g in catalogue if g in chosen)
    for name in ("access_token_ttl", "refresh_token_ttl"):
        fields[name] = fields[name].strip()
    for name in ("is_enabled", "skip_consent", "require_par", "require_dpop"):
        fields[name] = "on" if fields[name] == "on" else ""
    fields["id_token_signed_response_alg"] = fields["id_token_signed_response_alg"] or "RS256"
    return fields


def form_values(flat: dict[str, str]) -> dict[str, Any]:
    """Strings back into what the template shows (lists and ticks)."""
    return {
        **flat,
        "grant_types": flat.get("grant_types", "").split(),
        "scopes": flat.get("scopes", "").split(),
        "is_enabled": flat.get("is_enabled") == "on",
        "skip_consent": flat.get("skip_consent") == "on",
        "require_par": flat.get("require_par") == "on",
        "require_dpop": flat.get("require_dpop") == "on",
    }


async def render(
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
        snap=extra.pop("snap", None) or snapshot(client),
        grant_labels=client_settings.GRANT_LABELS,
        all_scopes=list(scope_catalog.SCOPES.values()),
        id_token_algs=client_settings.ID_TOKEN_ALGS,
        granted_users=await consents.count_for_client(session, client),
        **extra,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/{id_}/edit")
async def edit_page(
    cx: ConsoleDep,
    session: SessionDep,
    id_: str,
    notice: str | None = None,
    shown: str | None = None,
) -> Response:
    cx.require_admin()
    client = await find_client(session, cx, id_)
    reveal = await shown_once.reveal(cx, session, shown, kind=SECRET_KIND, subject=str(client.id))
    message = NOTICES.get(notice or "")
    if reveal is not None and reveal.value is None:
        message = None
    return await render(
        cx, session, client, form_values(_flat(client)), notice=message, reveal=reveal
    )


@router.post("/{id_}/edit")
async def update(request: Request, cx: ConsoleDep, session: SessionDep, id_: str) -> Response:
    user = cx.require_admin()
    form = await request.form()
    cx.check_csrf(form.get("csrf_token"))
    client = await find_client(session, cx, id_)
    yours = _submitted(form)
    try:
        settings = client_settings.clean_settings(
            yours, yours["grant_types"].split(), yours["scopes"].split()
        )
        versions.check(
            str(form.get(versions.VERSION_FIELD) or ""),
            str(form.get(versions.ORIGINAL_FIELD) or ""),
            snapshot(client),
            yours,
            LABELS,
            {
                "is_enabled": YES_NO,
                "skip_consent": YES_NO,
                "require_par": YES_NO,
                "require_dpop": YES_NO,
            },
        )
    except ClientFormError as exc:
        return await render(cx, session, client, form_values(yours), 422, errors=exc.errors)
    except versions.EditConflict as conflict:
        values = form_values(conflict.merged)
        return await render(cx, session, client, values, 409, conflict=conflict)
    if settings.is_enabled != client.is_enabled and not confirm.is_confirmed(form):
        return confirm.ask(cx, _enabled_confirmation(client, settings.is_enabled, form))
    stopping = await client_settings.apply(session, client, settings)
    action = Action.CLIENT_DISABLED if stopping else Action.CLIENT_UPDATED
    await audit_events.client_changed(session, request, cx.tenant.id, user, action, client)
    await session.commit()
    if stopping:
        await revocation.past_the_cut()
    if form.get("then") != "secret":
        return cx.redirect(f"{LIST_URL}/{client.id}/edit?notice=updated")
    if client.is_confidential:  # replacing a secret asks first; the edits are kept
        return cx.redirect(f"{LIST_URL}/{client.id}/secret?saved=1")
    return await issue_secret(request, cx, session, client, user)


async def issue_secret(
    request: Request, cx: Console, session: AsyncSession, client: OAuthClient, user: User
) -> Response:
    """A new secret, replacing any other at once, shown on the Edit page after a redirect."""
    secret = client_settings.new_secret(client)
    await audit_events.client_changed(
        session, request, cx.tenant.id, user, Action.CLIENT_SECRET_GENERATED, client
    )
    handle = await shown_once.remember(
        cx, session, kind=SECRET_KIND, subject=str(client.id), value=secret
    )
    await session.commit()
    return cx.redirect(f"{LIST_URL}/{client.id}/edit?notice=secret&shown={handle}")


def _enabled_confirmation(
    client: OAuthClient, enabling: bool, form: FormData
) -> confirm.Confirmation:
    name = client.client_name
    edit_url = f"{LIST_URL}/{client.id}/edit"
    if enabling:
        return confirm.Confirmation(
            title=f"Enable “{name}”?",
            lines=["Applications with its Client ID can get tokens again."],
            action=edit_url,
            button="Enable and save",
            cancel=edit_url,
            danger=False,
            carried=confirm.carried(form),
        )
    return confirm.Confirmation(
        title=f"Disable “{name}”?",
        lines=[
            "Every access and refresh token of this client stops working at once, "
            "and applications cannot get new ones until it is enabled again.",
        ],
        action=edit_url,
        button="Disable and save",
        cancel=edit_url,
        carried=confirm.carried(form),
    )
