"""Sign-in, last step for a user whose password an administrator set: choose one.

An administrator's reset (``accounts.admin.reset_password``) leaves the user a
one-time password and ``must_change_password``. Signing in with it starts a
session, but every other page (``Console.require_user``) sends the user here
until they have chosen their own; the password grant refuses them meanwhile.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from cloudcx.accounts import admin, security
from cloudcx.accounts.models import User
from cloudcx.audit.service import Action, Origin
from cloudcx.console.web import NEW_PASSWORD_PATH, Console, ConsoleDep, login_url, safe_next
from cloudcx.deps import PlatformDep, SessionDep
from cloudcx.oauth import revocation
from cloudcx.platform import Platform
from cloudcx.security import password_policy

router = APIRouter(prefix=NEW_PASSWORD_PATH, include_in_schema=False)

Secret = Annotated[str, Form(max_length=2000)]
Csrf = Annotated[str, Form(max_length=200)]
Next = Annotated[str, Form(max_length=2000)]
SAME_AS_BEFORE = "Choose a password of your own, not the one you were given."
DIFFERENT = "The two new passwords differ."


def _page(
    cx: Console, user: User, next_url: str, status: int = 200, errors: dict[str, str] | None = None
) -> Response:
    # ``signed_in`` draws the page without the navigation, which would only lead back here.
    return cx.render(
        "new_password.html",
        status_code=status,
        user=None,
        signed_in=user,
        next=safe_next(next_url, ""),
        errors=errors or {},
    )


@router.get("")
async def new_password_page(cx: ConsoleDep, next: str = "") -> Response:
    if cx.user is None:
        return cx.redirect(login_url(cx.request))
    if not cx.user.must_change_password:
        return cx.redirect(safe_next(next))
    return _page(cx, cx.user, next)


@router.post("")
async def choose_password(
    cx: ConsoleDep,
    platform: PlatformDep,
    session: SessionDep,
    csrf_token: Csrf = "",
    new_password: Secret = "",
    confirm_password: Secret = "",
    next: Next = "",
) -> Response:
    """The one-time password is spent; other sessions and tokens end as on any
    password change, this browser's session stays."""
    user = cx.user
    if user is None:
        return cx.redirect("/login")
    cx.check_csrf(csrf_token)
    if not user.must_change_password:
        return cx.redirect(safe_next(next))
    errors = await _errors(platform, user, new_password, confirm_password)
    if errors:
        return _page(cx, user, next, 422, errors)
    await security.change_password(
        session, platform.passwords, user, new_password, keep_session=cx.session_cookie
    )
    await admin.audit(
        session, user, user, Action.PASSWORD_CHANGED, Origin.of(cx.request), reason="reset"
    )
    await session.commit()
    await revocation.past_the_cut()  # tokens the user's apps obtain from now on stay valid
    return cx.redirect(safe_next(next))


async def _errors(platform: Platform, user: User, new: str, confirm: str) -> dict[str, str]:
    problem = password_policy.problem(new, user.email)
    if problem:
        return {"new_password": problem}
    if new != confirm:
        return {"confirm_password": DIFFERENT}
    if await platform.passwords.verify_async(user.password_hash, new):
        return {"new_password": SAME_AS_BEFORE}
    return {}
