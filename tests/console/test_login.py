"""Control Panel sign-in and sign-out: sessions, cookies and CSRF."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User, WebSession
from cloudcx.config import Settings
from cloudcx.console.auth import BAD_LOGIN
from cloudcx.console.web import PRE_SESSION_COOKIE, SESSION_COOKIE
from cloudcx.platform import Platform
from tests.helpers import PASSWORD, csrf_from, login
from tests.password_hashes import (
    OTHER_COSTS,
    Cost,
    configured_cost,
    cost_of,
    store_hash,
    stored_hash,
)


async def test_sign_in_sets_a_hardened_session_cookie(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    response = await login(http, admin.email)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here; see the https test
    value = http.cookies[SESSION_COOKIE]
    stored = await db.scalar(select(WebSession.id_digest))
    assert stored is not None and value not in stored  # only the digest is kept
    home = await http.get("/")
    assert home.status_code == 200
    assert "Welcome, Admin" in home.text


async def test_cookie_is_secure_behind_https(
    http: httpx.AsyncClient, admin: User, app: object
) -> None:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="https://localhost") as client:
        response = await login(client, admin.email)
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert "Secure" in cookie
    assert response.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_cookies_are_expired_with_the_attributes_they_were_set_with(
    admin: User, app: object, scheme: str
) -> None:
    """Signing in expires the pre-session cookie, signing out the session cookie."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=f"{scheme}://localhost") as client:
        signed_in = await login(client, admin.email)
        home = await client.get("/")
        signed_out = await client.post("/logout", data={"csrf_token": csrf_from(home.text)})
    expired = [
        c
        for c in signed_in.headers.get_list("set-cookie")
        + signed_out.headers.get_list("set-cookie")
        if "Max-Age=0" in c
    ]
    assert {c.split("=", 1)[0] for c in expired} == {PRE_SESSION_COOKIE, SESSION_COOKIE}
    for cookie in expired:
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert ("Secure" in cookie) == (scheme == "https")


@pytest.mark.parametrize(
    ("email", "password"),
    [("admin@acme.example", "wrong-password-123"), ("nobody@acme.example", PASSWORD)],
    ids=["wrong-password", "unknown-email"],
)
async def test_failed_sign_in_has_one_generic_message(
    http: httpx.AsyncClient, admin: User, email: str, password: str
) -> None:
    response = await login(http, email, password)
    assert response.status_code == 400
    assert BAD_LOGIN in response.text
    assert SESSION_COOKIE not in http.cookies
    assert f'value="{email}"' in response.text  # the email is kept, the password is not


async def test_session_id_changes_at_sign_in(http: httpx.AsyncClient, admin: User) -> None:
    """A session id planted before sign-in (session fixation) is never adopted."""
    planted = "attacker-chosen-session-id-0123456789abcdef"
    http.cookies.set(SESSION_COOKIE, planted, domain="localhost.local")
    await login(http, admin.email)
    first = http.cookies[SESSION_COOKIE]
    assert first != planted
    home = await http.get("/")
    await http.post("/logout", data={"csrf_token": csrf_from(home.text)})
    await login(http, admin.email)
    assert http.cookies[SESSION_COOKIE] not in (planted, first)


@pytest.mark.parametrize(
    "token", [None, "", "forged", "0" * 64], ids=["missing", "empty", "forged", "wrong-length"]
)
async def test_sign_in_without_the_right_csrf_token_is_refused(
    http: httpx.AsyncClient, admin: User, token: str | None
) -> None:
    await http.get("/login")
    data = {"email": admin.email, "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = await http.post("/login", data=data)
    assert response.status_code == 403
    assert "The form has expired" in response.text
    assert SESSION_COOKIE not in http.cookies


async def test_csrf_token_from_another_browser_is_refused(
    http: httpx.AsyncClient, app: object, admin: User
) -> None:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as other:
        stolen = csrf_from((await other.get("/login")).text)
    await http.get("/login")
    response = await http.post(
        "/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": stolen}
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("next_value", "expected"),
    [
        ("/settings/security/oauth-clients", "/settings/security/oauth-clients"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
    ids=["same-site-path", "absolute-url", "protocol-relative", "backslash", "javascript"],
)
async def test_next_only_redirects_within_the_site(
    http: httpx.AsyncClient, admin: User, next_value: str, expected: str
) -> None:
    page = await http.get("/login", params={"next": next_value})
    response = await http.post(
        "/login",
        data={
            "email": admin.email,
            "password": PASSWORD,
            "csrf_token": csrf_from(page.text),
            "next": next_value,
        },
    )
    assert response.headers["location"] == expected


async def test_pages_need_a_session(http: httpx.AsyncClient, tenant: object) -> None:
    response = await http.get("/settings/security/oauth-clients")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fsettings%2Fsecurity%2Foauth-clients"


async def test_sign_out_ends_the_session_server_side(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    await login(http, admin.email)
    cookie = http.cookies[SESSION_COOKIE]
    home = await http.get("/")
    response = await http.post("/logout", data={"csrf_token": csrf_from(home.text)})
    assert response.status_code == 303
    assert await db.scalar(select(func.count()).select_from(WebSession)) == 0
    http.cookies.set(
        SESSION_COOKIE, cookie, domain="localhost.local"
    )  # replaying the old cookie does not work
    assert (await http.get("/")).status_code == 303


async def test_sign_out_requires_csrf(http: httpx.AsyncClient, admin: User) -> None:
    await login(http, admin.email)
    response = await http.post("/logout", data={})
    assert response.status_code == 403
    assert (await http.get("/")).status_code == 200


async def test_deactivated_user_loses_the_session(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    await login(http, admin.email)
    admin.is_active = False
    await db.merge(admin)
    await db.commit()
    assert (await http.get("/")).status_code == 303


async def test_session_of_another_tenant_is_not_valid_here(
    http: httpx.AsyncClient, admin: User, other_tenant: object
) -> None:
    await login(http, admin.email)
    response = await http.get("/", headers={"Host": "globex.example"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


@pytest.mark.parametrize("cost", OTHER_COSTS)
async def test_sign_in_rehashes_to_the_configured_cost(
    http: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    platform: Platform,
    admin: User,
    cost: Cost,
) -> None:
    old = await store_hash(db, admin, cost)
    response = await login(http, admin.email)
    assert response.status_code == 303
    rehashed = await stored_hash(db, admin)
    assert rehashed != old
    assert cost_of(rehashed) == configured_cost(settings)
    assert platform.passwords.verify(rehashed, PASSWORD)
    await http.post("/logout", data={"csrf_token": csrf_from((await http.get("/")).text)})
    assert (await login(http, admin.email)).status_code == 303
    assert await stored_hash(db, admin) == rehashed


@pytest.mark.parametrize("cost", OTHER_COSTS)
@pytest.mark.parametrize(
    ("password", "active"),
    [("wrong-password-123", True), (PASSWORD, False)],
    ids=["wrong-password", "inactive-user"],
)
async def test_failed_sign_in_never_rehashes(
    http: httpx.AsyncClient,
    db: AsyncSession,
    admin: User,
    cost: Cost,
    password: str,
    active: bool,
) -> None:
    old = await store_hash(db, admin, cost)
    await db.execute(update(User).where(User.id == admin.id).values(is_active=active))
    await db.commit()
    response = await login(http, admin.email, password)
    assert response.status_code == 400
    assert await stored_hash(db, admin) == old


async def test_a_fullwidth_spelling_signs_in_to_the_same_account(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    response = await login(http, "\uff41\uff44\uff4d\uff49\uff4e@acme.example")
    assert response.status_code == 303, response.text
    session = await db.scalar(select(WebSession))
    assert session is not None and session.user_id == admin.id
