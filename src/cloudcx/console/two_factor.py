"""Sign-in, second step: the one-time code, or setting up an authenticator first.

Reached only with the half-signed-in cookie of ``two_factor_pending``; without
it (or once it has expired) the visitor is sent back to the password.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts import two_factor
from cloudcx.accounts.models import User
from cloudcx.audit.service import Action, Actor, Origin, Target, record
from cloudcx.console import two_factor_pending as pending
from cloudcx.console.auth import complete_sign_in
from cloudcx.console.web import Console, ConsoleDep, safe_next
from cloudcx.deps import PlatformDep, SessionDep
from cloudcx.platform import Platform
from cloudcx.security import devices, second_factor

router = APIRouter(prefix="/login/two-factor", include_in_schema=False)

Csrf = Annotated[str, Form(max_length=200)]
Code = Annotated[str, Form(max_length=100)]
Next = Annotated[str, Form(max_length=2000)]

EXPIRED = "/login?notice=two_factor_expired"
WRONG_CODE = "The code is incorrect, expired or already used. Try the current code."
THROTTLED = "Too many wrong codes. Wait a moment, then try again."


def _code_page(cx: Console, next_url: str, error: str | None = None, status: int = 200) -> Response:
    return cx.render(
        "two_factor_signin.html",
        status_code=status,
        next=safe_next(next_url, ""),
        error=error,
        # Shown whole to a user signing in again (OpenID Connect prompt=login) too.
        user=None,
    )


@router.get("")
async def code_page(
    cx: ConsoleDep, platform: PlatformDep, session: SessionDep, next: str = ""
) -> Response:
    if await pending.pending_user(cx, platform, session, pending.VERIFY) is None:
        return cx.redirect(EXPIRED)
    return _code_page(cx, next)


@router.post("")
async def check_code(
    cx: ConsoleDep,
    platform: PlatformDep,
    session: SessionDep,
    csrf_token: Csrf = "",
    code: Code = "",
    next: Next = "",
) -> Response:
    """A current code of the authenticator, or one of the recovery codes (spent)."""
    cx.check_csrf(csrf_token)
    user = await pending.pending_user(cx, platform, session, pending.VERIFY)
    if user is None:
        return cx.redirect(EXPIRED)
    secret_key = platform.settings.resolved_secret_key
    recovery = False

    async def test() -> bool:
        nonlocal recovery
        ok, recovery = await two_factor.check_code_or_recovery(session, secret_key, user, code)
        return ok

    try:
        ok = await _guarded(cx, platform, user, test)
    except second_factor.TooManyAttempts as exc:
        page = _code_page(cx, next, THROTTLED, 429)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    if not ok:
        return _code_page(cx, next, WRONG_CODE, 400)
    if recovery:
        await audit(session, cx, user, Action.TWO_FACTOR_RECOVERY_CODE_USED)
    return await _signed_in(cx, platform, session, user, cx.redirect(safe_next(next)))


@router.get("/setup")
async def setup_page(
    cx: ConsoleDep, platform: PlatformDep, session: SessionDep, next: str = ""
) -> Response:
    """Shown to a user the tenant requires to use two-factor and who has not set it up."""
    user = await pending.pending_user(cx, platform, session, pending.ENROL)
    if user is None:
        return cx.redirect(EXPIRED)
    secret_key = platform.settings.resolved_secret_key
    if two_factor.pending_secret(secret_key, user) is None:
        two_factor.begin(secret_key, user)
        await session.commit()
    return setup_form(cx, platform, user, "/login/two-factor/setup", next_url=next)


def setup_form(
    cx: Console,
    platform: Platform,
    user: User,
    action: str,
    *,
    next_url: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The QR code, the secret in text, and the field for the first code."""
    secret = two_factor.pending_secret(platform.settings.resolved_secret_key, user) or ""
    uri = two_factor.provisioning_uri(secret, user, f"CloudCX {cx.tenant.name}")
    return cx.render(
        "two_factor_setup.html",
        status_code=status,
        qr=two_factor.qr_data_uri(uri),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        action=action,
        next=safe_next(next_url, ""),
        required=cx.user is None,
        error=error,
    )


@router.post("/setup")
async def confirm_setup(
    cx: ConsoleDep,
    platform: PlatformDep,
    session: SessionDep,
    csrf_token: Csrf = "",
    code: Code = "",
    next: Next = "",
) -> Response:
    cx.check_csrf(csrf_token)
    user = await pending.pending_user(cx, platform, session, pending.ENROL)
    if user is None or user.totp_pending_secret is None:
        return cx.redirect(EXPIRED)
    result = await confirm(cx, platform, session, user, code)
    if isinstance(result, tuple):
        error, status = result
        return setup_form(
            cx, platform, user, "/login/two-factor/setup", next_url=next, error=error, status=status
        )
    page = cx.render("two_factor_recovery_codes.html", codes=result, done=safe_next(next))
    return await _signed_in(cx, platform, session, user, page)


async def confirm(
    cx: Console, platform: Platform, session: AsyncSession, user: User, code: str
) -> list[str] | tuple[str, int]:
    """The new recovery codes, or what to tell the person and the status to answer."""
    codes: list[str] | None = None

    async def test() -> bool:
        nonlocal codes
        codes = await two_factor.confirm(session, platform.settings.resolved_secret_key, user, code)
        return codes is not None

    try:
        await _guarded(cx, platform, user, test)
    except second_factor.TooManyAttempts:
        return THROTTLED, 429
    if codes is None:
        return WRONG_CODE, 400
    await audit(session, cx, user, Action.TWO_FACTOR_ENABLED)
    return codes


async def _guarded(cx: Console, platform: Platform, user: User, test: second_factor.Test) -> bool:
    device = devices.presented(cx.request, platform.settings, cx.tenant.id, user.email)
    return await second_factor.guarded(
        platform,
        cx.tenant,
        login=user.email,
        ip=cx.request.state.client_ip,
        test=test,
        device=device,
    )


async def _signed_in(
    cx: Console, platform: Platform, session: AsyncSession, user: User, response: Response
) -> Response:
    await complete_sign_in(cx, platform, session, user, response)
    pending.forget(cx, response)
    return response


async def audit(session: AsyncSession, cx: Console, user: User, action: Action) -> None:
    await record(
        session,
        tenant_id=user.tenant_id,
        action=action,
        actor=Actor.of_user(user),
        target=Target.of_user(user),
        origin=Origin.of(cx.request),
    )
