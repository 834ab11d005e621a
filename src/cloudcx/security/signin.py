"""One guarded way to check a password, used by every place that takes one.

The password grant (RFC 6749 §4.3, whose §10.7 asks the authorization server
to protect the endpoint against brute force), Control Panel sign-in and the
password-change form all come through here, so they share one set of counters.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import User
from cloudcx.ops import metrics
from cloudcx.platform import Platform
from cloudcx.security.throttle import AccountLocked, Throttle, TooManyAttempts
from cloudcx.tenancy.service import TenantInfo

__all__ = ["Attempt", "TooManyAttempts", "authenticate"]

log = logging.getLogger("cloudcx.security")

UNAVAILABLE_RETRY_AFTER = 5
# Reason codes for the audit log; the person signing in only ever sees one text.
BAD_CREDENTIALS = "bad_credentials"
ACCOUNT_LOCKED = "account_locked"


@dataclass(frozen=True, slots=True)
class Attempt:
    user: User | None
    reason: str = ""


def checker(
    throttle: Throttle,
    tenant: TenantInfo,
    logins: tuple[str, ...],
    ip: str,
    device: str | None,
) -> Callable[[], Awaitable[int]]:
    """The check ``Throttle.attempt`` runs before an attempt: every key of
    ``logins`` in turn, the last one's verdict. Counters unreachable (Redis
    down) refuse the attempt rather than let guesses through unchecked."""

    async def check() -> int:
        try:
            verdict = 0
            for login in logins:
                verdict = await throttle.check(tenant, login, ip, device)
            return verdict
        except (AccountLocked, TooManyAttempts):
            raise
        except Exception:
            log.exception("sign-in throttle unavailable")
            raise TooManyAttempts(UNAVAILABLE_RETRY_AFTER, "unavailable") from None

    return check


async def authenticate(
    platform: Platform,
    session: AsyncSession,
    tenant: TenantInfo,
    *,
    login: str,
    password: str,
    ip: str,
    rehash: bool = True,
    device: str | None = None,
) -> Attempt:
    """The user if the password is right and the attempt allowed.

    Raises ``TooManyAttempts`` (answer 429 + ``Retry-After``) when this address
    must wait; an account locked by failures from everywhere comes back as a
    plain failure, indistinguishable from a wrong password. A success brings
    the stored hash to the configured cost unless ``rehash`` is False (see
    ``accounts.service.authenticate``); the caller's commit saves it.

    ``device`` is the id of a device cookie verified for this login
    (``security.devices``): the address-wide limits then do not apply.
    """
    throttle = platform.throttle
    check = checker(throttle, tenant, (login,), ip, device)
    try:
        async with throttle.attempt(tenant, login, ip, check, device):
            user = await accounts.authenticate(
                session,
                platform.passwords,
                tenant_id=tenant.id,
                email=login,
                password=password,
                rehash=rehash,
            )
            await _count(throttle, tenant, login, ip, device, ok=user is not None)
    except TooManyAttempts as exc:
        metrics.throttled("signin", exc.scope)
        raise
    except AccountLocked:
        metrics.throttled("signin", "account")
        return Attempt(None, ACCOUNT_LOCKED)
    return Attempt(user) if user else Attempt(None, BAD_CREDENTIALS)


async def _count(
    throttle: Throttle, tenant: TenantInfo, login: str, ip: str, device: str | None, *, ok: bool
) -> None:
    """A lost count is better than failing a request whose password was already checked."""
    try:
        if ok:
            await throttle.succeeded(tenant, login, ip, device)
        else:
            await throttle.failed(tenant, login, ip, device)
    except Exception:
        log.exception("sign-in throttle unavailable")
