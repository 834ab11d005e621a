"""``/.well-known/oauth-authorization-server``: Authorization Server Metadata.

https://datatracker.ietf.org/doc/html/rfc8414 — everything a client needs to
run the code flow with PKCE, refresh, revoke and introspect without reading
any other documentation.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cloudcx.core.responses import OrjsonResponse
from cloudcx.deps import IssuerDep, PlatformDep
from cloudcx.oauth import discovery, dpop, pkce
from cloudcx.oauth import scopes as scope_catalog
from cloudcx.oauth.grants import GRANTS
from cloudcx.platform import Platform

router = APIRouter(tags=["OAuth 2.0"])

CLIENT_AUTH_METHODS = ["none", "client_secret_basic", "client_secret_post"]
# RFC 7662 §2.1: introspection requires client authentication, so never "none".
INTROSPECTION_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def document(issuer: str, signing_alg: str) -> dict[str, Any]:
    """§2: the metadata values; ``issuer`` is the tenant's URL (DESIGN.md §2)."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "scopes_supported": list(scope_catalog.SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANTS),
        "code_challenge_methods_supported": list(pkce.SUPPORTED_METHODS),
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": INTROSPECTION_AUTH_METHODS,
        # RFC 9126 §5: pushing is offered; each client's "Require PAR" says whether it must.
        "pushed_authorization_request_endpoint": f"{issuer}/oauth/par",
        "require_pushed_authorization_requests": False,
        # RFC 9207: authorization responses carry ``iss``.
        "authorization_response_iss_parameter_supported": True,
        # RFC 9068 access tokens are signed with this algorithm.
        "access_token_signing_alg_values_supported": [signing_alg],
        # RFC 9449 §5.1: the algorithms accepted for DPoP proofs.
        "dpop_signing_alg_values_supported": list(dpop.ALGORITHMS),
        "service_documentation": f"{issuer}/docs",
    }


def full_document(issuer: str, platform: Platform) -> dict[str, Any]:
    """``document()`` with OpenID Connect Discovery's values: both URLs serve it."""
    return {
        **document(issuer, platform.settings.signing_alg),
        **discovery.openid_values(issuer, platform.keys),
    }


@router.get(
    "/.well-known/oauth-authorization-server",
    summary="Authorization server metadata (RFC 8414)",
    response_model=None,
)
async def metadata(issuer: IssuerDep, platform: PlatformDep) -> OrjsonResponse:
    return OrjsonResponse(
        full_document(issuer, platform), headers={"Cache-Control": "public, max-age=300"}
    )


@router.get(
    "/.well-known/openid-configuration",
    summary="OpenID Provider metadata (OpenID Connect Discovery 1.0 §4)",
    response_model=None,
    # The same document as RFC 8414's, which the API documentation already shows.
    include_in_schema=False,
)
async def openid_configuration(issuer: IssuerDep, platform: PlatformDep) -> OrjsonResponse:
    return OrjsonResponse(
        full_document(issuer, platform), headers={"Cache-Control": "public, max-age=300"}
    )
