"""Access tokens: JWTs in the RFC 9068 profile, issued and verified in memory.

https://datatracker.ietf.org/doc/html/rfc9068
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt

from cloudcx.core import secrets
from cloudcx.oauth.errors import InvalidTokenError
from cloudcx.oauth.keys import KeyRing
from cloudcx.tenancy.service import TenantInfo

TOKEN_TYPE = "at+jwt"
# RFC 9068 §4: resource servers MUST accept both spellings of the media type.
_ACCEPTED_TYP = {"at+jwt", "application/at+jwt"}
API_AUDIENCE_PATH = "/api/v1"
# Seconds an access token is still accepted past its ``exp`` (and before its
# ``iat``), for clocks that disagree a little (RFC 7519 §4.1.4 "some small
# leeway"); ``Settings.token_leeway`` sets it, 0 to ``MAX_LEEWAY`` seconds.
DEFAULT_LEEWAY = 5
MAX_LEEWAY = 10
# The longest access-token lifetime any setting allows (config, client settings).
# Revocations and retired signing keys must outlive every token they cover.
MAX_ACCESS_TOKEN_TTL = 86400
_REQUIRED = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "tid"]


def audience_for(issuer: str) -> str:
    """The CX API of the tenant is the token's audience (RFC 9068 §3)."""
    return issuer + API_AUDIENCE_PATH


@dataclass(frozen=True, slots=True)
class AccessToken:
    """The verified claims of an access token, as the API sees them."""

    jti: str
    subject: str
    client_id: str
    tenant_id: uuid.UUID
    scopes: frozenset[str]
    issued_at: int
    expires_at: int
    user_id: uuid.UUID | None
    grant_id: str | None = None
    # Hosts named by ``aud`` as this platform's API, parsed once per token
    # (a cached token is checked against the request's tenant on every use).
    audience_hosts: frozenset[str] = frozenset()
    # RFC 9449 §6.1 ``cnf.jkt``: the thumbprint of the DPoP key the token is bound
    # to; None for a bearer token, which is all the bearer check looks at.
    jkt: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    value: str
    jti: str
    expires_in: int
    scope: str
    jkt: str | None = None
    subject: str = ""


def issue(
    keys: KeyRing,
    *,
    issuer: str,
    tenant_id: uuid.UUID,
    subject: str,
    client_id: str,
    scope: str,
    ttl: int,
    user_id: uuid.UUID | None = None,
    grant_id: str | None = None,
    jkt: str | None = None,
) -> IssuedToken:
    if keys.signing is None:
        raise RuntimeError("no signing key loaded")
    now = int(time.time())
    jti = secrets.token(16)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience_for(issuer),
        "client_id": client_id,
        "scope": scope,
        "iat": now,
        "exp": now + ttl,
        "jti": jti,
        "tid": str(tenant_id),
    }
    if user_id is not None:
        claims["uid"] = str(user_id)
    if grant_id is not None:
        claims["gid"] = grant_id
    if jkt is not None:
        claims["cnf"] = {"jkt": jkt}  # RFC 9449 §6.1
    value = jwt.encode(
        claims,
        keys.signing.key,
        algorithm=keys.signing.alg,
        headers={"kid": keys.signing.kid, "typ": TOKEN_TYPE},
    )
    return IssuedToken(value=value, jti=jti, expires_in=ttl, scope=scope, jkt=jkt, subject=subject)


class VerifiedCache:
    """Recently verified tokens, so a client reusing its token skips the RSA check.

    Keyed by the exact token string: any change to it is a cache miss and a full
    verification. Expiry, tenant and revocation are still checked on every use.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._items: OrderedDict[str, AccessToken] = OrderedDict()

    def get(self, token: str) -> AccessToken | None:
        found = self._items.get(token)
        if found is not None:
            self._items.move_to_end(token)
        return found

    def put(self, token: str, access: AccessToken) -> None:
        self._items[token] = access
        if len(self._items) > self._size:
            self._items.popitem(last=False)


def verify(
    keys: KeyRing,
    token: str,
    tenant: TenantInfo,
    is_revoked: Callable[[AccessToken], bool] | None = None,
    cache: VerifiedCache | None = None,
    leeway: int = DEFAULT_LEEWAY,
) -> AccessToken:
    """Check signature, type, lifetime, tenant and audience; raise InvalidTokenError.

    Every failure gives the same client-facing text: which check failed is of
    use to an attacker, not to a legitimate client.
    """
    access = cache.get(token) if cache is not None else None
    if access is None:
        access = _verify_signed(keys, token, leeway)
        if cache is not None:
            cache.put(token, access)
    if access.expires_at + leeway < time.time():
        raise InvalidTokenError("The access token is invalid or has expired.")
    if access.tenant_id != tenant.id or access.audience_hosts.isdisjoint(tenant.domains):
        raise InvalidTokenError("The access token is invalid or has expired.")
    if is_revoked is not None and is_revoked(access):
        raise InvalidTokenError("The access token has been revoked.")
    return access


def _verify_signed(keys: KeyRing, token: str, leeway: int) -> AccessToken:
    try:
        header = jwt.get_unverified_header(token)
        key = keys.verification.get(str(header.get("kid")))
        if key is None or str(header.get("typ", "")).lower() not in _ACCEPTED_TYP:
            raise InvalidTokenError("The access token is invalid or has expired.")
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[key.alg],
            options={"require": _REQUIRED, "verify_aud": False},
            leeway=leeway,
        )
    except jwt.PyJWTError as exc:
        raise InvalidTokenError("The access token is invalid or has expired.") from exc
    return _to_access_token(claims)


def _audience_hosts(aud: Any) -> frozenset[str]:
    """A tenant answers on several domains; any of them names the same API."""
    hosts = set()
    for value in aud if isinstance(aud, list) else [aud]:
        if isinstance(value, str):
            parts = urlsplit(value)
            if parts.path == API_AUDIENCE_PATH:
                hosts.add(parts.hostname or "")
    return frozenset(hosts)


def _bound_key(claims: dict[str, Any]) -> str | None:
    """The ``cnf.jkt`` of a bound token; a ``cnf`` naming anything else is refused,
    never taken for a bearer token (RFC 7800 §3.1, RFC 9449 §6.1)."""
    cnf = claims.get("cnf")
    if cnf is None:
        return None
    if not isinstance(cnf, dict) or not isinstance(cnf.get("jkt"), str):
        raise ValueError("unsupported cnf")
    return str(cnf["jkt"])


def _to_access_token(claims: dict[str, Any]) -> AccessToken:
    try:
        uid = claims.get("uid")
        return AccessToken(
            jti=str(claims["jti"]),
            subject=str(claims["sub"]),
            client_id=str(claims["client_id"]),
            tenant_id=uuid.UUID(str(claims["tid"])),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
            user_id=uuid.UUID(str(uid)) if uid else None,
            grant_id=str(claims["gid"]) if claims.get("gid") else None,
            audience_hosts=_audience_hosts(claims.get("aud")),
            jkt=_bound_key(claims),
            claims=claims,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidTokenError("The access token is invalid or has expired.") from exc
