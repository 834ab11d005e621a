"""Refresh Token grant with rotation and reuse detection.

https://datatracker.ietf.org/doc/html/rfc6749#section-6 and
https://datatracker.ietf.org/doc/html/rfc9700#section-4.14.2
"""

from __future__ import annotations

import hmac
from typing import Any, ClassVar, NoReturn

from cloudcx.accounts.directory import UserInfo
from cloudcx.audit.service import Action, Actor, Origin, Target, record
from cloudcx.oauth import consents, refresh_tokens
from cloudcx.oauth import scopes as scope_catalog
from cloudcx.oauth.errors import InvalidGrantError, InvalidScopeError
from cloudcx.oauth.grants.base import TokenContext, require_grant_allowed
from cloudcx.oauth.grants.issuing import Stored, store_refresh_token, user_token_response
from cloudcx.oauth.models import RefreshToken

INVALID_REFRESH = "The refresh token is invalid, expired or revoked."


class RefreshTokenGrant:
    """``grant_type=refresh_token``: a new access token and a new refresh token.

    RFC 9700 §4.14.2: with rotation, "if a refresh token is compromised and
    subsequently used by both the attacker and the legitimate client, one of
    them will present an invalidated refresh token, which will inform the
    authorization server of the breach" — the whole family is then revoked.
    """

    writes: ClassVar[bool] = True
    grant_type: ClassVar[str] = "refresh_token"

    def __init__(self, ctx: TokenContext) -> None:
        self.ctx = ctx
        self.stored: Stored | None = None
        self.user: UserInfo | None = None
        self.scope = ""

    async def validate(self) -> None:
        """Only what needs no database: the token is looked up as it is claimed."""
        require_grant_allowed(self.ctx.client, self.grant_type)
        self.ctx.form.require("refresh_token")

    async def store(self) -> None:
        """Claim the presented token (one statement: it finds and rotates), check it,
        then issue its successor. A refusal raised here rolls the claim back."""
        ctx = self.ctx
        value = ctx.form.require("refresh_token")
        claimed = await refresh_tokens.claim(ctx.session, ctx.tenant.id, ctx.client, value)
        if claimed is None:
            await self._refuse(value)
        self._require_bound_key(claimed.dpop_jkt)
        self.scope = self._narrowed(claimed.scope)
        user = await ctx.platform.users.get(ctx.tenant.id, claimed.user_id, ctx.session)
        if user is None or not user.is_active:
            raise InvalidGrantError(INVALID_REFRESH)
        self.scope = self._still_allowed(user)
        self.user = user
        await consents.touch(
            ctx.session, ctx.tenant.id, user.id, ctx.client, ctx.platform.recent_uses
        )
        self.stored = await store_refresh_token(
            ctx, user, self.scope, claimed.family_id, claimed.sign_in
        )

    async def _refuse(self, value: str) -> NoReturn:
        """Why the token could not be claimed; a rotated one presented again by its
        own client means it was copied: the family is revoked."""
        ctx = self.ctx
        row = await refresh_tokens.find(ctx.session, ctx.tenant.id, value)
        # §6: the refresh token must have been issued to the authenticated client.
        if row is None or row.client_pk != ctx.client.id or row.revoked_at is not None:
            raise InvalidGrantError(INVALID_REFRESH)
        if row.rotated_at is not None:
            await self._reused(row)
        raise InvalidGrantError(INVALID_REFRESH)  # expired

    def _require_bound_key(self, bound: str | None) -> None:
        """RFC 9449 §5: a bound refresh token needs "a DPoP proof for the same key
        that was used to obtain the refresh token each time" it is used."""
        sent = self.ctx.dpop_jkt
        if bound is not None and (sent is None or not hmac.compare_digest(sent, bound)):
            raise InvalidGrantError(
                "This refresh token is bound to a DPoP key: send a proof made with that key."
            )

    def _narrowed(self, granted: str) -> str:
        """§6: the scope "MUST NOT include any scope not originally granted"."""
        asked = scope_catalog.parse(self.ctx.form.get("scope"))
        if not asked:
            return granted
        scope_catalog.require_known(asked)
        wider = [s for s in asked if s not in granted.split()]
        if wider:
            raise InvalidScopeError(f"Not originally granted: {' '.join(wider)}.")
        return scope_catalog.join(asked)

    def _still_allowed(self, user: UserInfo) -> str:
        """The client's scopes or the user's role may have shrunk since the grant."""
        allowed = [s for s in self.scope.split() if s in self.ctx.client.scopes]
        kept = scope_catalog.for_role(allowed, user.role)
        if not kept:
            raise InvalidGrantError("No granted scope is still allowed.")
        return scope_catalog.join(kept)

    async def _reused(self, row: RefreshToken) -> NoReturn:
        ctx = self.ctx
        await refresh_tokens.revoke_family(
            ctx.session, ctx.tenant.id, row.family_id, "rotated refresh token reused"
        )
        await record(
            ctx.session,
            tenant_id=ctx.tenant.id,
            action=Action.REFRESH_TOKEN_REUSE_DETECTED,
            actor=Actor.of_client(ctx.client.client_id, ctx.client.client_name),
            target=Target("user", str(row.user_id)),
            origin=Origin(ctx.client_ip, ctx.user_agent),
            details={"family_id": str(row.family_id)},
        )
        await ctx.session.commit()
        raise InvalidGrantError(INVALID_REFRESH)

    def issue(self) -> dict[str, Any]:
        assert self.user is not None and self.stored is not None
        return user_token_response(self.ctx, self.user, self.scope, self.stored)
