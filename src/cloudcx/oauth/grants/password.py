"""Resource Owner Password Credentials grant — the guide's flow.

https://datatracker.ietf.org/doc/html/rfc6749#section-4.3
"""

from __future__ import annotations

from typing import Any, ClassVar

from cloudcx.accounts.models import User
from cloudcx.oauth import consents
from cloudcx.oauth.errors import InvalidGrantError, InvalidRequestError, SlowDownError
from cloudcx.oauth.grants.base import (
    TokenContext,
    requested_scopes,
    require_grant_allowed,
    user_rights,
)
from cloudcx.oauth.grants.issuing import Stored, store_refresh_token, user_token_response
from cloudcx.oauth.grants.second_factor import check_second_factor
from cloudcx.security import signin

# One text for unknown email, wrong password and inactive user: the response
# must not reveal which accounts exist.
BAD_CREDENTIALS = "The email/username or password is incorrect."
# Said only after the password (and any second factor) was right, so it reveals
# nothing to someone guessing.
CHANGE_PASSWORD_FIRST = (
    "The password of this account was set by an administrator and must be changed "
    "first: sign in to the Control Panel to choose a new one."
)


class PasswordGrant:
    """``grant_type=password`` with ``username`` (RFC 6749 §4.3.2) or ``email``.

    The guide's first edition sends ``email``; RFC 6749 and the guide's newer
    edition send ``username``. Either is accepted; both at once must agree.
    """

    writes: ClassVar[bool] = True
    grant_type: ClassVar[str] = "password"

    def __init__(self, ctx: TokenContext) -> None:
        self.ctx = ctx
        self.stored: Stored | None = None
        self.user: User | None = None
        self.scope = ""

    def _login(self) -> tuple[str, str]:
        form = self.ctx.form
        email, username = form.get("email"), form.get("username")
        if email and username and email != username:
            raise InvalidRequestError("Send either 'username' or 'email', not both.")
        login = username or email
        if not login:
            raise InvalidRequestError("The 'username' (or 'email') parameter is required.")
        return login, form.require("password")

    async def validate(self) -> None:
        ctx = self.ctx
        require_grant_allowed(ctx.client, self.grant_type)
        login, password = self._login()
        asked = requested_scopes(ctx)
        try:
            attempt = await signin.authenticate(
                ctx.platform,
                ctx.session,
                ctx.tenant,
                login=login,
                password=password,
                ip=ctx.client_ip,
            )
        except signin.TooManyAttempts as exc:
            raise SlowDownError(exc.retry_after) from None
        if attempt.user is None:
            raise InvalidGrantError(BAD_CREDENTIALS, debug=attempt.reason)
        await check_second_factor(ctx, attempt.user)
        if attempt.user.must_change_password:
            # A one-time password opens nothing but the page that replaces it.
            raise InvalidGrantError(CHANGE_PASSWORD_FIRST, debug="password_change_required")
        self.user = attempt.user
        self.scope = user_rights(asked, attempt.user)

    async def store(self) -> None:
        """Handing an app one's password grants it access: it joins Connected apps,
        and gets a refresh token when the client is allowed one (RFC 6749 §4.3.3)."""
        assert self.user is not None
        ctx = self.ctx
        await consents.record(
            ctx.session,
            ctx.tenant.id,
            self.user.id,
            ctx.client,
            self.scope.split(),
            ctx.platform.recent_uses,
        )
        self.stored = await store_refresh_token(ctx, self.user, self.scope)

    def issue(self) -> dict[str, Any]:
        assert self.user is not None and self.stored is not None
        return user_token_response(self.ctx, self.user, self.scope, self.stored)
