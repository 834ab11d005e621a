"""Audit events of user administration and API keys (issue: every admin action is recorded)."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.apikeys.models import ApiKey
from cloudcx.audit.models import AuditEvent
from tests.apikeys.test_api_keys import PAGE, create_in_console
from tests.cxapi import Headers, admin_headers
from tests.helpers import PASSWORD, form_post, login

__all__ = ["admin_headers"]


async def actions(db: AsyncSession) -> list[tuple[str, str, str]]:
    rows = await db.scalars(select(AuditEvent).order_by(AuditEvent.id))
    return [
        (e.action, e.target_label, str(e.details))
        for e in rows
        if not e.action.startswith(("token.", "signin."))
    ]


async def test_user_created_role_changed_and_deactivated_through_the_api(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, admin_headers: Headers
) -> None:
    created = await http.post(
        "/api/v1/users",
        headers=admin_headers,
        json={"email": "new@acme.example", "password": PASSWORD, "role": "agent"},
    )
    assert created.status_code == 201, created.text
    url = f"/api/v1/users/{created.json()['id']}"
    assert (await http.patch(url, headers=admin_headers, json={"role": "admin"})).is_success
    assert (await http.patch(url, headers=admin_headers, json={"is_active": False})).is_success
    # Deactivating an inactive user again records nothing new.
    assert (await http.patch(url, headers=admin_headers, json={"is_active": False})).is_success
    assert await actions(db) == [
        ("user.created", "new@acme.example", "{'role': 'agent'}"),
        ("user.role_changed", "new@acme.example", "{'old': 'agent', 'new': 'admin'}"),
        ("user.deactivated", "new@acme.example", "{}"),
    ]
    for event in await db.scalars(select(AuditEvent)):
        assert PASSWORD not in str(event.details)


async def test_renaming_and_reactivating_through_the_api_are_audited(
    http: httpx.AsyncClient, db: AsyncSession, agent: User, admin_headers: Headers
) -> None:
    url = f"/api/v1/users/{agent.id}"
    assert (await http.patch(url, headers=admin_headers, json={"name": "Grace"})).is_success
    assert (await http.patch(url, headers=admin_headers, json={"name": "Grace"})).is_success
    assert (await http.patch(url, headers=admin_headers, json={"is_active": False})).is_success
    assert (await http.patch(url, headers=admin_headers, json={"is_active": True})).is_success
    assert (await http.patch(url, headers=admin_headers, json={"is_active": True})).is_success
    # The same name or state again records nothing.
    assert await actions(db) == [
        ("user.renamed", agent.email, "{'old': 'Agent', 'new': 'Grace'}"),
        ("user.deactivated", agent.email, "{}"),
        ("user.reactivated", agent.email, "{}"),
    ]


async def test_user_administration_in_the_control_panel(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, agent: User
) -> None:
    await login(http, admin.email)
    response = await form_post(
        http,
        "/users/new",
        {"email": "desk@acme.example", "name": "Desk", "role": "agent", "password": PASSWORD},
    )
    assert response.status_code == 303, response.text
    change = {"role": "admin", "confirmed": "yes"}
    await form_post(http, "/users", change, f"/users/{agent.id}/role")
    await form_post(http, "/users", {}, f"/users/{agent.id}/deactivate")
    assert [a[:2] for a in await actions(db)] == [
        ("user.created", "desk@acme.example"),
        ("user.role_changed", agent.email),
        ("user.deactivated", agent.email),
    ]


async def test_api_key_created_and_revoked(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    await login(http, admin.email)
    secret = await create_in_console(http, "Zapier key", ["tickets:read"])
    stored = await db.scalar(select(ApiKey))
    assert stored is not None
    await form_post(http, f"{PAGE}/{stored.id}/revoke", {})
    events = await actions(db)
    assert [e[:2] for e in events] == [
        ("api_key.created", "Zapier key"),
        ("api_key.revoked", "Zapier key"),
    ]
    assert all(secret not in e[2] for e in events)
