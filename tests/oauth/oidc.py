"""Reading ID tokens in tests as a relying party would."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import jwt

from cloudcx.platform import Platform

ISSUER = "http://localhost"
OPENID = "openid profile email"


def decode_id_token(platform: Platform, value: str, audience: str) -> dict[str, Any]:
    """The claims of an ID token, its signature, ``iss``, ``aud`` and ``exp`` checked."""
    kid = jwt.get_unverified_header(value)["kid"]
    key = platform.keys.verification[kid]
    claims: dict[str, Any] = jwt.decode(
        value, key.key, algorithms=[key.alg], audience=audience, issuer=ISSUER
    )
    return claims


def expected_at_hash(access_token: str) -> str:
    """OpenID Connect Core §3.1.3.6 for RS256/ES256, computed independently."""
    left = hashlib.sha256(access_token.encode()).digest()[:16]
    return base64.urlsafe_b64encode(left).decode().rstrip("=")
