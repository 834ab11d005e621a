"""``POST /oauth/revoke``: OAuth 2.0 Token Revocation.

Requests are counted per client and address (``CLOUDCX_REVOKE_RATE_LIMIT``,
in Redis when configured, so across every process): each answer carries
``RateLimit-*`` headers and past the limit it is 429 with ``Retry-After``
and an RFC 6749 §5.2 body (RFC 7009 §2.2.1 errors), like the token endpoint's
sign-in throttle.

https://datatracker.ietf.org/doc/html/rfc7009
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.api.ratelimit import RateLimiter, Verdict
from cloudcx.deps import PlatformDep, SessionDep, TenantDep
from cloudcx.oauth import clients, presented, refresh_tokens, revocation
from cloudcx.oauth.clients import ClientInfo
from cloudcx.oauth.errors import NO_STORE, SlowDownError, UnsupportedTokenTypeError
from cloudcx.oauth.forms import client_credentials, read_form
from cloudcx.oauth.revocation import Kind
from cloudcx.platform import Platform
from cloudcx.security.throttle import network_of
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
    creds = client_credentials(request, form)
    verdict = await _count(request, tenant, creds.client_id)
    client = await clients.authenticate(platform.clients, tenant.id, creds)
    value = form.require("token")
    hint = form.get("token_type_hint")
    if hint is not None and hint not in presented.HINTS:
        raise UnsupportedTokenTypeError(f"Unknown token_type_hint '{hint[:40]}'.")
    for kind in presented.search_order(hint):
        revoke = _revoke_refresh if kind == presented.REFRESH_TOKEN else _revoke_access
        if await revoke(session, platform, tenant, client, value):
            await session.commit()
            break
    return Response(status_code=200, headers={**NO_STORE, **verdict.headers()})


async def _count(request: Request, tenant: TenantInfo, client_id: str | None) -> Verdict:
    """Counted before the client is authenticated, under the client it claims: a
    caller can only use up its own address's allowance, never the client's."""
    limiter: RateLimiter = request.app.state.revoke_limiter
    address = network_of(request.state.client_ip)
    verdict = await limiter.hit(f"revoke:{tenant.id}:{(client_id or '')[:64]}:{address}")
    if not verdict.allowed:
        refused = SlowDownError(verdict.reset_in, "Too many revocation requests; retry later.")
        refused.headers.update(verdict.headers())
        raise refused
    return verdict


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
