"""Control Panel > Users: administrators add agents, change roles and deactivate."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import Role, User, WebSession
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from tests.helpers import PASSWORD, bearer, form_post, login, password_token
from tests.html_forms import find_form


async def test_admin_adds_an_agent_who_can_sign_in(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    await login(http, admin.email)
    response = await form_post(
        http,
        "/users/new",
        {"email": "grace@acme.example", "name": "Grace", "role": "agent", "password": PASSWORD},
    )
    assert response.status_code == 303
    http.cookies.clear()
    signed_in = await login(http, "grace@acme.example")
    assert signed_in.status_code == 303


async def test_create_errors(http: httpx.AsyncClient, admin: User) -> None:
    await login(http, admin.email)
    weak = await form_post(
        http, "/users/new", {"email": "g@acme.example", "role": "agent", "password": "short"}
    )
    assert weak.status_code == 422 and "at least 12" in weak.text
    taken = await form_post(
        http, "/users/new", {"email": admin.email, "role": "agent", "password": PASSWORD}
    )
    assert taken.status_code == 422 and "already exists" in taken.text
    look_alike = await form_post(
        http,
        "/users/new",
        {
            "email": "\uff41\uff44\uff4d\uff49\uff4e@acme.example",
            "role": "agent",
            "password": PASSWORD,
        },
    )
    assert look_alike.status_code == 422 and "already exists" in look_alike.text


async def test_change_role(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, agent: User
) -> None:
    await login(http, admin.email)
    asked = await form_post(http, "/users", {"role": "admin"}, f"/users/{agent.id}/role")
    assert asked.status_code == 200
    assert "Make “Agent” an administrator?" in asked.text
    await db.refresh(agent)
    assert agent.role is Role.AGENT  # not before it is confirmed
    form = find_form(asked.text, button="Change role")
    assert form is not None and dict(form.submission("Change role"))["role"] == "admin"
    response = await http.post(form.url("/users"), data=dict(form.submission("Change role")))
    assert response.status_code == 303
    await db.refresh(agent)
    assert agent.role is Role.ADMIN


async def test_deactivation_ends_sessions_and_tokens(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    admin: User,
    agent: User,
    oauth_client: OAuthClient,
) -> None:
    token = (await password_token(http, oauth_client.client_id, agent.email))["access_token"]
    await login(http, agent.email)
    http.cookies.clear()
    await login(http, admin.email)
    response = await form_post(http, "/users", {}, f"/users/{agent.id}/deactivate")
    assert response.status_code == 303
    assert (
        await db.scalar(
            select(func.count()).select_from(WebSession).where(WebSession.user_id == agent.id)
        )
        == 0
    )
    await platform.revocations.refresh()
    assert (await http.get("/api/v1/tickets", headers=bearer(token))).status_code == 401
    reactivated = await form_post(http, "/users", {}, f"/users/{agent.id}/activate")
    assert reactivated.status_code == 303


async def test_admin_cannot_deactivate_themselves(http: httpx.AsyncClient, admin: User) -> None:
    await login(http, admin.email)
    response = await form_post(http, "/users", {}, f"/users/{admin.id}/deactivate")
    assert response.status_code == 409
    assert "cannot deactivate yourself" in response.text


async def test_agents_cannot_manage_users(
    http: httpx.AsyncClient, admin: User, agent: User
) -> None:
    await login(http, agent.email)
    assert (await http.get("/users")).status_code == 403
    page = await http.get("/tickets")
    assert 'href="/users"' not in page.text
    from tests.helpers import csrf_from

    refused = await http.post(
        f"/users/{admin.id}/deactivate", data={"csrf_token": csrf_from(page.text)}
    )
    assert refused.status_code == 403
