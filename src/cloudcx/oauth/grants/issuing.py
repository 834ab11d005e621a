"""The token response for a user: an access token and, when allowed, a refresh token.

Every refresh token belongs to a family (one per authorization: a code
exchange or a password sign-in), and the access tokens issued with it carry
the family id as ``gid``, so revoking the family ends them all at once
(RFC 9700 §4.14.2).
"""

from __future__ import annotations

import uuid
from typing import Any

from cloudcx.accounts.directory import AnyUser
from cloudcx.oauth import refresh_tokens
from cloudcx.oauth.grants.base import TokenContext, bearer_response, issue_for_user


def may_refresh(ctx: TokenContext) -> bool:
    """RFC 6749 §6: refresh tokens only for clients allowed the refresh_token grant."""
    return "refresh_token" in ctx.client.grant_types


async def user_token_response(
    ctx: TokenContext, user: AnyUser, scope: str, family_id: uuid.UUID | None = None
) -> dict[str, Any]:
    refresh: str | None = None
    if may_refresh(ctx):
        family_id = family_id or uuid.uuid4()
        ttl = refresh_tokens.lifetime(ctx.client, ctx.platform.settings.refresh_token_ttl)
        refresh = await refresh_tokens.issue(
            ctx.session, ctx.client, user.id, scope, family_id, ttl
        )
    token = issue_for_user(ctx, user, scope, grant_id=str(family_id) if family_id else None)
    return bearer_response(token, refresh_token=refresh)
