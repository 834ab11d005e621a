"""The password grant for accounts with two-factor sign-in: the code as ``totp``.

RFC 6749 §4.3 has no place for a second factor; like Keycloak's direct grant,
the current code travels as one more form parameter, ``totp``. Without it, or
with a wrong one, the grant is refused with ``invalid_grant`` (§5.2: "the
provided authorization grant (e.g., ... resource owner credentials) is
invalid"); wrong codes count in the sign-in throttle like wrong passwords.
Recovery codes are for people at the sign-in page, not for apps.
https://datatracker.ietf.org/doc/html/rfc6749#section-5.2
"""

from __future__ import annotations

from cloudcx.accounts import two_factor
from cloudcx.accounts.models import User
from cloudcx.oauth.errors import InvalidGrantError, SlowDownError
from cloudcx.oauth.grants.base import TokenContext
from cloudcx.security import second_factor
from cloudcx.tenancy.security_settings import two_factor_required

CODE_REQUIRED = "A one-time code is required for this account: send it as 'totp'."
WRONG_CODE = "The one-time code ('totp') is incorrect, expired or already used."
SET_UP_FIRST = "This account must set up two-factor sign-in first: sign in to the Control Panel."


async def check_second_factor(ctx: TokenContext, user: User) -> None:
    """Raise unless ``user`` needs no code, or ``totp`` is a current, unused one.

    Reads only the user row the password check loaded and the cached tenant.
    """
    if not user.has_two_factor:
        if two_factor_required(ctx.tenant, user.role):
            raise InvalidGrantError(SET_UP_FIRST, debug="two_factor_not_set_up")
        return
    code = ctx.form.get("totp")
    if not code:
        raise InvalidGrantError(CODE_REQUIRED, debug="totp_missing")
    secret_key = ctx.platform.settings.resolved_secret_key

    async def test() -> bool:
        return await two_factor.check_code(ctx.session, secret_key, user, code)

    try:
        ok = await second_factor.guarded(
            ctx.platform, ctx.tenant, login=user.email, ip=ctx.client_ip, test=test
        )
    except second_factor.TooManyAttempts as exc:
        raise SlowDownError(exc.retry_after) from None
    if not ok:
        raise InvalidGrantError(WRONG_CODE, debug="totp_wrong")
