"""Account > Two-factor sign-in: set it up, replace the recovery codes, turn it off.

Replacing the codes and turning two-factor off both ask for a current code or
the password, each checked through the guessing defence: a session left open
on someone's desk must not be enough to take the second factor away, or to
read a fresh set of codes that would sign in later.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts import recovery_codes, two_factor
from cloudcx.accounts.models import User
from cloudcx.audit.service import Action
from cloudcx.console import two_factor as second_step
from cloudcx.console.web import Console, ConsoleDep
from cloudcx.deps import PlatformDep, SessionDep
from cloudcx.platform import Platform
from cloudcx.security import second_factor, signin
from cloudcx.tenancy.security_settings import two_factor_required

router = APIRouter(prefix="/account/two-factor", include_in_schema=False)

PAGE = "/account/two-factor"
Csrf = Annotated[str, Form(max_length=200)]
Proof = Annotated[str, Form(max_length=2000)]
Code = Annotated[str, Form(max_length=100)]
NOTICES = {
    "disabled": "Two-factor sign-in is off. Your recovery codes no longer work.",
    "already_on": "Two-factor sign-in is already on. Turn it off first to use another phone.",
}
WRONG_PROOF = "The code or password is incorrect."
REQUIRED = (
    "Your company requires two-factor sign-in, so it cannot be turned off. "
    "To move to a new phone, ask an administrator to reset it."
)


async def _status(
    cx: Console, session: AsyncSession, status_code: int = 200, **context: object
) -> Response:
    user = cx.require_user()
    remaining = await recovery_codes.remaining(session, user) if user.has_two_factor else 0
    values: dict[str, object] = {"errors": {}, "notice": None, **context}
    return cx.render(
        "account/two_factor.html",
        status_code=status_code,
        enabled=user.has_two_factor,
        required=two_factor_required(cx.tenant, user.role),
        remaining=remaining,
        **values,
    )


@router.get("")
async def status_page(cx: ConsoleDep, session: SessionDep, notice: str | None = None) -> Response:
    return await _status(cx, session, notice=NOTICES.get(notice or ""))


@router.post("/setup")
async def begin_setup(
    cx: ConsoleDep, platform: PlatformDep, session: SessionDep, csrf_token: Csrf = ""
) -> Response:
    """A new pending secret each time, so a QR code seen over a shoulder is soon useless."""
    user = cx.require_user()
    cx.check_csrf(csrf_token)
    if user.has_two_factor:
        return cx.redirect(f"{PAGE}?notice=already_on")
    two_factor.begin(platform.settings.resolved_secret_key, user)
    await session.commit()
    return cx.redirect(f"{PAGE}/setup")


@router.get("/setup")
async def setup_page(cx: ConsoleDep, platform: PlatformDep) -> Response:
    user = cx.require_user()
    if user.has_two_factor or user.totp_pending_secret is None:
        return cx.redirect(PAGE)
    return second_step.setup_form(cx, platform, user, f"{PAGE}/confirm")


@router.post("/confirm")
async def confirm_setup(
    cx: ConsoleDep,
    platform: PlatformDep,
    session: SessionDep,
    csrf_token: Csrf = "",
    code: Code = "",
) -> Response:
    user = cx.require_user()
    cx.check_csrf(csrf_token)
    if user.has_two_factor or user.totp_pending_secret is None:
        return cx.redirect(PAGE)
    result = await second_step.confirm(cx, platform, session, user, code)
    if isinstance(result, tuple):
        error, status = result
        return second_step.setup_form(
            cx, platform, user, f"{PAGE}/confirm", error=error, status=status
        )
    await session.commit()
    return cx.render("two_factor_recovery_codes.html", codes=result, done=PAGE)


async def _proven(
    cx: Console, platform: Platform, session: AsyncSession, user: User, proof: str
) -> bool:
    """A current code of the app, or the account's password (both throttled)."""
    ip = cx.request.state.client_ip
    if two_factor.looks_like_code(proof):

        async def test() -> bool:
            secret_key = platform.settings.resolved_secret_key
            return await two_factor.check_code(session, secret_key, user, proof)

        return await second_factor.guarded(platform, cx.tenant, login=user.email, ip=ip, test=test)
    attempt = await signin.authenticate(
        platform, session, cx.tenant, login=user.email, password=proof, ip=ip
    )
    return attempt.user is not None and attempt.user.id == user.id


async def _check_proof(
    cx: Console, platform: Platform, session: AsyncSession, proof: str
) -> Response | None:
    """None when the proof is right; otherwise the page that says what is wrong."""
    user = cx.require_user()
    if not user.has_two_factor:
        return cx.redirect(PAGE)
    try:
        ok = await _proven(cx, platform, session, user, proof)
    except (second_factor.TooManyAttempts, signin.TooManyAttempts) as exc:
        page = await _status(cx, session, 429, errors={"proof": second_step.THROTTLED})
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    if not ok:
        return await _status(cx, session, 400, errors={"proof": WRONG_PROOF})
    return None


@router.post("/recovery-codes")
async def replace_recovery_codes(
    cx: ConsoleDep,
    platform: PlatformDep,
    session: SessionDep,
    csrf_token: Csrf = "",
    proof: Proof = "",
) -> Response:
    user = cx.require_user()
    cx.check_csrf(csrf_token)
    refused = await _check_proof(cx, platform, session, proof)
    if refused is not None:
        return refused
    codes = await recovery_codes.replace(session, platform.settings.resolved_secret_key, user)
    await second_step.audit(session, cx, user, Action.TWO_FACTOR_RECOVERY_CODES)
    await session.commit()
    return cx.render("two_factor_recovery_codes.html", codes=codes, done=PAGE)


@router.post("/disable")
async def disable(
    cx: ConsoleDep,
    platform: PlatformDep,
    session: SessionDep,
    csrf_token: Csrf = "",
    proof: Proof = "",
) -> Response:
    user = cx.require_user()
    cx.check_csrf(csrf_token)
    if user.has_two_factor and two_factor_required(cx.tenant, user.role):
        return await _status(cx, session, 409, errors={"proof": REQUIRED})
    refused = await _check_proof(cx, platform, session, proof)
    if refused is not None:
        return refused
    await two_factor.disable(session, user)
    await second_step.audit(session, cx, user, Action.TWO_FACTOR_DISABLED)
    await session.commit()
    return cx.redirect(f"{PAGE}?notice=disabled")
