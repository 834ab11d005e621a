"""``/userinfo``: the UserInfo Endpoint of OpenID Connect Core 1.0 §5.3.

A protected resource like the API: the access token is a bearer token (RFC
6750 §2.1, or §2.2's form body on POST) or a DPoP-bound one with its proof
(RFC 9449 §7.1), checked in memory, and must carry ``openid``. The claims
returned follow the granted scopes (§5.4). Errors are RFC 6750 §3's, with
``WWW-Authenticate``.
https://openid.net/specs/openid-connect-core-1_0.html#UserInfo
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import User
from cloudcx.api import auth as api_auth
from cloudcx.apikeys import service as apikeys
from cloudcx.core.responses import OrjsonResponse
from cloudcx.db import session_scope
from cloudcx.deps import platform_of, tenant_of
from cloudcx.oauth import scopes as scope_catalog
from cloudcx.oauth.errors import (
    NO_STORE,
    InsufficientScopeError,
    InvalidTokenError,
    MissingTokenError,
)
from cloudcx.oauth.forms import read_form
from cloudcx.oauth.tokens import AccessToken

# Outside the API's OpenAPI document (and so its Postman collection): relying
# parties find it by OpenID Connect Discovery.
router = APIRouter(tags=["OpenID Connect"], include_in_schema=False)

# §5.1 claims by the scope that releases them (§5.4).
SCOPE_CLAIMS = {
    "profile": ("name", "updated_at"),
    "email": ("email", "email_verified"),
}
NOT_FOUND = "The access token is invalid or has expired."


def claims_of(user: User, scopes: frozenset[str]) -> dict[str, Any]:
    """``sub`` always (§5.3.2), the rest as the scopes allow.

    ``email_verified`` is false: CloudCX does not confirm addresses by mail.
    """
    every: dict[str, Any] = {
        "name": user.name,
        "updated_at": int(user.updated_at.timestamp()),
        "email": user.email,
        "email_verified": False,
    }
    claims: dict[str, Any] = {"sub": str(user.id)}
    for scope, names in SCOPE_CLAIMS.items():
        if scope in scopes:
            claims.update({n: every[n] for n in names})
    return claims


async def _credential(request: Request) -> str:
    """The bearer token of the header (RFC 6750 §2.1) or, on a POST without one,
    of the form body (§2.2)."""
    header = request.headers.get("authorization")
    if header is None and request.method == "POST":
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/x-www-form-urlencoded":
            value = (await read_form(request)).get("access_token")
            if value:
                return value
    if not header:
        raise MissingTokenError("Authentication is required.")
    scheme, _sep, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials or " " in credentials:
        raise InvalidTokenError("The Authorization header must be 'Bearer <token>'.")
    return credentials


async def _token(request: Request) -> AccessToken:
    """A user's access token granted ``openid``; API keys are not OpenID tokens.

    ``Authorization: DPoP`` is checked as the API checks it, proof and key
    binding included (RFC 9449 §7.1); a DPoP-bound token sent as a bearer
    token, in the header or the form, is refused (§7.2)."""
    if request.headers.get("authorization", "")[:5].lower() == "dpop ":
        token = await api_auth.current_token(request)
    else:
        credential = await _credential(request)
        if credential.startswith(apikeys.PREFIX):
            raise InvalidTokenError(NOT_FOUND)
        token = api_auth.bearer_token(request, credential)
    if token.user_id is None:
        raise InvalidTokenError(NOT_FOUND)
    if scope_catalog.OPENID not in token.scopes:
        raise InsufficientScopeError(
            "The access token was not granted the openid scope.", scope=scope_catalog.OPENID
        )
    return token


@router.api_route(
    "/userinfo",
    methods=["GET", "POST"],
    summary="UserInfo (OpenID Connect Core §5.3)",
    response_model=None,
)
async def userinfo(request: Request) -> Response:
    token = await _token(request)
    platform, tenant = platform_of(request), tenant_of(request)
    assert token.user_id is not None
    async with session_scope(platform.sessionmaker) as session:
        user = await accounts.get_user(session, tenant.id, token.user_id)
    if user is None or not user.is_active:
        raise InvalidTokenError(NOT_FOUND)
    return OrjsonResponse(claims_of(user, token.scopes), headers=NO_STORE)
