"""Account > Connected apps: the applications a user granted access, and Revoke access.

The guide's "all apps that have been granted access". Revoking ends the app's
refresh tokens now and its access tokens on every process within about a
second (a ``consent`` revocation, see ``oauth.revocation``).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cloudcx.audit.service import Action, Actor, Origin, Target, record
from cloudcx.console import confirm
from cloudcx.console.oauth_clients import ClientNotFound
from cloudcx.console.web import ConsoleDep
from cloudcx.deps import SessionDep
from cloudcx.oauth import consents, revocation
from cloudcx.oauth import scopes as scope_catalog

router = APIRouter(prefix="/account/connected-apps", include_in_schema=False)

NOTICES = {"revoked": "Access revoked. The app can no longer reach your account."}


@router.get("")
async def connected_apps(
    cx: ConsoleDep, session: SessionDep, notice: str | None = None
) -> Response:
    user = cx.require_user()
    apps = await consents.connected_apps(session, cx.tenant.id, user.id)
    return cx.render(
        "account/connected_apps.html",
        apps=apps,
        catalog=scope_catalog.SCOPES,
        notice=NOTICES.get(notice or ""),
    )


@router.post("/{consent_id}/revoke")
async def revoke_access(
    request: Request, cx: ConsoleDep, session: SessionDep, consent_id: str
) -> Response:
    """Only the user's own grants in this tenant: anything else is not found.

    The button asks first (a confirmation page); the page's button revokes.
    """
    user = cx.require_user()
    form = await request.form()
    cx.check_csrf(form.get("csrf_token"))
    try:
        parsed = uuid.UUID(consent_id)
    except ValueError:
        raise ClientNotFound from None
    if not confirm.is_confirmed(form):
        apps = await consents.connected_apps(session, cx.tenant.id, user.id)
        app = next((a for a in apps if a.consent_id == parsed), None)
        if app is None:
            raise ClientNotFound
        return confirm.ask(
            cx,
            confirm.Confirmation(
                title=f"Revoke the access of “{app.client_name}”?",
                lines=[
                    "The app is signed out of your account at once; "
                    "it has to ask you again to get access."
                ],
                action=f"/account/connected-apps/{app.consent_id}/revoke",
                button="Revoke access",
                cancel="/account/connected-apps",
            ),
        )
    client = await consents.revoke(session, cx.tenant.id, user.id, parsed)
    if client is None:
        raise ClientNotFound
    await record(
        session,
        tenant_id=cx.tenant.id,
        action=Action.GRANT_REVOKED,
        actor=Actor.of_user(user),
        target=Target.of_client(client.client_id, client.client_name),
        origin=Origin.of(request),
        details={"by": "user"},
    )
    await session.commit()
    await revocation.past_the_cut()
    return cx.redirect("/account/connected-apps?notice=revoked")
