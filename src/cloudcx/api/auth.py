"""Bearer authentication for the API (RFC 6750), with no database query.

The token's signature is checked against public keys held in memory and its
revocation against the in-memory revocation view (DESIGN.md §4, §8).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import (
    HTTPBearer,
    OAuth2AuthorizationCodeBearer,
    OAuth2PasswordBearer,
)

from cloudcx.api import ratelimit
from cloudcx.apikeys import service as apikeys
from cloudcx.deps import platform_of, tenant_of
from cloudcx.oauth import dpop, dpop_binding, tokens
from cloudcx.oauth.errors import (
    BearerError,
    DPoPInvalidTokenError,
    InsufficientScopeError,
    InvalidTokenError,
    MissingTokenError,
)
from cloudcx.oauth.scopes import SCOPES
from cloudcx.oauth.tokens import AccessToken

REALM = "CloudCX API"
_SCHEMES = frozenset({"bearer", "dpop"})

# Declares the guide's password flow in OpenAPI, so /docs' Authorize button works.
oauth2_password = OAuth2PasswordBearer(
    tokenUrl="/oauth/token",
    auto_error=False,
    description="The guide's password grant: email or username, password and client_id.",
    scopes={s.name: s.description for s in SCOPES.values()},
)

# Declared for OpenAPI only, like the password flow above.
oauth2_code = OAuth2AuthorizationCodeBearer(
    authorizationUrl="/oauth/authorize",
    tokenUrl="/oauth/token",
    auto_error=False,
    description="Authorization code flow with PKCE, for applications acting for a user.",
    scopes={s.name: s.description for s in SCOPES.values()},
)
api_key = HTTPBearer(
    scheme_name="APIKey",
    bearerFormat="cxk_… API key or JWT access token",
    auto_error=False,
    description="`Authorization: Bearer cxk_…` with an API key from Global Settings > Security"
    " > API Key, or any access token.",
)


# The ways to authenticate, as OpenAPI names them; every /api/v1 operation accepts
# each (api.openapi declares them). They are not request dependencies: FastAPI
# would run all three on every request only to document them.
SECURITY_SCHEMES = (oauth2_password, oauth2_code, api_key)


async def current_token(request: Request) -> AccessToken:
    """The request's access token: ``Bearer`` (RFC 6750) or ``DPoP`` with a proof
    (RFC 9449 §7.1). A bearer token costs one look at its ``cnf`` more: a token
    bound to a key is refused as a bearer token (§7.2)."""
    header = request.headers.get("authorization")
    if not header:
        raise MissingTokenError("Authentication is required.")
    scheme, _sep, credentials = header.partition(" ")
    credentials = credentials.strip()
    scheme = scheme.lower()
    if scheme not in _SCHEMES or not credentials or " " in credentials:
        raise InvalidTokenError(
            "The Authorization header must be 'Bearer <token>' or 'DPoP <token>'."
        )
    platform = platform_of(request)
    if credentials.startswith(apikeys.PREFIX):
        if scheme == "dpop":
            raise DPoPInvalidTokenError("An API key is not DPoP-bound: send it as Bearer.")
        # API keys are opaque: the one database lookup of the bearer check.
        token = await apikeys.authenticate(platform.sessionmaker, tenant_of(request), credentials)
    elif scheme == "dpop":
        token = await _dpop_token(request, credentials)
    else:
        token = bearer_token(request, credentials)
    request.state.access_token = token
    return token


def verified(request: Request, value: str) -> AccessToken:
    """The access token ``value`` checked in memory: signature, claims, tenant, revocation."""
    platform = platform_of(request)
    return tokens.verify(
        platform.keys,
        value,
        tenant_of(request),
        platform.revocations.is_revoked,
        platform.verified_tokens,
        platform.settings.token_leeway,
    )


def bearer_token(request: Request, value: str) -> AccessToken:
    """A JWT access token presented as a bearer token; a DPoP-bound one is refused (§7.2)."""
    token = verified(request, value)
    if token.jkt is not None:
        dpop_binding.refuse_bearer_use(token)
    return token


async def _dpop_token(request: Request, credentials: str) -> AccessToken:
    """``Authorization: DPoP``: every refusal is a DPoP challenge (RFC 9449 §7.1)."""
    try:
        token = verified(request, credentials)
    except InvalidTokenError as exc:
        raise DPoPInvalidTokenError(exc.description) from None
    await dpop_binding.check_resource_request(
        platform_of(request).dpop, request, token, credentials
    )
    return token


CurrentToken = Annotated[AccessToken, Depends(current_token)]


def api_access(*needed: str) -> Callable[[Request], Coroutine[Any, Any, AccessToken]]:
    """The dependency of every /api/v1 operation: the bearer token, the caller's
    rate limit (``api.ratelimit``) and every scope in ``needed`` (RFC 6750 §3.1).

    One dependency rather than three nested ones: FastAPI resolves each
    dependency with a cost of its own, and on a page of the API three cost about
    as much as reading the page.
    """

    async def dependency(request: Request) -> AccessToken:
        token = getattr(request.state, "access_token", None) or await current_token(request)
        await ratelimit.count(request, token)
        missing = [s for s in needed if s not in token.scopes]
        if missing:
            raise InsufficientScopeError(
                "The access token does not grant the scope this request needs.",
                scope=" ".join(missing),
            )
        return token

    return dependency


def challenge(
    error: str | None, description: str, scope: str | None, scheme: str = "Bearer"
) -> str:
    """The ``WWW-Authenticate`` value of RFC 6750 §3, or of RFC 9449 §7.1 for
    ``scheme`` DPoP (which also names the proof algorithms accepted, ``algs``)."""
    parts = [f'realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
        if description:
            parts.append(f'error_description="{description}"')
    if scope:
        parts.append(f'scope="{scope}"')
    if scheme == "DPoP":
        parts.append(f'algs="{" ".join(dpop.ALGORITHMS)}"')
    return f"{scheme} " + ", ".join(parts)


def www_authenticate(exc: BearerError) -> str:
    return challenge(exc.error, exc.description, exc.scope, exc.scheme)
