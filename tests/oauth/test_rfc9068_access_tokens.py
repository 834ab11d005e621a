"""RFC 9068: access tokens are JWTs with a fixed header and claim set."""

from __future__ import annotations

import dataclasses
import time
import uuid

import httpx
import jwt
import pytest
from pydantic import ValidationError

from cloudcx.accounts.models import User
from cloudcx.config import Settings
from cloudcx.oauth import tokens
from cloudcx.oauth.errors import InvalidTokenError
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import password_token


async def test_header_and_claims(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User, tenant: TenantInfo
) -> None:
    body = await password_token(http, oauth_client.client_id, admin.email)
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    assert header["kid"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["iss"] == "http://localhost"
    assert claims["aud"] == "http://localhost/api/v1"
    assert claims["sub"] == str(admin.id)
    assert claims["client_id"] == oauth_client.client_id
    assert claims["tid"] == str(tenant.id)
    assert claims["scope"] == body["scope"]
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["iat"] - time.time()) < 60
    assert len(claims["jti"]) >= 16


async def test_signature_verifies_with_the_published_jwks(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User
) -> None:
    body = await password_token(http, oauth_client.client_id, admin.email)
    jwks = (await http.get("/.well-known/jwks.json")).json()
    kid = jwt.get_unverified_header(body["access_token"])["kid"]
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    key = jwt.PyJWK(jwk)
    claims = jwt.decode(
        body["access_token"], key, algorithms=["RS256"], audience="http://localhost/api/v1"
    )
    assert claims["sub"] == str(admin.id)


async def test_jti_is_unique_per_token(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User
) -> None:
    first = await password_token(http, oauth_client.client_id, admin.email)
    second = await password_token(http, oauth_client.client_id, admin.email)
    decode = lambda t: jwt.decode(t, options={"verify_signature": False})  # noqa: E731
    assert decode(first["access_token"])["jti"] != decode(second["access_token"])["jti"]


def _issue(platform: Platform, tenant: TenantInfo, **overrides: object) -> str:
    params: dict[str, object] = {
        "issuer": "http://localhost",
        "tenant_id": tenant.id,
        "subject": str(uuid.uuid4()),
        "client_id": "c",
        "scope": "tickets:read",
        "ttl": 3600,
    }
    params.update(overrides)
    return tokens.issue(platform.keys, **params).value  # type: ignore[arg-type]


class TestVerify:
    async def test_valid_token(self, platform: Platform, tenant: TenantInfo) -> None:
        token = tokens.verify(platform.keys, _issue(platform, tenant), tenant)
        assert token.scopes == frozenset({"tickets:read"})

    async def test_other_domain_of_the_same_tenant_is_the_same_audience(
        self, platform: Platform, tenant: TenantInfo
    ) -> None:
        value = _issue(platform, tenant, issuer="http://127.0.0.1:8000")
        assert tokens.verify(platform.keys, value, tenant).client_id == "c"

    @pytest.mark.parametrize(
        "tamper",
        [
            "expired",
            "other-tenant",
            "foreign-audience",
            "wrong-typ",
            "unknown-kid",
            "alg-none",
            "hs256-with-public-key",
            "bad-signature",
            "garbage",
        ],
    )
    async def test_rejected(
        self, platform: Platform, tenant: TenantInfo, other_tenant: TenantInfo, tamper: str
    ) -> None:
        value = _tampered(platform, tenant, other_tenant, tamper)
        with pytest.raises(InvalidTokenError):
            tokens.verify(platform.keys, value, tenant)

    async def test_revocation_callback_is_consulted(
        self, platform: Platform, tenant: TenantInfo
    ) -> None:
        with pytest.raises(InvalidTokenError):
            tokens.verify(platform.keys, _issue(platform, tenant), tenant, lambda _t: True)


def _tampered(platform: Platform, tenant: TenantInfo, other: TenantInfo, how: str) -> str:
    signing = platform.keys.signing
    assert signing is not None
    good = _issue(platform, tenant)
    claims = jwt.decode(good, options={"verify_signature": False})
    header = {"kid": signing.kid, "typ": "at+jwt"}
    if how == "expired":
        return _issue(platform, tenant, ttl=-120)
    if how == "other-tenant":
        return _issue(platform, other)
    if how == "foreign-audience":
        claims["aud"] = "https://evil.example/api/v1"
    elif how == "wrong-typ":
        header["typ"] = "JWT"
    elif how == "unknown-kid":
        header["kid"] = "not-a-key"
    elif how == "alg-none":
        return jwt.encode(claims, None, algorithm="none", headers=header)
    elif how == "hs256-with-public-key":
        jwk = next(iter(platform.keys.verification.values()))
        secret = str(jwk.key.public_numbers()).encode()  # type: ignore[union-attr]
        return jwt.encode(claims, secret, algorithm="HS256", headers=header)
    elif how == "bad-signature":
        head, payload, sig = good.split(".")
        return f"{head}.{payload}.{sig[:-4]}AAAA"
    elif how == "garbage":
        return "not.a.jwt"
    return jwt.encode(claims, signing.key, algorithm=signing.alg, headers=header)


class TestVerifiedCache:
    async def test_cached_token_is_still_checked_for_tenant_expiry_and_revocation(
        self, platform: Platform, tenant: TenantInfo, other_tenant: TenantInfo
    ) -> None:
        cache = tokens.VerifiedCache()
        value = _issue(platform, tenant)
        first = tokens.verify(platform.keys, value, tenant, cache=cache)
        assert cache.get(value) is first
        with pytest.raises(InvalidTokenError):
            tokens.verify(platform.keys, value, other_tenant, cache=cache)
        with pytest.raises(InvalidTokenError):
            tokens.verify(platform.keys, value, tenant, lambda _t: True, cache)
        cache.put(value, dataclasses.replace(first, expires_at=int(time.time()) - 120))
        with pytest.raises(InvalidTokenError):
            tokens.verify(platform.keys, value, tenant, cache=cache)

    async def test_cache_is_bounded(self, platform: Platform, tenant: TenantInfo) -> None:
        cache = tokens.VerifiedCache(size=2)
        values = [_issue(platform, tenant) for _ in range(3)]
        for value in values:
            tokens.verify(platform.keys, value, tenant, cache=cache)
        assert cache.get(values[0]) is None
        assert cache.get(values[2]) is not None


class TestLeeway:
    """RFC 7519 §4.1.4 allows "some small leeway" for clock skew: 5 s unless set (at most 10)."""

    @pytest.mark.parametrize(
        ("expired_ago", "leeway", "accepted"),
        [(3, None, True), (8, None, False), (8, 10, True), (12, 10, False), (2, 0, False)],
        ids=["within-default", "past-default", "within-set", "past-set", "none"],
    )
    async def test_expired_token_at_the_api(
        self,
        http: httpx.AsyncClient,
        platform: Platform,
        tenant: TenantInfo,
        admin: User,
        monkeypatch: pytest.MonkeyPatch,
        expired_ago: int,
        leeway: int | None,
        accepted: bool,
    ) -> None:
        if leeway is not None:
            monkeypatch.setattr(platform.settings, "token_leeway", leeway)
        value = _issue(platform, tenant, subject=str(admin.id), ttl=-expired_ago)
        response = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {value}"})
        assert response.status_code == (200 if accepted else 401), response.text
        if not accepted:
            assert 'error="invalid_token"' in response.headers["www-authenticate"]

    def test_default_is_five_seconds(self) -> None:
        assert Settings.model_fields["token_leeway"].default == 5
        # Revocations are kept past every token's lifetime plus the longest leeway.
        assert Settings(environment="test", token_leeway=tokens.MAX_LEEWAY).token_leeway == 10

    @pytest.mark.parametrize("value", [-1, 11, 30], ids=["negative", "past-ten", "old-thirty"])
    def test_more_than_ten_seconds_is_refused(self, value: int) -> None:
        with pytest.raises(ValidationError, match="token_leeway"):
            Settings(environment="test", token_leeway=value)
