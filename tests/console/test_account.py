"""Account > Security: password change and sign out everywhere end access at once."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.config import Settings
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from tests import helpers
from tests.password_hashes import (
    OTHER_COSTS,
    Cost,
    configured_cost,
    cost_of,
    store_hash,
    stored_hash,
)

NEW_PASSWORD = "another-Long-passphrase-42"


def browser(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost")


async def change(
    http: httpx.AsyncClient, current: str, new: str, confirm: str | None = None
) -> httpx.Response:
    return await helpers.form_post(
        http,
        "/account/security",
        {"current_password": current, "new_password": new, "confirm_password": confirm or new},
        post_url="/account/password",
    )


async def test_password_change_ends_other_sessions_and_revokes_tokens(
    app: FastAPI,
    http: httpx.AsyncClient,
    platform: Platform,
    agent: User,
    oauth_client: OAuthClient,
) -> None:
    token = await helpers.password_token(http, oauth_client.client_id, agent.email)
    bearer = helpers.bearer(token["access_token"])
    assert (await http.get("/api/v1/me", headers=bearer)).status_code == 200
    async with browser(app) as elsewhere:
        await helpers.login(elsewhere, agent.email)
        assert (await elsewhere.get("/")).status_code == 200
        await helpers.login(http, agent.email)
        response = await change(http, helpers.PASSWORD, NEW_PASSWORD)
        assert response.status_code == 303
        assert (await http.get("/account/security")).status_code == 200  # this one stays
        assert (await elsewhere.get("/")).status_code == 303  # the other is gone
    await platform.revocations.refresh()
    assert (await http.get("/api/v1/me", headers=bearer)).status_code == 401
    old = await http.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "email": agent.email,
            "password": helpers.PASSWORD,
            "client_id": oauth_client.client_id,
        },
    )
    assert old.status_code == 400
    assert (await helpers.password_token(http, oauth_client.client_id, agent.email, NEW_PASSWORD))[
        "access_token"
    ]


async def test_password_change_refusals(http: httpx.AsyncClient, agent: User) -> None:
    await helpers.login(http, agent.email)
    wrong = await change(http, "not-my-password!", NEW_PASSWORD)
    assert wrong.status_code == 400 and "current password is incorrect" in wrong.text
    weak = await change(http, helpers.PASSWORD, "password1234")
    assert weak.status_code == 422 and "too common" in weak.text
    differ = await change(http, helpers.PASSWORD, NEW_PASSWORD, "something-else-entirely")
    assert differ.status_code == 422 and "differ" in differ.text
    assert NEW_PASSWORD not in differ.text


async def test_password_change_needs_csrf(http: httpx.AsyncClient, agent: User) -> None:
    await helpers.login(http, agent.email)
    response = await http.post(
        "/account/password",
        data={
            "current_password": helpers.PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert response.status_code == 403


async def test_guessing_the_current_password_is_throttled(
    http: httpx.AsyncClient, agent: User
) -> None:
    await helpers.login(http, agent.email)
    statuses = [
        (await change(http, f"guess-number-{n}", NEW_PASSWORD)).status_code for n in range(8)
    ]
    assert statuses[:5] == [400] * 5
    assert 429 in statuses[5:]


async def test_sign_out_everywhere(
    app: FastAPI,
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    admin: User,
    oauth_client: OAuthClient,
) -> None:
    oauth_client.grant_types = ["password", "refresh_token"]
    await db.merge(oauth_client)
    await db.commit()
    token = await helpers.password_token(http, oauth_client.client_id, admin.email)
    assert token["refresh_token"]
    async with browser(app) as elsewhere:
        await helpers.login(elsewhere, admin.email)
        await helpers.login(http, admin.email)
        response = await helpers.form_post(
            http, "/account/security", {}, post_url="/account/sign-out-everywhere"
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/login?notice=signed_out"
        assert (await http.get("/")).status_code == 303
        assert (await elsewhere.get("/")).status_code == 303
    await platform.revocations.refresh()
    me = await http.get("/api/v1/me", headers=helpers.bearer(token["access_token"]))
    assert me.status_code == 401
    refreshed = await http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": oauth_client.client_id,
        },
    )
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"


async def test_account_link_in_the_navigation(http: httpx.AsyncClient, agent: User) -> None:
    await helpers.login(http, agent.email)
    home = await http.get("/")
    assert 'href="/account/security"' in home.text


@pytest.mark.parametrize("cost", OTHER_COSTS)
async def test_password_change_hashes_only_the_new_password(
    http: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    platform: Platform,
    agent: User,
    cost: Cost,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The current password's hash is about to be replaced: rehashing it is waste."""
    await helpers.login(http, agent.email)
    await store_hash(db, agent, cost)
    hashed: list[str] = []
    hash_async = platform.passwords.hash_async

    async def counted(password: str) -> str:
        hashed.append(password)
        return await hash_async(password)

    monkeypatch.setattr(platform.passwords, "hash_async", counted)
    response = await change(http, helpers.PASSWORD, NEW_PASSWORD)
    assert response.status_code == 303
    assert hashed == [NEW_PASSWORD]
    stored = await stored_hash(db, agent)
    assert cost_of(stored) == configured_cost(settings)
    assert platform.passwords.verify(stored, NEW_PASSWORD)
