"""DPoP keys and proofs as a client makes them (RFC 9449 §4.2), for the tests."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

TOKEN_URL = "http://localhost/oauth/token"
ME_URL = "http://localhost/api/v1/me"
_DROP = object()


def _generate(alg: str) -> Any:
    if alg.startswith("ES"):
        curve = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}[alg]
        return ec.generate_private_key(curve())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_jwk(private: Any) -> dict[str, Any]:
    public = private.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        found: dict[str, Any] = ECAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(public, ed25519.Ed25519PublicKey):
        found = OKPAlgorithm.to_jwk(public, as_dict=True)
    else:
        found = RSAAlgorithm.to_jwk(public, as_dict=True)
    return found


class DPoPKey:
    """A client's DPoP key pair; ``proof`` signs a proof for one request."""

    def __init__(self, alg: str = "ES256") -> None:
        self.alg = alg
        self.private = _generate(alg)
        self.jwk = _public_jwk(self.private)

    @property
    def jkt(self) -> str:
        """RFC 7638, computed here independently of the server's code."""
        members = {
            "EC": ("crv", "kty", "x", "y"),
            "RSA": ("e", "kty", "n"),
            "OKP": ("crv", "kty", "x"),
        }
        required = {m: self.jwk[m] for m in members[self.jwk["kty"]]}
        canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()

    def proof(
        self,
        method: str = "POST",
        url: str = TOKEN_URL,
        *,
        access_token: str | None = None,
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A proof; ``header`` and ``claims`` override or (with ``drop``) remove fields."""
        body: dict[str, Any] = {
            "jti": uuid.uuid4().hex,
            "htm": method,
            "htu": url,
            "iat": int(time.time()),
        }
        if access_token is not None:
            body["ath"] = ath(access_token)
        body.update(claims)
        headers: dict[str, Any] = {"typ": "dpop+jwt", "jwk": self.jwk}
        headers.update(header or {})
        body = {k: v for k, v in body.items() if v is not _DROP}
        headers = {k: v for k, v in headers.items() if v is not _DROP}
        return jwt.encode(body, self.private, algorithm=self.alg, headers=headers)


def drop() -> Any:
    """A claim or header value meaning "leave this one out"."""
    return _DROP


def ath(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def dpop_headers(
    key: DPoPKey, access_token: str, method: str = "GET", url: str = ME_URL
) -> dict[str, str]:
    return {
        "Authorization": f"DPoP {access_token}",
        "DPoP": key.proof(method, url, access_token=access_token),
    }
