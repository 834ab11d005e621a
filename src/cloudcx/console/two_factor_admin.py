"""Administrators and two-factor: who must use it, and resetting a user's.

Global Settings > Security > Two-Factor holds the tenant's requirement; a user
page offers "Reset two-factor" for someone who lost their phone. Both are
audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from cloudcx.accounts import admin, two_factor
from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import User
from cloudcx.audit.service import Action, Actor, Origin, record
from cloudcx.console.records import RecordNotFound, parse_id
from cloudcx.console.web import ConsoleDep
from cloudcx.deps import SessionDep
from cloudcx.tenancy.security_settings import (
    TwoFactorRequirement,
    requirement_of,
    set_requirement,
)

router = APIRouter(include_in_schema=False)

SETTINGS = "/settings/security/two-factor"
Csrf = Annotated[str, Form(max_length=200)]
Choice = Annotated[str, Form(max_length=32)]
SAVED = "Saved. The requirement applies from each user's next sign-in."


@router.get(SETTINGS)
async def settings_page(cx: ConsoleDep, notice: str | None = None) -> Response:
    cx.require_admin()
    return cx.render(
        "security/two_factor.html",
        current=requirement_of(cx.tenant),
        choices=list(TwoFactorRequirement),
        notice=SAVED if notice == "saved" else None,
        error=None,
    )


@router.post(SETTINGS)
async def save_settings(
    cx: ConsoleDep, session: SessionDep, csrf_token: Csrf = "", required: Choice = ""
) -> Response:
    actor = cx.require_admin()
    cx.check_csrf(csrf_token)
    try:
        wanted = TwoFactorRequirement(required)
    except ValueError:
        return cx.render(
            "security/two_factor.html",
            status_code=422,
            current=requirement_of(cx.tenant),
            choices=list(TwoFactorRequirement),
            notice=None,
            error="Choose who must use two-factor sign-in.",
        )
    before = await set_requirement(session, cx.tenant.id, wanted)
    if before is not wanted:
        await record(
            session,
            tenant_id=cx.tenant.id,
            action=Action.TWO_FACTOR_POLICY_CHANGED,
            actor=Actor.of_user(actor),
            origin=Origin.of(cx.request),
            details={"old": before.value, "new": wanted.value},
        )
    await session.commit()
    return cx.redirect(f"{SETTINGS}?notice=saved")


async def _user(cx: ConsoleDep, session: SessionDep, id_: str) -> User:
    user = await accounts.get_user(session, cx.tenant.id, parse_id(id_))
    if user is None:
        raise RecordNotFound
    return user


@router.get("/users/{id_}/two-factor/reset")
async def reset_page(cx: ConsoleDep, session: SessionDep, id_: str) -> Response:
    cx.require_admin()
    user = await _user(cx, session, id_)
    return cx.render("users/reset_two_factor.html", target=user)


@router.post("/users/{id_}/two-factor/reset")
async def reset(cx: ConsoleDep, session: SessionDep, id_: str, csrf_token: Csrf = "") -> Response:
    """The user signs in with their password alone next time (or must set up a new
    authenticator if the tenant requires one). Their sessions stay: resetting
    answers a lost phone, not a stolen account (deactivate for that)."""
    actor = cx.require_admin()
    cx.check_csrf(csrf_token)
    user = await _user(cx, session, id_)
    if not user.has_two_factor and user.totp_pending_secret is None:
        return cx.redirect("/users?notice=two_factor_off")
    await two_factor.disable(session, user)
    await admin.audit(session, actor, user, Action.TWO_FACTOR_RESET, Origin.of(cx.request))
    await session.commit()
    return cx.redirect("/users?notice=two_factor_reset")
