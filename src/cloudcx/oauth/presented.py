"""Finding what a presented token is, for revocation and introspection.

Access tokens are JWTs checked in memory; refresh tokens are opaque values
looked up by digest. ``token_type_hint`` only chooses which to try first:
RFC 7009 §2.1 and RFC 7662 §2.1 say the server must search further when the
hint is wrong, so a wrong hint never hides a token.
"""

from __future__ import annotations

from collections.abc import Callable

from cloudcx.oauth import tokens
from cloudcx.oauth.errors import InvalidTokenError
from cloudcx.oauth.keys import KeyRing
from cloudcx.oauth.tokens import AccessToken
from cloudcx.tenancy.service import TenantInfo

ACCESS_TOKEN = "access_token"
REFRESH_TOKEN = "refresh_token"
HINTS = (ACCESS_TOKEN, REFRESH_TOKEN)
MAX_TOKEN_LENGTH = 8192


def search_order(hint: str | None) -> tuple[str, ...]:
    return (REFRESH_TOKEN, ACCESS_TOKEN) if hint == REFRESH_TOKEN else HINTS


def access_token(
    keys: KeyRing,
    value: str,
    tenant: TenantInfo,
    is_revoked: Callable[[AccessToken], bool] | None = None,
    cache: tokens.VerifiedCache | None = None,
    leeway: int = tokens.DEFAULT_LEEWAY,
) -> AccessToken | None:
    """The verified access token, or None (malformed, expired, other tenant, revoked)."""
    if len(value) > MAX_TOKEN_LENGTH or value.count(".") != 2:
        return None
    try:
        return tokens.verify(keys, value, tenant, is_revoked, cache, leeway)
    except InvalidTokenError:
        return None
