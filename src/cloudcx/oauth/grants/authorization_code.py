"""Authorization Code grant, token request side, with PKCE.

https://datatracker.ietf.org/doc/html/rfc6749#section-4.1.3 and
https://datatracker.ietf.org/doc/html/rfc7636#section-4.5
"""

from __future__ import annotations

import hmac
import uuid
from typing import Any, ClassVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import User
from cloudcx.core import secrets
from cloudcx.db import utcnow
from cloudcx.oauth import consents, pkce, refresh_tokens
from cloudcx.oauth.errors import InvalidGrantError, InvalidRequestError
from cloudcx.oauth.grants.base import TokenContext, require_grant_allowed
from cloudcx.oauth.grants.issuing import Stored, store_refresh_token, user_token_response
from cloudcx.oauth.id_tokens import SignIn
from cloudcx.oauth.models import AuthorizationCode

INVALID_CODE = "The authorization code is invalid, expired or already used."


class AuthorizationCodeGrant:
    """``grant_type=authorization_code``: exchange a code for tokens, once.

    §4.1.2: "If an authorization code is used more than once, the authorization
    server MUST deny the request and SHOULD revoke (when possible) all tokens
    previously issued based on that authorization code."
    """

    writes: ClassVar[bool] = True
    grant_type: ClassVar[str] = "authorization_code"

    def __init__(self, ctx: TokenContext) -> None:
        self.ctx = ctx
        self.stored: Stored | None = None
        self.code: AuthorizationCode | None = None
        self.user: User | None = None
        self.family_id = uuid.uuid4()

    async def validate(self) -> None:
        ctx = self.ctx
        require_grant_allowed(ctx.client, self.grant_type)
        code = await _load(ctx.session, ctx.tenant.id, ctx.form.require("code"))
        if code is None or code.client_pk != ctx.client.id:
            raise InvalidGrantError(INVALID_CODE)
        if code.used_at is not None:
            await self._reused(code)
        if code.expires_at <= utcnow():
            raise InvalidGrantError(INVALID_CODE)
        self._check_redirect_uri(code)
        pkce.verify(code.code_challenge, ctx.form.get("code_verifier"))
        self._check_dpop_key(code)
        user = await accounts.get_user(ctx.session, ctx.tenant.id, code.user_id)
        if user is None or not user.is_active:
            raise InvalidGrantError(INVALID_CODE)
        if not await self._claim(code):
            await self._reused(code)
        self.code, self.user = code, user

    def _check_redirect_uri(self, code: AuthorizationCode) -> None:
        """§4.1.3: redirect_uri is required if the authorization request had it,
        and must be identical to the one the code was issued for."""
        sent = self.ctx.form.get("redirect_uri")
        if sent is None and code.redirect_uri_sent:
            raise InvalidRequestError("The 'redirect_uri' parameter is required.")
        if sent is not None and sent != code.redirect_uri:
            raise InvalidGrantError("redirect_uri does not match the authorization request.")

    def _check_dpop_key(self, code: AuthorizationCode) -> None:
        """RFC 9449 §10: with ``dpop_jkt`` in the authorization request, the token
        request's proof must be made with that key, or "it MUST reject the request"."""
        sent = self.ctx.dpop_jkt
        if code.dpop_jkt is not None and (
            sent is None or not hmac.compare_digest(sent, code.dpop_jkt)
        ):
            raise InvalidGrantError("The DPoP proof's key is not the one named by dpop_jkt.")

    async def _claim(self, code: AuthorizationCode) -> bool:
        """Mark the code used; only one of two concurrent exchanges can win."""
        result = await self.ctx.session.execute(
            update(AuthorizationCode)
            .where(
                AuthorizationCode.code_digest == code.code_digest,
                AuthorizationCode.used_at.is_(None),
            )
            .values(used_at=utcnow(), family_id=self.family_id)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def _reused(self, code: AuthorizationCode) -> None:
        session = self.ctx.session
        family = await session.scalar(
            select(AuthorizationCode.family_id).where(
                AuthorizationCode.code_digest == code.code_digest
            )
        )
        if family is not None:
            await refresh_tokens.revoke_family(
                session, self.ctx.tenant.id, family, "authorization code used twice"
            )
            await session.commit()
        raise InvalidGrantError(INVALID_CODE)

    async def store(self) -> None:
        assert self.code is not None and self.user is not None
        ctx = self.ctx
        await consents.touch(ctx.session, ctx.tenant.id, self.user.id, ctx.client)
        code = self.code
        sign_in = SignIn(code.auth_time, code.sid) if code.auth_time is not None else None
        self.stored = await store_refresh_token(ctx, self.user, code.scope, self.family_id, sign_in)

    def issue(self) -> dict[str, Any]:
        assert self.code is not None and self.user is not None and self.stored is not None
        return user_token_response(
            self.ctx, self.user, self.code.scope, self.stored, nonce=self.code.nonce
        )


async def _load(
    session: AsyncSession, tenant_id: uuid.UUID, value: str
) -> AuthorizationCode | None:
    if len(value) > 128:
        return None
    return await session.scalar(
        select(AuthorizationCode).where(
            AuthorizationCode.code_digest == secrets.digest(value),
            AuthorizationCode.tenant_id == tenant_id,
        )
    )
