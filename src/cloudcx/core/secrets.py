"""High-entropy secrets: generation, digests and constant-time comparison.

Refresh tokens, authorization codes, client secrets, API keys and session ids
are random values of at least 256 bits. Guessing them is infeasible, so a single
SHA-256 digest is the right way to store them (DESIGN.md §8): a slow password
hash would add nothing but latency. Lookups go by digest, and when a digest is
compared to a stored one it is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def token(nbytes: int = 32, prefix: str = "") -> str:
    """A URL-safe random string carrying ``nbytes`` bytes of entropy (≥ 256 bits)."""
    return prefix + secrets.token_urlsafe(nbytes)


def client_id() -> str:
    """Client identifiers: 128 bits, URL-safe, no prefix so they look like the guide's."""
    return secrets.token_urlsafe(16)


def digest(value: str) -> str:
    """Hex SHA-256 of a secret, the only form in which secrets are stored."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def matches(value: str, stored_digest: str | None) -> bool:
    """Does ``value`` hash to ``stored_digest``?  Constant time in the digest."""
    if not stored_digest:
        return False
    return hmac.compare_digest(digest(value), stored_digest)


def sign(key: bytes, *parts: str) -> str:
    """HMAC-SHA256 over ``parts``; used for CSRF tokens and other derived values."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part.encode("utf-8"))
        mac.update(b"\x00")
    return mac.hexdigest()
