"""Sign-in, sign-out and the Control Panel home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from cloudcx.accounts import service as accounts
from cloudcx.accounts import sessions
from cloudcx.console.web import (
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    ConsoleDep,
    safe_next,
    set_cookie,
)
from cloudcx.deps import PlatformDep, SessionDep

router = APIRouter(include_in_schema=False)

# Same words whether the email is unknown or the password wrong.
BAD_LOGIN = "The email or password is incorrect."


@router.get("/login")
async def login_page(cx: ConsoleDep, next: str | None = None) -> Response:
    if cx.user is not None:
        return cx.redirect(safe_next(next))
    return cx.render("login.html", next=safe_next(next, ""), email="", error=None)


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
    user = await accounts.authenticate(
        session, platform.passwords, tenant_id=cx.tenant.id, email=email, password=password
    )
    if user is None:
        return cx.render(
            "login.html", status_code=400, next=safe_next(next, ""), email=email, error=BAD_LOGIN
        )
    # A new session id at every sign-in defeats session fixation.
    if cx.session_cookie:
        await sessions.end(session, cx.session_cookie)
    value = await sessions.start(
        session,
        user,
        platform.settings.session_ttl,
        cx.request.state.client_ip,
        cx.request.headers.get("user-agent", ""),
    )
    await session.commit()
    response = cx.redirect(safe_next(next))
    set_cookie(cx.request, response, SESSION_COOKIE, value, platform.settings.session_ttl)
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(
    cx: ConsoleDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    cx.check_csrf(csrf_token)
    if cx.session_cookie:
        await sessions.end(session, cx.session_cookie)
        await session.commit()
    response = cx.redirect("/login?notice=signed_out")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
async def home(cx: ConsoleDep) -> Response:
    cx.require_user()
    return cx.render("home.html")
