"""Sign-in and sign-out of the Control Panel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts import sessions
from cloudcx.accounts.models import User
from cloudcx.audit import events as audit_events
from cloudcx.console import two_factor_pending
from cloudcx.console.web import (
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    Console,
    ConsoleDep,
    delete_cookie,
    safe_next,
    set_cookie,
)
from cloudcx.deps import PlatformDep, SessionDep
from cloudcx.platform import Platform
from cloudcx.security import devices, signin

router = APIRouter(include_in_schema=False)

# Same words whether the email is unknown or the password wrong.
BAD_LOGIN = "The email or password is incorrect."
THROTTLED = "Too many failed sign-in attempts. Wait a moment, then try again."


@router.get("/login")
async def login_page(
    cx: ConsoleDep,
    next: str | None = None,
    login_hint: Annotated[str, Query(max_length=320)] = "",
    reauth: str = "",
) -> Response:
    """``reauth=1`` asks a signed-in user to sign in again (OpenID Connect
    ``prompt=login``, ``max_age``); ``login_hint`` pre-fills the email."""
    if cx.user is not None and reauth != "1":
        return cx.redirect(safe_next(next))
    email = login_hint or (cx.user.email if cx.user is not None else "")
    # The form is the page's whole content even for a signed-in user (``user=None``).
    return cx.render("login.html", next=safe_next(next, ""), email=email, error=None, user=None)


@router.post("/login")
async def login(
    cx: ConsoleDep,
    platform: PlatformDep,
    session: SessionDep,
    email: Annotated[str, Form(max_length=1000)] = "",
    password: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    cx.check_csrf(csrf_token)
    ip = cx.request.state.client_ip
    device = devices.presented(cx.request, platform.settings, cx.tenant.id, email)
    try:
        attempt = await signin.authenticate(
            platform, session, cx.tenant, login=email, password=password, ip=ip, device=device
        )
    except signin.TooManyAttempts as exc:
        audit_events.signin_failed(platform, cx.request, email, "throttled")
        page = cx.render(
            "login.html",
            status_code=429,
            next=safe_next(next, ""),
            email=email,
            error=THROTTLED,
            user=None,
        )
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    user = attempt.user
    if user is None:
        audit_events.signin_failed(platform, cx.request, email, attempt.reason)
        return cx.render(
            "login.html",
            status_code=400,
            next=safe_next(next, ""),
            email=email,
            error=BAD_LOGIN,
            user=None,
        )
    second_step = await two_factor_pending.after_password(cx, platform, session, user, next)
    if second_step is not None:
        return second_step
    response = cx.redirect(safe_next(next))
    await complete_sign_in(cx, platform, session, user, response)
    return response


async def complete_sign_in(
    cx: Console, platform: Platform, session: AsyncSession, user: User, response: Response
) -> None:
    """Start the session once every factor is checked; ``response`` carries its cookie."""
    # A new session id at every sign-in defeats session fixation; signing in again
    # as the same user (OpenID Connect prompt=login) keeps the browser session's sid.
    sid = None
    if cx.session_cookie:
        if cx.web_session is not None and cx.web_session.user_id == user.id:
            sid = cx.web_session.sid
        await sessions.end(session, cx.session_cookie)
    value = await sessions.start(
        session,
        user,
        platform.settings.session_ttl,
        cx.request.state.client_ip,
        cx.request.headers.get("user-agent", ""),
        sid=sid,
    )
    await audit_events.signin_succeeded(session, cx.request, user)
    await session.commit()
    set_cookie(cx.request, response, SESSION_COOKIE, value, platform.settings.session_ttl)
    delete_cookie(cx.request, response, PRE_SESSION_COOKIE)
    # Every factor passed: this browser may keep signing in during an address lockout.
    devices.remember(cx.request, response, platform.settings, cx.tenant.id, user.email)


@router.post("/logout")
async def logout(
    cx: ConsoleDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    cx.check_csrf(csrf_token)
    if cx.session_cookie:
        await sessions.end(session, cx.session_cookie)
        if cx.user is not None:
            await audit_events.signed_out(session, cx.request, cx.user)
        await session.commit()
    response = cx.redirect("/login?notice=signed_out")
    delete_cookie(cx.request, response, SESSION_COOKIE)
    return response
