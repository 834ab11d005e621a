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
from cloudcx.oauth import refresh_tokens
from cloudcx.oauth.grants.base import TokenContext, bearer_response, issue_for_user


def may_refresh(ctx: TokenContext) -> bool:
    """RFC 6749 §6: refresh tokens only for clients allowed the refresh_token grant."""
    return "refresh_token" in ctx.client.grant_types


@dataclass(frozen=True, slots=True)
class Stored:
    """What the store step kept for the response: the new refresh token (shown
    once) and the family its access token names."""

    refresh_token: str | None
    family_id: uuid.UUID | None


async def store_refresh_token(
    ctx: TokenContext, user: AnyUser, scope: str, family_id: uuid.UUID | None = None
) -> Stored:
    if not may_refresh(ctx):
        return Stored(None, family_id)
    family_id = family_id or uuid.uuid4()
    ttl = refresh_tokens.lifetime(ctx.client, ctx.platform.settings.refresh_token_ttl)
    # RFC 9449 §5: a confidential client's refresh token is already bound to it by
    # its authentication; a public client's is bound to its DPoP key.
    jkt = None if ctx.client.is_confidential else ctx.dpop_jkt
    value = await refresh_tokens.issue(
        ctx.session, ctx.client, user.id, scope, family_id, ttl, dpop_jkt=jkt
    )
    return Stored(value, family_id)


def user_token_response(
    ctx: TokenContext, user: AnyUser, scope: str, stored: Stored
) -> dict[str, Any]:
    family = str(stored.family_id) if stored.family_id else None
    token = issue_for_user(ctx, user, scope, grant_id=family)
    return bearer_response(token, refresh_token=stored.refresh_token)
