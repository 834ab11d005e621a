"""DPoP proofs: checking the ``DPoP`` header of a request (RFC 9449 §4).

A proof is a JWS the client signs, for one request, with a key whose public
half rides in the proof's own header; a token bound to that key (``cnf.jkt``,
§6.1) is of use only to whoever can sign the next proof. This module checks a
proof in isolation — the list of §4.3 — and leaves to ``dpop_checks`` what
depends on the server's state: nonces, the replay cache and the request URL.

https://datatracker.ietf.org/doc/html/rfc9449
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
import orjson
from jwt.api_jws import PyJWS

PROOF_TYPE = "dpop+jwt"
# §4.3 point 5: "a registered asymmetric digital signature algorithm ... not
# none ... supported by the application". What PyJWT verifies, no symmetric
# (HS*) algorithm and no alias (ES521, ES256K: not in the JOSE registry's
# recommended set and rarely implemented by clients).
ALGORITHMS = (
    "ES256",
    "ES384",
    "ES512",
    "PS256",
    "PS384",
    "PS512",
    "RS256",
    "RS384",
    "RS512",
    "EdDSA",
)
# RFC 7518 §3.4 ties each ECDSA algorithm to one curve; RFC 8037 §3.1 names EdDSA's.
_CURVES = {
    "ES256": {"P-256"},
    "ES384": {"P-384"},
    "ES512": {"P-521"},
    "EdDSA": {"Ed25519", "Ed448"},
}
_KEY_TYPES = {"ES": "EC", "PS": "RSA", "RS": "RSA", "Ed": "OKP"}
# RFC 7518 §6.2.2, §6.3.2 and §6.4.1, RFC 8037 §2: members only a private key has.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# RFC 7638 §3.2: the required members of each key type, in lexicographic order.
_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}
# RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used".
MIN_RSA_BITS = 2048
MAX_PROOF_LENGTH = 8192
MAX_JTI_LENGTH = 256
_JWS_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_jws = PyJWS()


class ProofError(ValueError):
    """The proof is not acceptable; the message is safe to send to the client."""


@dataclass(frozen=True, slots=True)
class Proof:
    """A proof whose signature and claims were checked."""

    jkt: str  # RFC 7638 thumbprint of the proof's key (§6.1 ``cnf.jkt``)
    jti: str
    iat: int
    nonce: str | None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 §3: SHA-256 of the key's required members, sorted, no whitespace."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or not all(isinstance(jwk.get(m), str) for m in members):
        raise ProofError("The DPoP proof's jwk is not a supported public key.")
    canonical = orjson.dumps({m: jwk[m] for m in members}, option=orjson.OPT_SORT_KEYS)
    return b64url(hashlib.sha256(canonical).digest())


def access_token_hash(token: str) -> str:
    """§4.2 ``ath``: base64url of the SHA-256 of the access token's ASCII bytes."""
    return b64url(hashlib.sha256(token.encode("ascii", "replace")).digest())


_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _normal_percent(match: re.Match[str]) -> str:
    """RFC 3986 §6.2.2.1-2: upper-case hex digits, unreserved octets decoded."""
    octet = int(match[1], 16)
    return chr(octet) if octet in _UNRESERVED else f"%{match[1].upper()}"


def _without_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 (which §6.2.2.3 applies): "." and ".." segments resolved."""
    out: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
        elif segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    return "/".join(out)


def normalize_uri(uri: str) -> str | None:
    """``uri`` without query and fragment, normalized per RFC 3986 §6.2.2 and §6.2.3
    (scheme and host in lower case, no default port, "/" for an empty path,
    percent-encodings and dot segments normalized); None if it is no http(s) URL.

    §4.3 point 9 compares ``htu`` "ignoring any query and fragment parts" and
    says servers SHOULD normalize both sides first: a client writing
    ``HTTPS://CX.Example:443/oauth/token`` means the same endpoint.
    """
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = _without_dot_segments(_PERCENT.sub(_normal_percent, parts.path)) or "/"
    return f"{scheme}://{host}{path}"


def _header(value: str) -> dict[str, Any]:
    if len(value) > MAX_PROOF_LENGTH or not _JWS_COMPACT.fullmatch(value):
        raise ProofError("The DPoP header is not a single well-formed JWT.")
    try:
        header = jwt.get_unverified_header(value)
    except jwt.PyJWTError:
        raise ProofError("The DPoP header is not a single well-formed JWT.") from None
    if header.get("typ") != PROOF_TYPE:
        raise ProofError(f"The DPoP proof's typ must be {PROOF_TYPE}.")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise ProofError("The DPoP proof's alg must be one of " + " ".join(ALGORITHMS) + ".")
    return header


def _public_key(header: dict[str, Any]) -> tuple[Any, str]:
    """The proof's verification key and its thumbprint, refusing private keys."""
    jwk, alg = header.get("jwk"), str(header["alg"])
    if not isinstance(jwk, dict):
        raise ProofError("The DPoP proof's header must carry its public key as jwk.")
    if _PRIVATE_MEMBERS & jwk.keys():
        raise ProofError("The DPoP proof's jwk must not contain a private key.")
    if jwk.get("kty") != _KEY_TYPES[alg[:2]] or (
        alg in _CURVES and jwk.get("crv") not in _CURVES[alg]
    ):
        raise ProofError(f"The DPoP proof's jwk is not a key for {alg}.")
    jkt = thumbprint(jwk)
    try:
        key = jwt.PyJWK({k: v for k, v in jwk.items() if k != "alg"}, algorithm=alg).key
    except (jwt.PyJWTError, ValueError, TypeError):
        raise ProofError(f"The DPoP proof's jwk is not a valid key for {alg}.") from None
    if jwk["kty"] == "RSA" and key.key_size < MIN_RSA_BITS:
        raise ProofError(f"The DPoP proof's RSA key must have {MIN_RSA_BITS} bits or more.")
    return key, jkt


def _claims(value: str, key: Any, alg: str) -> dict[str, Any]:
    try:
        payload = _jws.decode_complete(value, key, algorithms=[alg])["payload"]
    except jwt.PyJWTError:
        raise ProofError("The DPoP proof's signature does not verify.") from None
    try:
        claims = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise ProofError("The DPoP proof's payload is not a JSON object.") from None
    if not isinstance(claims, dict):
        raise ProofError("The DPoP proof's payload is not a JSON object.")
    for name in ("jti", "htm", "htu"):
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise ProofError(f"The DPoP proof lacks the {name} claim.")
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise ProofError("The DPoP proof lacks the iat claim.")
    if len(claims["jti"]) > MAX_JTI_LENGTH:
        raise ProofError("The DPoP proof's jti is too long.")
    return claims


def verify(
    value: str,
    *,
    method: str,
    url: str,
    now: float,
    max_age: int,
    skew: int,
    access_token: str | None = None,
) -> Proof:
    """§4.3 points 2-9, 11 and the ``ath`` half of 12; raise ProofError.

    ``url`` is the normalized URL the request reached (``normalize_uri``);
    ``max_age`` is how old the proof may be, ``skew`` how far in the future.
    """
    header = _header(value)
    key, jkt = _public_key(header)
    claims = _claims(value, key, str(header["alg"]))
    if claims["htm"] != method:
        raise ProofError("The DPoP proof's htm does not match the request method.")
    if normalize_uri(claims["htu"]) != url:
        raise ProofError("The DPoP proof's htu does not match the request URL.")
    iat = int(claims["iat"])
    if iat < now - max_age:
        raise ProofError("The DPoP proof is too old: make a new one for each request.")
    if iat > now + skew:
        raise ProofError("The DPoP proof's iat is in the future.")
    if access_token is not None:
        ath = claims.get("ath")
        if not isinstance(ath, str) or not _same(ath, access_token_hash(access_token)):
            raise ProofError("The DPoP proof's ath does not match the access token.")
    nonce = claims.get("nonce")
    return Proof(jkt, claims["jti"], iat, nonce if isinstance(nonce, str) else None)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))
