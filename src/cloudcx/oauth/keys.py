"""Signing keys: creation, rotation, the in-memory key ring and the JWKS.

Verification uses only public keys held in memory, so the bearer check on API
requests needs no database query (DESIGN.md §8). A rotation made by another
process (``cloudcx keys rotate``) arrives by the change feed with Redis, and
otherwise when each process re-reads the key table, every few seconds.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudcx.core.encryption import fernet_for
from cloudcx.db import utcnow
from cloudcx.oauth.models import SigningKey

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

_ENCRYPTION_PURPOSE = "signing-keys"


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint, used as ``kid`` so it is stable and meaningful."""
    members = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n")
    canonical = json.dumps({k: jwk[k] for k in members}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _generate(alg: str) -> PrivateKey:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_jwk(key: PublicKey, alg: str) -> dict[str, Any]:
    jwk: dict[str, Any] = (
        ECAlgorithm.to_jwk(key, as_dict=True)
        if isinstance(key, ec.EllipticCurvePublicKey)
        else RSAAlgorithm.to_jwk(key, as_dict=True)
    )
    jwk["kid"] = _thumbprint(jwk)
    jwk.update(use="sig", alg=alg)
    return jwk


async def create_key(session: AsyncSession, master_secret: str, alg: str) -> SigningKey:
    private = _generate(alg)
    jwk = _public_jwk(private.public_key(), alg)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    row = SigningKey(
        kid=jwk["kid"],
        alg=alg,
        public_jwk=jwk,
        private_key_encrypted=fernet_for(master_secret, _ENCRYPTION_PURPOSE).encrypt(pem).decode(),
    )
    session.add(row)
    await session.flush()
    return row


# OpenID Connect Core §15.1 / Discovery §3: ID tokens can always be signed with
# RS256, whatever algorithm signs the access tokens.
ID_TOKEN_DEFAULT_ALG = "RS256"


async def ensure_key(session: AsyncSession, master_secret: str, alg: str) -> None:
    """Create the first signing key if there is none (first start), and an RS256
    key beside it for ID tokens when none is active."""
    active = set((await session.scalars(select(SigningKey.alg).where(SigningKey.is_active))).all())
    if not active:
        await create_key(session, master_secret, alg)
        active.add(alg)
    if ID_TOKEN_DEFAULT_ALG not in active:
        await create_key(session, master_secret, ID_TOKEN_DEFAULT_ALG)


async def rotate(
    session: AsyncSession, master_secret: str, alg: str, max_token_ttl: int
) -> SigningKey:
    """New key signs from now on; old public keys stay published until the
    last token they signed has expired."""
    now = utcnow()
    await session.execute(
        update(SigningKey)
        .where(SigningKey.is_active.is_(True))
        .values(
            is_active=False,
            retired_at=now,
            expires_at=now + timedelta(seconds=max_token_ttl + 300),
        )
    )
    if alg != ID_TOKEN_DEFAULT_ALG:
        await create_key(session, master_secret, ID_TOKEN_DEFAULT_ALG)
    return await create_key(session, master_secret, alg)


@dataclass(frozen=True, slots=True)
class VerificationKey:
    kid: str
    alg: str
    key: PublicKey


@dataclass(frozen=True, slots=True)
class SigningMaterial:
    kid: str
    alg: str
    key: PrivateKey


class KeyRing:
    """The process's view of the key table.

    ``signing`` signs access tokens: the newest active key. ``signers`` holds the
    newest active key of each algorithm, for ID tokens (``oauth.id_tokens``).
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], master_secret: str) -> None:
        self._sessionmaker = sessionmaker
        self._fernet = fernet_for(master_secret, _ENCRYPTION_PURPOSE)
        self.signing: SigningMaterial | None = None
        self.signers: dict[str, SigningMaterial] = {}
        self.verification: dict[str, VerificationKey] = {}
        self.jwks_json: bytes = b'{"keys":[]}'

    async def refresh(self) -> None:
        async with self._sessionmaker() as session:
            rows = (
                await session.scalars(
                    select(SigningKey)
                    .where(or_(SigningKey.expires_at.is_(None), SigningKey.expires_at > utcnow()))
                    .order_by(SigningKey.created_at.desc(), SigningKey.kid)
                )
            ).all()
        verification: dict[str, VerificationKey] = {}
        for row in rows:
            public = self._public_from_jwk(row.public_jwk)
            verification[row.kid] = VerificationKey(row.kid, row.alg, public)
        known = {m.kid: m for m in self.signers.values()}
        signers: dict[str, SigningMaterial] = {}
        for row in rows:
            if row.is_active and row.alg not in signers:
                signers[row.alg] = known.get(row.kid) or self._private(row)
        # The access-token key: the newest active one that is not only the RS256
        # companion made for ID tokens (``ensure_key``, ``rotate``).
        active = [r for r in rows if r.is_active]
        primary = next((r for r in active if r.alg != ID_TOKEN_DEFAULT_ALG), None)
        chosen = primary or (active[0] if active else None)
        if chosen is not None:
            self.signing = signers[chosen.alg]
        self.signers = signers
        self.verification = verification
        self.jwks_json = orjson.dumps({"keys": [r.public_jwk for r in rows]})

    def _private(self, row: SigningKey) -> SigningMaterial:
        pem = self._fernet.decrypt(row.private_key_encrypted.encode())
        private = serialization.load_pem_private_key(pem, password=None)
        assert isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        return SigningMaterial(row.kid, row.alg, private)

    @staticmethod
    def _public_from_jwk(jwk: dict[str, Any]) -> PublicKey:
        key = (ECAlgorithm if jwk["kty"] == "EC" else RSAAlgorithm).from_jwk(jwk)
        assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
        return key
