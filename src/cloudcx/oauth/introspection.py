"""``POST /oauth/introspect``: OAuth 2.0 Token Introspection.

https://datatracker.ietf.org/doc/html/rfc7662
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cloudcx.core.responses import OrjsonResponse
from cloudcx.core.routing import DirectRoute
from cloudcx.deps import issuer_of, platform_of, tenant_of
from cloudcx.oauth import clients, presented, refresh_tokens
from cloudcx.oauth.clients import ClientInfo
from cloudcx.oauth.errors import NO_STORE, InvalidClientError
from cloudcx.oauth.forms import client_credentials, read_form
from cloudcx.oauth.models import RefreshToken
from cloudcx.oauth.tokens import AccessToken

router = APIRouter(tags=["OAuth 2.0"], route_class=DirectRoute)

INACTIVE: dict[str, Any] = {"active": False}


@router.post(
    "/oauth/introspect",
    summary="Token introspection (RFC 7662)",
    description="Send `token`, optional `token_type_hint`, and the client's credentials.",
    response_model=None,
)
async def introspect_endpoint(request: Request) -> Response:
    """§2.2: ``active`` is false for expired, revoked, malformed and unknown tokens
    — and here also for other tenants' tokens and for tokens issued to another
    client, so introspection cannot be used to probe tokens one does not hold.
    """
    platform, tenant = platform_of(request), tenant_of(request)
    form = await read_form(request)
    creds = client_credentials(request, form)
    client = await clients.authenticate(platform.clients, tenant.id, creds)
    if not client.is_confidential:
        # §2.1: the endpoint MUST require authorization, and a public client's
        # client_id is no secret: anyone holding a token could learn its claims.
        raise InvalidClientError(
            "Introspection needs client authentication; a public client cannot introspect.",
            basic=creds.method == "client_secret_basic",
        )
    value = form.require("token")
    body = INACTIVE
    for kind in presented.search_order(form.get("token_type_hint")):
        if kind == presented.ACCESS_TOKEN:
            access = presented.access_token(
                platform.keys,
                value,
                tenant,
                platform.revocations.is_revoked,
                platform.verified_tokens,
                platform.settings.token_leeway,
            )
            if access is not None and access.client_id == client.client_id:
                body = _access_claims(access)
                break
        elif refresh_tokens.could_be(value):
            # The only database read here: access tokens are checked in memory.
            async with platform.sessionmaker() as session:
                row = await refresh_tokens.find(session, tenant.id, value)
            if row is not None and row.client_pk == client.id and refresh_tokens.is_usable(row):
                body = _refresh_claims(row, client, issuer_of(request))
                break
    return OrjsonResponse(body, headers=NO_STORE)


def _access_claims(token: AccessToken) -> dict[str, Any]:
    """§2.2: the token's own claims plus ``active`` and ``token_type``.

    A DPoP-bound token keeps its ``cnf`` claim and is of type ``DPoP``: RFC 9449
    §6.2 "the introspection response ... includes a cnf member with a jkt".
    """
    claims = {k: v for k, v in token.claims.items() if k != "tid"}
    return {"active": True, "token_type": "DPoP" if token.jkt else "Bearer", **claims}


def _refresh_claims(row: RefreshToken, client: ClientInfo, issuer: str) -> dict[str, Any]:
    return {
        "active": True,
        "token_type": "refresh_token",
        "scope": row.scope,
        "client_id": client.client_id,
        "sub": str(row.user_id),
        "iss": issuer,
        "iat": int(row.created_at.timestamp()),
        "exp": int(row.expires_at.timestamp()),
    }
