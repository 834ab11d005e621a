"""The half-signed-in state between a right password and a right one-time code.

It is a short-lived cookie, not a session: it names the user, what is left to
do (``verify`` a code or ``enrol`` an authenticator), and when it expires, and
it is signed with a key of its own over the browser's pre-session cookie and
the user's password hash. So it works only in the browser that typed the
password, for a few minutes, and not once the password has changed. Every page
but the second step still sees an anonymous visitor: it grants nothing else.
"""

from __future__ import annotations

import hmac
import time
import uuid
from urllib.parse import quote

from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import User
from cloudcx.console.web import Console, delete_cookie, safe_next, set_cookie
from cloudcx.core import secrets
from cloudcx.core.encryption import derive_key
from cloudcx.platform import Platform
from cloudcx.tenancy.security_settings import two_factor_required

PENDING_COOKIE = "cx_2fa"
PENDING_TTL = 300
VERIFY = "verify"
ENROL = "enrol"
STEP_URL = {VERIFY: "/login/two-factor", ENROL: "/login/two-factor/setup"}


def _mac(cx: Console, platform: Platform, purpose: str, user: User, expires: int) -> str:
    key = derive_key(platform.settings.resolved_secret_key, "two-factor-pending")
    return secrets.sign(
        key,
        str(cx.tenant.id),
        purpose,
        str(user.id),
        str(expires),
        cx.pre_session,
        user.password_hash,
    )


async def after_password(
    cx: Console, platform: Platform, session: AsyncSession, user: User, next_url: str
) -> Response | None:
    """The way to the second step for a user who has (or must set up) two-factor;
    None when the password is all this user needs."""
    if user.has_two_factor:
        purpose = VERIFY
    elif two_factor_required(cx.tenant, user.role):
        purpose = ENROL
    else:
        return None
    await session.commit()  # a password rehash made by the check is kept
    expires = int(time.time()) + PENDING_TTL
    value = f"{purpose}.{user.id}.{expires}.{_mac(cx, platform, purpose, user, expires)}"
    response = cx.redirect(step_url(purpose, next_url))
    set_cookie(cx.request, response, PENDING_COOKIE, value, PENDING_TTL)
    return response


def step_url(purpose: str, next_url: str) -> str:
    target = safe_next(next_url, "")
    return STEP_URL[purpose] + (f"?next={quote(target, safe='')}" if target else "")


async def pending_user(
    cx: Console, platform: Platform, session: AsyncSession, purpose: str
) -> User | None:
    """The user whose password this browser has just typed, for ``purpose``; else None."""
    parts = cx.request.cookies.get(PENDING_COOKIE, "").split(".")
    if len(parts) != 4 or parts[0] != purpose or not parts[2].isdigit():
        return None
    _, user_id, expires_text, mac = parts
    expires = int(expires_text)
    if expires < time.time() or expires > time.time() + PENDING_TTL:
        return None
    try:
        user = await accounts.get_user(session, cx.tenant.id, uuid.UUID(user_id))
    except ValueError:
        return None
    if user is None or not user.is_active:
        return None
    if not hmac.compare_digest(mac.encode(), _mac(cx, platform, purpose, user, expires).encode()):
        return None
    if user.has_two_factor != (purpose == VERIFY):
        return None
    return user


def forget(cx: Console, response: Response) -> None:
    delete_cookie(cx.request, response, PENDING_COOKIE)
