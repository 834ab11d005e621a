"""ID tokens of OpenID Connect Core 1.0, signed with the keys the JWKS publishes.

https://openid.net/specs/openid-connect-core-1_0.html#IDToken — issued by the
authorization code and refresh token grants when ``openid`` is in the scope.
They are RS256, the algorithm every relying party can expect (OpenID Connect
Dynamic Client Registration §2, ``id_token_signed_response_alg``), unless the
client's settings choose ES256 and an ES256 key is active (``CLOUDCX_SIGNING_ALG
=ES256``); without one they stay RS256, as advertised. ``typ`` is
plain ``JWT``, so an ID token is never mistaken for an RFC 9068 access token
(``at+jwt``), nor one for the other.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

from cloudcx.oauth.keys import ID_TOKEN_DEFAULT_ALG, KeyRing

__all__ = ["ALGORITHMS", "ID_TOKEN_DEFAULT_ALG", "SignIn", "at_hash", "issue", "verify_hint"]

TOKEN_TYPE = "JWT"
# Algorithms an ID token may be signed with, each with the hash of §3.1.3.6.
ALGORITHMS = {"RS256": hashlib.sha256, "ES256": hashlib.sha256}


@dataclass(frozen=True, slots=True)
class SignIn:
    """The browser sign-in an ID token speaks of (``auth_time``, ``sid``)."""

    auth_time: datetime
    sid: str | None


def supported_algs(keys: KeyRing) -> list[str]:
    """``id_token_signing_alg_values_supported``: RS256 always, ES256 when a key exists."""
    return [a for a in ALGORITHMS if a == ID_TOKEN_DEFAULT_ALG or a in keys.signers]


def at_hash(access_token: str, alg: str) -> str:
    """§3.1.3.6: the left half of the hash of the access token, base64url-encoded."""
    digest = ALGORITHMS[alg](access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def issue(
    keys: KeyRing,
    *,
    issuer: str,
    client_id: str,
    subject: str,
    sign_in: SignIn,
    ttl: int,
    access_token: str | None = None,
    nonce: str | None = None,
    alg: str = ID_TOKEN_DEFAULT_ALG,
) -> str:
    """§2: ``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``auth_time``, ``nonce``
    (§3.1.2.1: echoed when the request had one; never on refresh, §12.2),
    ``at_hash``, ``azp`` and ``sid`` (Front-Channel Logout §3)."""
    key = keys.signers.get(alg) or keys.signers.get(ID_TOKEN_DEFAULT_ALG)
    if key is None:
        raise RuntimeError("no RS256 signing key loaded")
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": client_id,
        "azp": client_id,
        "iat": now,
        "exp": now + ttl,
        "auth_time": int(sign_in.auth_time.timestamp()),
    }
    if sign_in.sid:
        claims["sid"] = sign_in.sid
    if nonce is not None:
        claims["nonce"] = nonce
    if access_token is not None:
        claims["at_hash"] = at_hash(access_token, key.alg)
    return jwt.encode(
        claims, key.key, algorithm=key.alg, headers={"kid": key.kid, "typ": TOKEN_TYPE}
    )


class InvalidIdToken(Exception):
    """An ``id_token_hint`` that this issuer did not sign."""


def verify_hint(keys: KeyRing, token: str, issuer: str) -> dict[str, Any]:
    """RP-Initiated Logout §2: an ID token we issued, perhaps expired.

    Checks the signature against the published keys, the header's ``typ`` and
    ``iss``; ``exp`` is not checked ("The OP SHOULD accept ID Tokens when the RP
    identified by the ID Token's aud claim ... has a current session or had a
    recent session"). Raises InvalidIdToken.
    """
    if len(token) > 8192 or token.count(".") != 2:
        raise InvalidIdToken
    try:
        header = jwt.get_unverified_header(token)
        key = keys.verification.get(str(header.get("kid")))
        if key is None or key.alg not in ALGORITHMS or header.get("typ") != TOKEN_TYPE:
            raise InvalidIdToken
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[key.alg],
            issuer=issuer,
            options={"verify_exp": False, "verify_aud": False, "require": ["sub", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidIdToken from exc
    if not isinstance(claims.get("aud"), str) or not isinstance(claims.get("sub"), str):
        raise InvalidIdToken
    return claims
