"""Client Credentials grant: a confidential client acting on its own behalf.

https://datatracker.ietf.org/doc/html/rfc6749#section-4.4
"""

from __future__ import annotations

from typing import Any, ClassVar

from cloudcx.oauth import scopes as scope_catalog
from cloudcx.oauth import tokens
from cloudcx.oauth.errors import InvalidScopeError, UnauthorizedClientError
from cloudcx.oauth.grants.base import (
    TokenContext,
    access_token_ttl,
    bearer_response,
    require_grant_allowed,
)


class ClientCredentialsGrant:
    """``grant_type=client_credentials``.

    §4.4: "The client credentials grant type MUST only be used by confidential
    clients." The token's subject is the client, and its scopes are limited to
    the client's allowed scopes that make sense without a user. §4.4.3: "A
    refresh token SHOULD NOT be included."
    """

    grant_type: ClassVar[str] = "client_credentials"
    writes: ClassVar[bool] = False

    def __init__(self, ctx: TokenContext) -> None:
        self.ctx = ctx
        self.scope = ""

    async def validate(self) -> None:
        client = self.ctx.client
        require_grant_allowed(client, self.grant_type)
        if not client.is_confidential:
            raise UnauthorizedClientError("Only confidential clients may use this grant.")
        catalog = scope_catalog.SCOPES
        allowed = [s for s in client.scopes if s in catalog and catalog[s].client_only_ok]
        granted = scope_catalog.requested(allowed, self.ctx.form.get("scope"))
        if not granted:
            raise InvalidScopeError("This client has no scope usable without a user.")
        self.scope = scope_catalog.join(granted)

    async def store(self) -> None:
        """Nothing is kept: no refresh token, no consent (there is no user)."""

    def issue(self) -> dict[str, Any]:
        ctx = self.ctx
        token = tokens.issue(
            ctx.platform.keys,
            issuer=ctx.issuer,
            tenant_id=ctx.tenant.id,
            subject=ctx.client.client_id,
            client_id=ctx.client.client_id,
            scope=self.scope,
            ttl=access_token_ttl(ctx),
            jkt=ctx.dpop_jkt,
        )
        return bearer_response(token)
