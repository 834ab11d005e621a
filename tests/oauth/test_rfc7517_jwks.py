"""RFC 7517: the JWK Set, and key rotation keeping old public keys published."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth import keys
from cloudcx.oauth.models import OAuthClient, SigningKey
from cloudcx.platform import Platform
from tests.conftest import TEST_SECRET
from tests.helpers import bearer, password_token


async def test_jwks_lists_public_keys_only(http: httpx.AsyncClient, tenant: object) -> None:
    response = await http.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jwk-set+json")
    jwks = response.json()
    assert jwks["keys"]
    for jwk in jwks["keys"]:
        assert jwk["kty"] == "RSA" and jwk["use"] == "sig" and jwk["alg"] == "RS256"
        assert {"n", "e", "kid"} <= set(jwk)
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)


async def test_private_key_is_stored_encrypted(db: AsyncSession, tenant: object) -> None:
    row = await db.scalar(select(SigningKey).where(SigningKey.is_active.is_(True)))
    assert row is not None
    assert "PRIVATE KEY" not in row.private_key_encrypted
    assert row.private_key_encrypted.startswith("gAAAA")  # Fernet token


async def test_rotation_keeps_old_tokens_valid(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    oauth_client: OAuthClient,
    admin: User,
) -> None:
    old = await password_token(http, oauth_client.client_id, admin.email)
    old_kid = platform.keys.signing.kid if platform.keys.signing else None
    new = await keys.rotate(db, TEST_SECRET, "RS256", max_token_ttl=3600)
    await db.commit()
    await platform.keys.refresh()
    try:
        jwks = (await http.get("/.well-known/jwks.json")).json()
        kids = {k["kid"] for k in jwks["keys"]}
        assert {old_kid, new.kid} <= kids
        fresh = await password_token(http, oauth_client.client_id, admin.email)
        for body in (old, fresh):
            me = await http.get("/api/v1/me", headers=bearer(body["access_token"]))
            assert me.status_code == 200
    finally:
        assert platform.keys.signing is not None
        assert platform.keys.signing.kid == new.kid
