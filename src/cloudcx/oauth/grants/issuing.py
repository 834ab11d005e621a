"""The token response for a user: an access token and, when allowed, a refresh token.

Every refresh token belongs to a family (one per authorization: a code
exchange or a password sign-in), and the access tokens issued with it carry
the family id as ``gid``, so revoking the family ends them all at once
(RFC 9700 §4.14.2).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from cloudcx.accounts.directory import AnyUser
from cloudcx.oauth import id_tokens, refresh_tokens
from cloudcx.oauth import scopes as scope_catalog
from cloudcx.oauth.grants.base import TokenContext, bearer_response, issue_for_user
from cloudcx.oauth.id_tokens import SignIn


def may_refresh(ctx: TokenContext) -> bool:
    """RFC 6749 §6: refresh tokens only for clients allowed the refresh_token grant."""
    return "refresh_token" in ctx.client.grant_types


@dataclass(frozen=True, slots=True)
class Stored:
    """What the store step kept for the response: the new refresh token (shown
    once) and the family its access token names."""

    refresh_token: str | None
    family_id: uuid.UUID | None
    # OpenID Connect: the sign-in behind this authorization, when there was one.
    sign_in: SignIn | None = None


async def store_refresh_token(
    ctx: TokenContext,
    user: AnyUser,
    scope: str,
    family_id: uuid.UUID | None = None,
    sign_in: SignIn | None = None,
) -> Stored:
    if not may_refresh(ctx):
        return Stored(None, family_id, sign_in)
    family_id = family_id or uuid.uuid4()
    ttl = refresh_tokens.lifetime(ctx.client, ctx.platform.settings.refresh_token_ttl)
    # RFC 9449 §5: a confidential client's refresh token is already bound to it by
    # its authentication; a public client's is bound to its DPoP key.
    jkt = None if ctx.client.is_confidential else ctx.dpop_jkt
    value = await refresh_tokens.issue(
        ctx.session, ctx.client, user.id, scope, family_id, ttl, sign_in, dpop_jkt=jkt
    )
    return Stored(value, family_id, sign_in)


def user_token_response(
    ctx: TokenContext, user: AnyUser, scope: str, stored: Stored, nonce: str | None = None
) -> dict[str, Any]:
    """RFC 6749 §5.1, with an ``id_token`` (OpenID Connect Core §3.1.3.3, §12.2)
    when ``openid`` was granted at a browser sign-in."""
    family = str(stored.family_id) if stored.family_id else None
    token = issue_for_user(ctx, user, scope, grant_id=family)
    body = bearer_response(token, refresh_token=stored.refresh_token)
    if stored.sign_in is not None and scope_catalog.OPENID in scope.split():
        body["id_token"] = id_tokens.issue(
            ctx.platform.keys,
            issuer=ctx.issuer,
            client_id=ctx.client.client_id,
            subject=token.subject,
            sign_in=stored.sign_in,
            ttl=token.expires_in,
            access_token=token.value,
            nonce=nonce,
            alg=ctx.client.id_token_signed_response_alg or id_tokens.ID_TOKEN_DEFAULT_ALG,
        )
    return body
