"""API keys: created in Global Settings > Security > API Key, used as ``Bearer cxk_…``."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import Role, User
from cloudcx.apikeys import service
from cloudcx.apikeys.models import ApiKey
from cloudcx.audit.models import AuditEvent
from cloudcx.core import secrets
from cloudcx.db import utcnow
from cloudcx.tenancy.service import TenantInfo
from tests.cxapi import assert_insufficient_scope, assert_problem, make_ticket
from tests.helpers import bearer, csrf_from, form_post, login

PAGE = "/settings/security/api-keys"
_KEY_RE = re.compile(r'id="api_key" type="text" value="(cxk_[^"]+)"')


async def create_in_console(
    http: httpx.AsyncClient, name: str, scopes: list[str], expires: str = "90"
) -> str:
    page = await http.get(f"{PAGE}/new")
    assert page.status_code == 200
    response = await http.post(
        f"{PAGE}/new",
        data={
            "csrf_token": csrf_from(page.text),
            "name": name,
            "scopes": scopes,
            "expires": expires,
        },
    )
    # POST-redirect-GET: the key is shown by the page the creation redirects to.
    assert response.status_code == 303, response.text
    shown = await http.get(response.headers["location"])
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    match = _KEY_RE.search(shown.text)
    assert match, "the key is shown once on the page after the redirect"
    return match.group(1)


async def test_key_created_in_the_control_panel_calls_the_api(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, admin: User
) -> None:
    await make_ticket(db, tenant, subject="Visible")
    await login(http, admin.email)
    key = await create_in_console(http, "Nightly export", ["tickets:read"])
    assert len(key) >= len("cxk_") + 43  # 256 bits
    stored = await db.scalar(select(ApiKey))
    assert stored is not None
    assert stored.secret_digest == secrets.digest(key)
    assert key not in (stored.prefix, stored.name)

    http.cookies.clear()
    response = await http.get("/api/v1/tickets", headers=bearer(key))
    assert response.status_code == 200, response.text
    assert [t["subject"] for t in response.json()["data"]] == ["Visible"]
    me = await http.get("/api/v1/me", headers=bearer(key))
    assert me.json()["user"]["email"] == admin.email

    await db.refresh(stored)
    assert stored.last_used_at is not None
    await login(http, admin.email)
    listing = await http.get(PAGE)
    assert "Nightly export" in listing.text
    assert stored.prefix in listing.text
    assert key not in listing.text


async def test_key_acts_within_its_scopes(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    created = await service.create_key(db, admin, name="ro", scopes=["tickets:read"])
    await db.commit()
    response = await http.post(
        "/api/v1/tickets", headers=bearer(created.secret), json={"subject": "x"}
    )
    assert_insufficient_scope(response, "tickets:write")


async def test_key_shrinks_with_its_owners_role(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    created = await service.create_key(db, admin, name="all", scopes=["users:read", "users:write"])
    admin.role = Role.AGENT
    await db.commit()
    response = await http.post("/api/v1/users", headers=bearer(created.secret), json={})
    assert_insufficient_scope(response, "users:write")


async def test_revoked_key_is_refused(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    await login(http, admin.email)
    key = await create_in_console(http, "temp", ["tickets:read"])
    stored = await db.scalar(select(ApiKey))
    assert stored is not None
    response = await form_post(http, f"{PAGE}/{stored.id}/revoke", {})
    assert response.status_code == 303
    http.cookies.clear()
    refused = await http.get("/api/v1/tickets", headers=bearer(key))
    assert_problem(refused, 401)
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


@pytest.mark.parametrize(
    "breakage",
    ["expired", "owner-deactivated", "unknown", "other-tenant-host"],
)
async def test_unusable_keys_are_refused(
    http: httpx.AsyncClient,
    db: AsyncSession,
    admin: User,
    other_tenant: TenantInfo,
    breakage: str,
) -> None:
    created = await service.create_key(db, admin, name="k", scopes=["tickets:read"])
    secret, host = created.secret, "localhost"
    if breakage == "expired":
        created.key.expires_at = utcnow() - timedelta(seconds=1)
    elif breakage == "owner-deactivated":
        admin.is_active = False
    elif breakage == "unknown":
        secret = "cxk_" + "A" * 43
    else:
        host = "globex.example"
    await db.commit()
    response = await http.get("/api/v1/tickets", headers={**bearer(secret), "Host": host})
    assert_problem(response, 401)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({"name": "", "scopes": ["tickets:read"]}, "Enter a name", id="no-name"),
        pytest.param({"name": "k", "scopes": []}, "Choose at least one scope", id="no-scope"),
        pytest.param(
            {"name": "k", "scopes": ["root"]}, "Choose at least one scope", id="bad-scope"
        ),
        pytest.param(
            {"name": "k", "scopes": ["tickets:read"], "expires": "7"},
            "Choose an expiry",
            id="bad-expiry",
        ),
    ],
)
async def test_console_form_errors(
    http: httpx.AsyncClient, admin: User, data: dict[str, object], field: str
) -> None:
    await login(http, admin.email)
    page = await http.get(f"{PAGE}/new")
    response = await http.post(
        f"{PAGE}/new", data={"csrf_token": csrf_from(page.text), "expires": "", **data}
    )
    assert response.status_code == 422
    assert field in response.text


async def test_agents_cannot_open_the_page(http: httpx.AsyncClient, agent: User) -> None:
    await login(http, agent.email)
    assert (await http.get(PAGE)).status_code == 403


async def test_key_of_another_tenant_cannot_be_revoked(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, other_tenant: TenantInfo
) -> None:
    await login(http, admin.email)
    foreign_admin = User(
        tenant_id=other_tenant.id,
        email="b@g.example",
        email_normalized="b@g.example",
        email_key="b@g.example",
        name="B",
        password_hash="x",
        role=Role.ADMIN,
    )
    db.add(foreign_admin)
    await db.flush()
    foreign = await service.create_key(db, foreign_admin, name="theirs", scopes=["tickets:read"])
    await db.commit()
    assert (await http.get(f"{PAGE}/{foreign.key.id}/revoke")).status_code == 404


async def test_deactivate_asks_then_refuses_until_reactivated(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    await login(http, admin.email)
    key = await create_in_console(http, "Pausable", ["tickets:read"])
    stored = await db.scalar(select(ApiKey))
    assert stored is not None
    listing = await http.get(PAGE)
    assert f'href="{PAGE}/{stored.id}/deactivate"' in listing.text
    asked = await http.get(f"{PAGE}/{stored.id}/deactivate")
    assert "Deactivate “Pausable”?" in asked.text
    assert (await http.get("/api/v1/tickets", headers=bearer(key))).status_code == 200
    done = await http.post(
        f"{PAGE}/{stored.id}/deactivate", data={"csrf_token": csrf_from(asked.text)}
    )
    assert done.status_code == 303
    listing = await http.get(done.headers["location"])
    assert "API key deactivated" in listing.text and ">Deactivated<" in listing.text
    assert_problem(await http.get("/api/v1/tickets", headers=bearer(key)), 401)

    asked = await http.get(f"{PAGE}/{stored.id}/reactivate")
    assert "Reactivate “Pausable”?" in asked.text
    await http.post(f"{PAGE}/{stored.id}/reactivate", data={"csrf_token": csrf_from(asked.text)})
    assert (await http.get("/api/v1/tickets", headers=bearer(key))).status_code == 200
    actions = (
        await db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like("api_key.%"))
            .order_by(AuditEvent.time, AuditEvent.id)
        )
    ).all()
    assert actions == ["api_key.created", "api_key.deactivated", "api_key.reactivated"]


async def test_a_revoked_key_cannot_be_reactivated(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    await login(http, admin.email)
    key = await create_in_console(http, "Gone", ["tickets:read"])
    stored = await db.scalar(select(ApiKey))
    assert stored is not None
    await form_post(http, f"{PAGE}/{stored.id}/revoke", {})
    assert (await http.get(f"{PAGE}/{stored.id}/reactivate")).status_code == 404
    home = await http.get(PAGE)
    refused = await http.post(
        f"{PAGE}/{stored.id}/reactivate", data={"csrf_token": csrf_from(home.text)}
    )
    assert refused.status_code == 404
    assert_problem(await http.get("/api/v1/tickets", headers=bearer(key)), 401)
