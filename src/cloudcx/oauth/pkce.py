"""Proof Key for Code Exchange with the S256 method only.

https://datatracker.ietf.org/doc/html/rfc7636
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from cloudcx.oauth.errors import InvalidGrantError, InvalidRequestError

# §4.1: code_verifier = 43*128unreserved; §4.2: S256 challenge = BASE64URL(SHA256(verifier)).
_VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9\-_]{43}$")
SUPPORTED_METHODS = ("S256",)


def check_challenge(challenge: str | None, method: str | None, required: bool) -> str | None:
    """Validate the authorization request's PKCE parameters (RFC 7636 §4.3, §4.4.1).

    ``plain`` is refused (RFC 9700 §2.1.1): it protects nothing once the
    authorization request is observed. A method without a challenge is malformed.
    """
    if challenge is None:
        if method is not None:
            raise InvalidRequestError("code_challenge_method was sent without code_challenge.")
        if required:
            raise InvalidRequestError("PKCE is required: send code_challenge (S256).")
        return None
    if (method or "plain") not in SUPPORTED_METHODS:
        raise InvalidRequestError("Only the S256 code_challenge_method is supported.")
    if not _CHALLENGE_RE.match(challenge):
        raise InvalidRequestError("code_challenge must be a base64url SHA-256 digest.")
    return challenge


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify(challenge: str | None, verifier: str | None) -> None:
    """RFC 7636 §4.6 at the token endpoint; also refuses a verifier sent for a code
    issued without a challenge (a PKCE downgrade, RFC 9700 §2.1.1)."""
    if challenge is None:
        if verifier is not None:
            raise InvalidGrantError("code_verifier sent for a code issued without PKCE.")
        return
    if verifier is None:
        raise InvalidRequestError("The 'code_verifier' parameter is required.")
    if not _VERIFIER_RE.match(verifier):
        raise InvalidRequestError("The code_verifier is malformed (RFC 7636 §4.1).")
    if not hmac.compare_digest(s256(verifier), challenge):
        raise InvalidGrantError("The code_verifier does not match the code_challenge.")
