"""``POST /oauth/revoke``: OAuth 2.0 Token Revocation.

https://datatracker.ietf.org/doc/html/rfc7009
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.deps import PlatformDep, SessionDep, TenantDep
from cloudcx.oauth import clients, presented, refresh_tokens, revocation
from cloudcx.oauth.clients import ClientInfo
from cloudcx.oauth.errors import NO_STORE, UnsupportedTokenTypeError
from cloudcx.oauth.forms import client_credentials, read_form
from cloudcx.oauth.revocation import Kind
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo

router = APIRouter(tags=["OAuth 2.0"])


@router.post(
    "/oauth/revoke",
    summary="Token revocation (RFC 7009)",
    description="Send `token`, optional `token_type_hint`, and the client's credentials.",
    response_model=None,
)
async def revoke_endpoint(
    request: Request, platform: PlatformDep, session: SessionDep, tenant: TenantDep
) -> Response:
    """§2.2: "The authorization server responds with HTTP status code 200 if the
    token has been revoked successfully or if the client submitted an invalid
    token." A token of another client is left alone and answered the same way,
    so the endpoint never tells whether someone else's token exists."""
    form = await read_form(request)
    client = await clients.authenticate(
        platform.clients, tenant.id, client_credentials(request, form)
    )
    value = form.require("token")
    hint = form.get("token_type_hint")
    if hint is not None and hint not in presented.HINTS:
        raise UnsupportedTokenTypeError(f"Unknown token_type_hint '{hint[:40]}'.")
    for kind in presented.search_order(hint):
        revoke = _revoke_refresh if kind == presented.REFRESH_TOKEN else _revoke_access
        if await revoke(session, platform, tenant, client, value):
            await session.commit()
            break
    return Response(status_code=200, headers=NO_STORE)


async def _revoke_refresh(
    session: AsyncSession, platform: Platform, tenant: TenantInfo, client: ClientInfo, value: str
) -> bool:
    """§2.1: revoking a refresh token also ends the access tokens issued from it."""
    row = await refresh_tokens.find(session, tenant.id, value)
    if row is None or row.client_pk != client.id:
        return False
    await refresh_tokens.revoke_family(session, tenant.id, row.family_id, "revoked by the client")
    return True


async def _revoke_access(
    session: AsyncSession, platform: Platform, tenant: TenantInfo, client: ClientInfo, value: str
) -> bool:
    """A JWT cannot be recalled, so its ``jti`` joins the revocation set that every
    process checks on every API request."""
    token = presented.access_token(
        platform.keys, value, tenant, leeway=platform.settings.token_leeway
    )
    if token is None or token.client_id != client.client_id:
        return False
    lifetime = max(token.expires_at - int(time.time()), 0)
    await revocation.revoke(session, tenant.id, Kind.TOKEN, token.jti, lifetime=lifetime)
    return True
