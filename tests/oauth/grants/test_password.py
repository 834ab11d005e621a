"""RFC 6749 §4.3: the Resource Owner Password Credentials grant — the guide's flow."""

from __future__ import annotations

import httpx
import jwt
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import Role, User
from cloudcx.config import Settings
from cloudcx.oauth.grants.password import BAD_CREDENTIALS, CHANGE_PASSWORD_FIRST
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests.conftest import make_user
from tests.helpers import PASSWORD, password_form
from tests.password_hashes import (
    OTHER_COSTS,
    Cost,
    configured_cost,
    cost_of,
    store_hash,
    stored_hash,
)


def form(client: OAuthClient, **overrides: str | None) -> dict[str, str]:
    return password_form(**{"client_id": client.client_id, **overrides})


@pytest.mark.usefixtures("admin")
@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"email": None, "username": "admin@acme.example"},
        {"email": "admin@acme.example", "username": "admin@acme.example"},
        {"email": "ADMIN@Acme.Example"},
    ],
    ids=["guide-email", "rfc-username", "both-agreeing", "email-any-case"],
)
async def test_password_grant_issues_a_token(
    http: httpx.AsyncClient, oauth_client: OAuthClient, overrides: dict[str, str | None]
) -> None:
    response = await http.post("/oauth/token", data=form(oauth_client, **overrides))
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


@pytest.mark.usefixtures("admin")
@pytest.mark.parametrize(
    "overrides",
    [
        {"password": "wrong-password-123"},
        {"email": "nobody@acme.example"},
        {"password": PASSWORD.upper()},
        {"password": "x" * 1025},
    ],
    ids=["wrong-password", "unknown-email", "password-is-case-sensitive", "overlong-password"],
)
async def test_bad_credentials_are_one_generic_invalid_grant(
    http: httpx.AsyncClient, oauth_client: OAuthClient, overrides: dict[str, str | None]
) -> None:
    response = await http.post("/oauth/token", data=form(oauth_client, **overrides))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": BAD_CREDENTIALS}


async def test_inactive_user_gets_the_same_invalid_grant(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, admin: User
) -> None:
    admin.is_active = False
    await db.merge(admin)
    await db.commit()
    response = await http.post("/oauth/token", data=form(oauth_client))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": BAD_CREDENTIALS}


@pytest.mark.parametrize(
    ("password", "description"),
    [(PASSWORD, CHANGE_PASSWORD_FIRST), ("wrong-password-123", BAD_CREDENTIALS)],
    ids=["one-time-password-is-invalid-grant", "wrong-password-learns-nothing"],
)
async def test_a_password_to_change_gets_no_token(
    http: httpx.AsyncClient,
    db: AsyncSession,
    oauth_client: OAuthClient,
    admin: User,
    password: str,
    description: str,
) -> None:
    """A password an administrator set opens only the Control Panel page that
    replaces it (``accounts.admin.reset_password``); RFC 6749 §5.2 invalid_grant."""
    await db.execute(update(User).where(User.id == admin.id).values(must_change_password=True))
    await db.commit()
    response = await http.post("/oauth/token", data=form(oauth_client, password=password))
    assert response.status_code == 400
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {"error": "invalid_grant", "error_description": description}


async def test_user_of_another_tenant_is_unknown_here(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    oauth_client: OAuthClient,
    other_tenant: TenantInfo,
) -> None:
    """Same email and password, but the account lives at another tenant."""
    await make_user(db, platform, other_tenant, "admin@acme.example", Role.ADMIN)
    response = await http.post("/oauth/token", data=form(oauth_client))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.usefixtures("admin")
async def test_client_without_password_grant_is_unauthorized_client(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient
) -> None:
    oauth_client.grant_types = ["authorization_code"]
    await db.merge(oauth_client)
    await db.commit()
    response = await http.post("/oauth/token", data=form(oauth_client))
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


class TestScope:
    """RFC 6749 §3.3 and DESIGN.md §4: requested ∩ client's ∩ the user's role."""

    @pytest.mark.usefixtures("admin")
    @pytest.mark.parametrize(
        "scope",
        ["tickets:delete-everything", "tickets:read admin", "TICKETS:READ"],
        ids=["unknown-scope", "one-unknown-among-known", "scopes-are-case-sensitive"],
    )
    async def test_unknown_scope_is_invalid_scope(
        self, http: httpx.AsyncClient, oauth_client: OAuthClient, scope: str
    ) -> None:
        response = await http.post("/oauth/token", data=form(oauth_client, scope=scope))
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_scope"

    @pytest.mark.usefixtures("admin")
    async def test_scope_the_client_may_not_request_is_invalid_scope(
        self, http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient
    ) -> None:
        oauth_client.scopes = ["tickets:read"]
        await db.merge(oauth_client)
        await db.commit()
        response = await http.post(
            "/oauth/token", data=form(oauth_client, scope="tickets:read contacts:read")
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_scope"

    @pytest.mark.usefixtures("admin")
    async def test_requested_scope_is_granted_exactly(
        self, http: httpx.AsyncClient, oauth_client: OAuthClient
    ) -> None:
        response = await http.post(
            "/oauth/token", data=form(oauth_client, scope="tickets:read  contacts:read")
        )
        assert response.json()["scope"] == "contacts:read tickets:read"

    @pytest.mark.usefixtures("agent")
    async def test_role_narrows_the_default_scope(
        self, http: httpx.AsyncClient, oauth_client: OAuthClient
    ) -> None:
        response = await http.post(
            "/oauth/token", data=form(oauth_client, email="agent@acme.example")
        )
        granted = response.json()["scope"].split()
        assert "tickets:read" in granted
        assert "users:write" not in granted
        assert "audit:read" not in granted

    @pytest.mark.usefixtures("agent")
    async def test_nothing_left_for_the_role_is_invalid_scope(
        self, http: httpx.AsyncClient, oauth_client: OAuthClient
    ) -> None:
        response = await http.post(
            "/oauth/token",
            data=form(oauth_client, email="agent@acme.example", scope="users:write"),
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_scope"


@pytest.mark.usefixtures("admin")
async def test_client_access_token_ttl_overrides_the_default(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient
) -> None:
    oauth_client.access_token_ttl = 300
    await db.merge(oauth_client)
    await db.commit()
    body = (await http.post("/oauth/token", data=form(oauth_client))).json()
    assert body["expires_in"] == 300
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300


class TestRehash:
    """A stored hash of another cost is brought to the configured one at sign-in."""

    @pytest.mark.parametrize("cost", OTHER_COSTS)
    async def test_sign_in_rehashes_to_the_configured_cost(
        self,
        http: httpx.AsyncClient,
        db: AsyncSession,
        settings: Settings,
        platform: Platform,
        oauth_client: OAuthClient,
        admin: User,
        cost: Cost,
    ) -> None:
        old = await store_hash(db, admin, cost)
        response = await http.post("/oauth/token", data=form(oauth_client))
        assert response.status_code == 200, response.text
        rehashed = await stored_hash(db, admin)
        assert rehashed != old
        assert cost_of(rehashed) == configured_cost(settings)
        assert platform.passwords.verify(rehashed, PASSWORD)
        again = await http.post("/oauth/token", data=form(oauth_client))
        assert again.status_code == 200, again.text
        assert await stored_hash(db, admin) == rehashed

    @pytest.mark.parametrize("cost", OTHER_COSTS)
    @pytest.mark.parametrize(
        ("password", "active"),
        [("wrong-password-123", True), (PASSWORD, False)],
        ids=["wrong-password", "inactive-user"],
    )
    async def test_failed_sign_in_never_rehashes(
        self,
        http: httpx.AsyncClient,
        db: AsyncSession,
        oauth_client: OAuthClient,
        admin: User,
        cost: Cost,
        password: str,
        active: bool,
    ) -> None:
        old = await store_hash(db, admin, cost)
        await db.execute(update(User).where(User.id == admin.id).values(is_active=active))
        await db.commit()
        response = await http.post("/oauth/token", data=form(oauth_client, password=password))
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"
        assert await stored_hash(db, admin) == old


@pytest.mark.parametrize(
    "login",
    ["\uff41\uff44\uff4d\uff49\uff4e@acme.example", "ADMIN@Acme.Example", " admin@acme.example "],
    ids=["fullwidth", "mixed-case", "spaces"],
)
async def test_a_look_alike_spelling_is_the_same_account(
    http: httpx.AsyncClient, oauth_client: OAuthClient, admin: User, login: str
) -> None:
    """Emails compare NFKC and case-folded (accounts.service.email_key)."""
    response = await http.post("/oauth/token", data=form(oauth_client, email=login))
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["uid"] == str(admin.id)
