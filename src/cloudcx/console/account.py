"""Account > Security: change password, sign out everywhere (every signed-in user)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from cloudcx.accounts import admin, security
from cloudcx.accounts.models import User
from cloudcx.audit.service import Action, Origin
from cloudcx.console.web import SESSION_COOKIE, Console, ConsoleDep, delete_cookie
from cloudcx.deps import PlatformDep, SessionDep
from cloudcx.security import password_policy, signin

router = APIRouter(prefix="/account", include_in_schema=False)

PAGE = "/account/security"
NOTICES = {"password_changed": "Your password has been changed. Other sessions were signed out."}
Secret = Annotated[str, Form(max_length=2000)]
CsrfField = Annotated[str, Form(max_length=200)]


def _page(cx: Console, status_code: int = 200, **context: object) -> Response:
    values = {"errors": {}, "notice": None, **context}
    return cx.render("account/security.html", status_code=status_code, **values)


@router.get("/security")
async def security_page(cx: ConsoleDep, notice: str | None = None) -> Response:
    cx.require_user()
    return _page(cx, notice=NOTICES.get(notice or ""))


@router.post("/password")
async def change_password(
    cx: ConsoleDep,
    platform: PlatformDep,
    session: SessionDep,
    csrf_token: CsrfField = "",
    current_password: Secret = "",
    new_password: Secret = "",
    confirm_password: Secret = "",
) -> Response:
    """The current password is checked through the sign-in defence, so a
    borrowed session cannot be used to guess it. Its hash is not brought to
    the configured cost: the new password's hash replaces it."""
    user = cx.require_user()
    cx.check_csrf(csrf_token)
    ip = cx.request.state.client_ip
    try:
        attempt = await signin.authenticate(
            platform,
            session,
            cx.tenant,
            login=user.email,
            password=current_password,
            ip=ip,
            rehash=False,
        )
    except signin.TooManyAttempts as exc:
        page = _page(cx, 429, errors={"current_password": "Too many attempts. Wait a moment."})
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    errors = _new_password_errors(attempt.user, user, new_password, confirm_password)
    if errors:
        return _page(cx, 422 if attempt.user else 400, errors=errors)
    await security.change_password(
        session,
        platform.passwords,
        user,
        new_password,
        keep_session=cx.session_cookie,
    )
    await admin.audit(session, user, user, Action.PASSWORD_CHANGED, Origin.of(cx.request))
    await session.commit()
    return cx.redirect(f"{PAGE}?notice=password_changed")


def _new_password_errors(
    checked: User | None, user: User, new: str, confirm: str
) -> dict[str, str]:
    if checked is None or checked.id != user.id:
        return {"current_password": "The current password is incorrect."}
    problem = password_policy.problem(new, user.email)
    if problem:
        return {"new_password": problem}
    if new != confirm:
        return {"confirm_password": "The two new passwords differ."}
    return {}


@router.post("/sign-out-everywhere")
async def sign_out_everywhere(
    cx: ConsoleDep, session: SessionDep, csrf_token: CsrfField = ""
) -> Response:
    """Ends every Control Panel session and revokes every access token of this user."""
    user = cx.require_user()
    cx.check_csrf(csrf_token)
    await security.end_access(session, user)
    await admin.audit(session, user, user, Action.SIGNOUT_EVERYWHERE, Origin.of(cx.request))
    await session.commit()
    response = cx.redirect("/login?notice=signed_out")
    delete_cookie(cx.request, response, SESSION_COOKIE)
    return response
