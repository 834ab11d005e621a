"""One-time codes go through the same guessing defence as passwords.

A six-digit code has only a million values, so the attempts to guess one must
be limited as strictly as password guesses (RFC 6238 §5.2, NIST SP 800-63B
§5.2.2). Each check runs inside the sign-in throttle under the account's
login: a wrong code counts as a failure of that account from that address, and
a refused attempt is answered 429 exactly as for passwords (``security.signin``).

A right password clears its (account, address) count, and a code is asked
only after a right password: counted under the account alone, code guesses
would start from zero after every password and never reach the back-off. So
they are also counted under a key of their own (the login with a suffix) that
only a right code clears; the address is charged under both.

A device cookie verified for the account (``security.devices``) exempts the
code from the address-wide limits as it does the password.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from cloudcx.platform import Platform
from cloudcx.security import signin
from cloudcx.security.throttle import AccountLocked, TooManyAttempts
from cloudcx.tenancy.service import TenantInfo

__all__ = ["Test", "TooManyAttempts", "guarded"]

log = logging.getLogger("cloudcx.security")

_CODES = "\x00one-time-code"

# Does the code match? (It may also spend it: a recovery code, a time step.)
Test = Callable[[], Awaitable[bool]]


async def guarded(
    platform: Platform,
    tenant: TenantInfo,
    *,
    login: str,
    ip: str,
    test: Test,
    device: str | None = None,
) -> bool:
    """Run ``test`` (does the code match?) if the throttle allows it, and count it.

    Raises ``TooManyAttempts``; an account locked by failures from everywhere
    comes back as False, like a wrong code.
    """
    throttle = platform.throttle
    codes = login + _CODES

    check = signin.checker(throttle, tenant, (login, codes), ip, device)
    try:
        async with throttle.attempt(tenant, codes, ip, check, device):
            ok = await test()
            try:
                if ok:
                    await throttle.succeeded(tenant, codes, ip, device)
                else:
                    await throttle.failed(tenant, codes, ip, device)
                    await throttle.failed(tenant, login, ip, device)
            except Exception:
                log.exception("sign-in throttle unavailable")
    except AccountLocked:
        return False
    return ok
