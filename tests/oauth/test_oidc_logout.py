"""OpenID Connect RP-Initiated Logout 1.0: the end_session_endpoint."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User, WebSession
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.helpers import csrf_from, login
from tests.oauth.flows import configure, tokens_for

pytestmark = pytest.mark.usefixtures("admin")

LOGOUT = "/oauth/logout"
AFTER = "https://app.example/signed-out"


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    return await configure(db, oauth_client, post_logout_redirect_uris=[AFTER])


async def _sessions(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(WebSession)) or 0)


async def _id_token(http: httpx.AsyncClient, client: OAuthClient, email: str | None) -> str:
    body = await tokens_for(http, client, email, scope="openid")
    value: str = body["id_token"]
    return value


def _redirect_query(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(AFTER)
    return parse_qs(urlsplit(location).query)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_hint_of_this_session_signs_out_at_once(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User, method: str
) -> None:
    hint = await _id_token(http, client, admin.email)
    params = {"id_token_hint": hint, "post_logout_redirect_uri": AFTER, "state": "s-1"}
    if method == "GET":
        response = await http.get(LOGOUT, params=params)
    else:
        response = await http.post(LOGOUT, data=params)
    assert _redirect_query(response) == {"state": ["s-1"]}
    assert await _sessions(db) == 0
    assert (await http.get("/account/security")).status_code == 303  # signed out


async def test_without_hint_the_user_confirms(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
) -> None:
    await login(http, admin.email)
    params = {"client_id": client.client_id, "post_logout_redirect_uri": AFTER, "state": "s-2"}
    page = await http.get(LOGOUT, params=params)
    assert page.status_code == 200
    assert "Sign out of Acme?" in page.text
    assert "Helpdesk Sync" in page.text
    assert "form-action 'self' https://app.example" in page.headers["content-security-policy"]
    assert await _sessions(db) == 1
    confirmed = await http.post(
        LOGOUT, data={**params, "confirmed": "yes", "csrf_token": csrf_from(page.text)}
    )
    assert _redirect_query(confirmed) == {"state": ["s-2"]}
    assert await _sessions(db) == 0


async def test_confirmation_without_csrf_token_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
) -> None:
    await login(http, admin.email)
    response = await http.post(
        LOGOUT, data={"client_id": client.client_id, "confirmed": "yes", "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert await _sessions(db) == 1


async def test_a_post_from_the_application_still_asks(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
) -> None:
    """A cross-site form POST without a hint of this session cannot sign anyone out."""
    await login(http, admin.email)
    response = await http.post(LOGOUT, data={"client_id": client.client_id})
    assert response.status_code == 200
    assert await _sessions(db) == 1


async def test_hint_of_another_session_asks_first(
    app: object, http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
) -> None:
    hint = await _id_token(http, client, admin.email)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as other:
        await login(other, admin.email)
        response = await other.get(LOGOUT, params={"id_token_hint": hint})
    assert response.status_code == 200
    assert "Sign out of Acme?" in response.text
    assert await _sessions(db) == 2


async def test_expired_hint_is_accepted(
    http: httpx.AsyncClient, db: AsyncSession, platform: Platform, client: OAuthClient, admin: User
) -> None:
    hint = await _id_token(http, client, admin.email)
    claims = jwt.decode(hint, options={"verify_signature": False})
    claims["exp"] = int(time.time()) - 3600
    signer = platform.keys.signers["RS256"]
    expired = jwt.encode(
        claims, signer.key, algorithm="RS256", headers={"kid": signer.kid, "typ": "JWT"}
    )
    response = await http.get(
        LOGOUT, params={"id_token_hint": expired, "post_logout_redirect_uri": AFTER}
    )
    assert _redirect_query(response) == {}
    assert await _sessions(db) == 0


async def test_no_redirect_uri_shows_the_signed_out_page(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
) -> None:
    hint = await _id_token(http, client, admin.email)
    response = await http.get(LOGOUT, params={"id_token_hint": hint, "state": "ignored"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?notice=signed_out"
    page = await http.get(response.headers["location"])
    assert "You have signed out." in page.text


async def test_signed_out_browser_is_sent_back_at_once(
    http: httpx.AsyncClient, client: OAuthClient
) -> None:
    response = await http.get(
        LOGOUT,
        params={"client_id": client.client_id, "post_logout_redirect_uri": AFTER, "state": "z"},
    )
    assert _redirect_query(response) == {"state": ["z"]}


def _forged_hint(platform: Platform, client: OAuthClient, admin: User) -> str:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = platform.keys.signers["RS256"].kid
    claims = {"iss": "http://localhost", "sub": str(admin.id), "aud": client.client_id}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


@pytest.mark.parametrize(
    "case",
    [
        "unregistered-redirect",
        "redirect-without-client",
        "forged-hint",
        "garbage-hint",
        "access-token-as-hint",
        "client-id-not-audience",
        "unknown-client",
        "repeated-parameter",
    ],
)
async def test_invalid_requests_show_an_error_and_keep_the_session(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    client: OAuthClient,
    admin: User,
    case: str,
) -> None:
    body = await tokens_for(http, client, admin.email, scope="openid")
    hint = body["id_token"]
    query: list[tuple[str, str]] = {
        "unregistered-redirect": [
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ],
        "redirect-without-client": [("post_logout_redirect_uri", AFTER)],
        "forged-hint": [("id_token_hint", _forged_hint(platform, client, admin))],
        "garbage-hint": [("id_token_hint", "a.b.c")],
        "access-token-as-hint": [("id_token_hint", body["access_token"])],
        "client-id-not-audience": [("id_token_hint", hint), ("client_id", "someone-else")],
        "unknown-client": [("client_id", "no-such-client")],
        "repeated-parameter": [("state", "a"), ("state", "b")],
    }[case]
    response = await http.get(LOGOUT, params=query)
    assert response.status_code == 400
    assert "This sign-out request is not valid" in response.text
    assert "location" not in response.headers
    assert await _sessions(db) == 1


async def test_hint_from_another_tenant_is_refused(
    http: httpx.AsyncClient,
    db: AsyncSession,
    client: OAuthClient,
    admin: User,
    other_tenant: TenantInfo,
) -> None:
    hint = await _id_token(http, client, admin.email)
    response = await http.get(
        LOGOUT, params={"id_token_hint": hint}, headers={"Host": "globex.example"}
    )
    assert response.status_code == 400


async def test_client_of_another_tenant_is_unknown(
    http: httpx.AsyncClient, client: OAuthClient, other_tenant: TenantInfo
) -> None:
    response = await http.get(
        LOGOUT,
        params={"client_id": client.client_id, "post_logout_redirect_uri": AFTER},
        headers={"Host": "globex.example"},
    )
    assert response.status_code == 400


async def test_session_from_before_sids_gets_no_sid_and_is_asked(
    http: httpx.AsyncClient, db: AsyncSession, platform: Platform, client: OAuthClient, admin: User
) -> None:
    """A browser session started before sids existed has none: its ID tokens carry no
    ``sid`` claim, so a hint can never match it without asking."""
    await login(http, admin.email)
    await db.execute(update(WebSession).values(sid=None))
    await db.commit()
    hint = await _id_token(http, client, None)
    assert "sid" not in jwt.decode(hint, options={"verify_signature": False})
    response = await http.get(LOGOUT, params={"id_token_hint": hint})
    assert response.status_code == 200
    assert "Sign out of Acme?" in response.text
    assert await _sessions(db) == 1


async def test_post_without_the_session_cookie_is_sent_on_as_a_get(
    app: object, http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
) -> None:
    """A cross-site form POST does not carry the SameSite=Lax cookie; the browser sends
    it on the GET this answers with, and that GET ends the session."""
    hint = await _id_token(http, client, admin.email)
    params = {"id_token_hint": hint, "post_logout_redirect_uri": AFTER, "state": "p"}
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as cross_site:
        posted = await cross_site.post(LOGOUT, data=params)
    assert posted.status_code == 303
    location = posted.headers["location"]
    assert location.startswith(LOGOUT + "?")
    assert await _sessions(db) == 1
    followed = await http.get(location)  # now with the cookie, as a top-level GET
    assert _redirect_query(followed) == {"state": ["p"]}
    assert await _sessions(db) == 0
