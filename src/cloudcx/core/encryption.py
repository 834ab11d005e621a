"""Encryption at rest for the few secrets the server must read back (signing keys).

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) with a key derived by
HKDF from ``CLOUDCX_SECRET_KEY``, so one master secret can protect several
purposes without reusing key material across them.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["InvalidToken", "derive_key", "fernet_for"]


@lru_cache(maxsize=32)
def derive_key(master_secret: str, purpose: str, length: int = 32) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=length,
        salt=b"cloudcx-v1",
        info=purpose.encode("utf-8"),
    )
    return hkdf.derive(master_secret.encode("utf-8"))


def fernet_for(master_secret: str, purpose: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive_key(master_secret, purpose)))
