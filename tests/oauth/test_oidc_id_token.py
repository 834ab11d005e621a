"""OpenID Connect Core §2, §3.1.3: the ID token of the code flow and of refreshes."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User, WebSession
from cloudcx.db import utcnow
from cloudcx.oauth import id_tokens, keys
from cloudcx.oauth.models import OAuthClient, SigningKey
from cloudcx.platform import Platform
from tests.helpers import PASSWORD, csrf_from, login, password_token
from tests.oauth.flows import configure, exchange, get_code, refresh, tokens_for
from tests.oauth.oidc import OPENID, decode_id_token, expected_at_hash

pytestmark = pytest.mark.usefixtures("admin")


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    return await configure(db, oauth_client)


async def _session_of(db: AsyncSession, user: User) -> WebSession:
    query = select(WebSession).where(WebSession.user_id == user.id)
    found = (await db.scalars(query.execution_options(populate_existing=True))).one()
    return found


async def test_every_claim_of_the_code_flow_id_token(
    http: httpx.AsyncClient, db: AsyncSession, platform: Platform, client: OAuthClient, admin: User
) -> None:
    before = int(time.time())
    body = await tokens_for(http, client, admin.email, scope=OPENID, nonce="n-0S6_WzA2Mj")
    header = jwt.get_unverified_header(body["id_token"])
    assert header["typ"] == "JWT"
    assert header["alg"] == "RS256"
    assert header["kid"] in platform.keys.verification
    claims = decode_id_token(platform, body["id_token"], client.client_id)
    web_session = await _session_of(db, admin)
    assert claims["iss"] == "http://localhost"
    assert claims["sub"] == str(admin.id)
    # The same subject as the access token's: one identifier per user.
    access = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == access["sub"]
    assert claims["aud"] == client.client_id
    assert claims["azp"] == client.client_id
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + body["expires_in"]
    assert claims["auth_time"] == int(web_session.created_at.timestamp())
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["at_hash"] == expected_at_hash(body["access_token"])
    assert claims["sid"] == web_session.sid
    assert web_session.sid and len(web_session.sid) >= 32


async def test_nonce_is_absent_when_the_request_had_none(
    http: httpx.AsyncClient, platform: Platform, client: OAuthClient, admin: User
) -> None:
    body = await tokens_for(http, client, admin.email, scope="openid")
    claims = decode_id_token(platform, body["id_token"], client.client_id)
    assert "nonce" not in claims


async def test_nonce_survives_the_consent_form(
    http: httpx.AsyncClient, platform: Platform, client: OAuthClient, admin: User
) -> None:
    """The GET shows the page; the POST (Allow) must carry the nonce to the code."""
    await login(http, admin.email)
    page = await http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": client.client_id,
            "scope": "openid",
            "nonce": "carried-through",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        },
    )
    assert 'name="nonce" value="carried-through"' in page.text


async def test_no_id_token_without_openid(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    body = await tokens_for(http, client, admin.email, scope="profile email", nonce="x")
    assert "id_token" not in body


async def test_default_scope_is_not_an_openid_request(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    """Core §3.1.2.1: only a request asking for openid is an OpenID request."""
    assert "openid" in client.scopes
    body = await tokens_for(http, client, admin.email)
    assert "id_token" not in body
    assert "openid" not in body["scope"].split()


async def test_openid_must_be_allowed_to_the_client(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
) -> None:
    client = await configure(db, client, scopes=["profile", "tickets:read"])
    await login(http, admin.email)
    response = await http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": client.client_id,
            "scope": "openid profile",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        },
    )
    assert response.status_code == 302
    assert "error=invalid_scope" in response.headers["location"]


async def test_consent_page_words_for_openid_scopes(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    await login(http, admin.email)
    page = await http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": client.client_id,
            "scope": "openid email",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        },
    )
    assert "Sign you in with your CloudCX account" in page.text
    assert "See your email address" in page.text


async def test_refresh_returns_a_fresh_id_token_without_nonce(
    http: httpx.AsyncClient, platform: Platform, client: OAuthClient, admin: User
) -> None:
    first = await tokens_for(http, client, admin.email, scope=OPENID, nonce="only-once")
    claims = decode_id_token(platform, first["id_token"], client.client_id)
    response = await refresh(http, client, first["refresh_token"])
    assert response.status_code == 200, response.text
    body = response.json()
    again = decode_id_token(platform, body["id_token"], client.client_id)
    # §12.2: same iss, sub, aud, auth_time (and sid); no nonce; at_hash of the new token.
    for name in ("iss", "sub", "aud", "azp", "auth_time", "sid"):
        assert again[name] == claims[name], name
    assert "nonce" not in again
    assert again["at_hash"] == expected_at_hash(body["access_token"])
    assert body["id_token"] != first["id_token"]
    # The family keeps its sign-in through every rotation.
    third = (await refresh(http, client, body["refresh_token"])).json()
    assert decode_id_token(platform, third["id_token"], client.client_id)["sid"] == claims["sid"]


async def test_refresh_narrowed_without_openid_has_no_id_token(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    first = await tokens_for(http, client, admin.email, scope=OPENID)
    response = await refresh(http, client, first["refresh_token"], scope="profile")
    assert response.status_code == 200, response.text
    assert "id_token" not in response.json()


async def test_refresh_of_a_plain_oauth_family_has_no_id_token(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    first = await tokens_for(http, client, admin.email, scope="profile")
    body = (await refresh(http, client, first["refresh_token"])).json()
    assert "id_token" not in body


async def test_password_grant_issues_no_id_token(
    http: httpx.AsyncClient, client: OAuthClient, admin: User
) -> None:
    """OpenID Connect defines no password grant: there is no browser sign-in to describe."""
    body = await password_token(http, client.client_id, admin.email, scope="openid profile")
    assert "id_token" not in body
    follow = (await refresh(http, client, body["refresh_token"])).json()
    assert "id_token" not in follow


async def test_signing_in_again_keeps_sid_and_moves_auth_time(
    http: httpx.AsyncClient, db: AsyncSession, platform: Platform, client: OAuthClient, admin: User
) -> None:
    first = await tokens_for(http, client, admin.email, scope="openid")
    before = decode_id_token(platform, first["id_token"], client.client_id)
    web_session = await _session_of(db, admin)
    web_session.created_at = web_session.created_at.replace(year=2025)
    await db.commit()
    page = await http.get("/login", params={"reauth": "1"})
    assert page.status_code == 200
    signed = await http.post(
        "/login",
        data={"email": admin.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert signed.status_code == 303
    code = await get_code(http, client, scope="openid")
    after_body = (await exchange(http, client, code)).json()
    after = decode_id_token(platform, after_body["id_token"], client.client_id)
    assert after["sid"] == before["sid"]
    assert after["auth_time"] >= before["auth_time"]


async def test_id_token_sid_differs_between_browsers(
    app: object, http: httpx.AsyncClient, platform: Platform, client: OAuthClient, admin: User
) -> None:
    first = await tokens_for(http, client, admin.email, scope="openid")
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as other:
        second = await tokens_for(other, client, admin.email, scope="openid")
    sid_one = decode_id_token(platform, first["id_token"], client.client_id)["sid"]
    sid_two = decode_id_token(platform, second["id_token"], client.client_id)["sid"]
    assert sid_one != sid_two


async def _back_to_rs256(db: AsyncSession, platform: Platform) -> None:
    """The platform's keys as the other tests expect them: RS256 only."""
    await keys.rotate(db, platform.settings.resolved_secret_key, "RS256", max_token_ttl=3600)
    await db.execute(delete(SigningKey).where(SigningKey.alg != "RS256"))
    await db.commit()
    await platform.keys.refresh()


def test_at_hash_matches_the_spec_example() -> None:
    """Core §A.3 example: the access token and at_hash of the spec's own response."""
    token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
    assert id_tokens.at_hash(token, "RS256") == "77QmUPtjPfzWtF2AnpK9RQ"


async def test_id_tokens_are_rs256_when_access_tokens_are_es256(
    db: AsyncSession, platform: Platform
) -> None:
    """An RS256 key always exists beside the access-token key (Core §15.1)."""
    secret = platform.settings.resolved_secret_key
    await keys.rotate(db, secret, "ES256", max_token_ttl=3600)
    await db.commit()
    await platform.keys.refresh()
    try:
        assert platform.keys.signing is not None and platform.keys.signing.alg == "ES256"
        assert set(platform.keys.signers) == {"ES256", "RS256"}
        assert id_tokens.supported_algs(platform.keys) == ["RS256", "ES256"]
        value = id_tokens.issue(
            platform.keys,
            issuer="http://localhost",
            client_id="c",
            subject="s",
            sign_in=id_tokens.SignIn(auth_time=utcnow(), sid=None),
            ttl=60,
        )
        assert jwt.get_unverified_header(value)["alg"] == "RS256"
    finally:
        await _back_to_rs256(db, platform)
    assert id_tokens.supported_algs(platform.keys) == ["RS256"]


async def test_a_client_may_choose_es256_when_an_es256_key_exists(
    http: httpx.AsyncClient, db: AsyncSession, platform: Platform, client: OAuthClient, admin: User
) -> None:
    """OpenID Connect Registration §2 ``id_token_signed_response_alg``."""
    client = await configure(db, client, id_token_signed_response_alg="ES256")
    # Without an ES256 key the ID token stays RS256, as the metadata says.
    body = await tokens_for(http, client, admin.email, scope="openid")
    assert jwt.get_unverified_header(body["id_token"])["alg"] == "RS256"
    secret = platform.settings.resolved_secret_key
    await keys.rotate(db, secret, "ES256", max_token_ttl=3600)
    await db.commit()
    await platform.keys.refresh()
    try:
        body = await tokens_for(http, client, None, scope="openid", nonce="es")
        assert jwt.get_unverified_header(body["id_token"])["alg"] == "ES256"
        claims = decode_id_token(platform, body["id_token"], client.client_id)
        assert claims["nonce"] == "es"
        assert claims["at_hash"] == expected_at_hash(body["access_token"])
        meta = (await http.get("/.well-known/openid-configuration")).json()
        assert meta["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]
    finally:
        await _back_to_rs256(db, platform)
