"""Global Settings > Security > Audit Log: filters, pages, who may see it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.audit.service import Action, Actor, record
from cloudcx.tenancy.service import TenantInfo
from tests import helpers

URL = "/settings/security/audit-log"
ROW = re.compile(r"<tr>\s*<td[^>]*><time", re.MULTILINE)


def rows(html: str) -> int:
    return len(ROW.findall(html))


async def seed(db: AsyncSession, tenant: TenantInfo, count: int, **fields: object) -> None:
    for n in range(count):
        event = await record(
            db,
            tenant_id=tenant.id,
            action=str(fields.get("action", Action.KEY_ROTATED)),
            actor=Actor("user", f"id-{n}", str(fields.get("label", f"user{n}@acme.example"))),
        )
        if "time" in fields:
            event.time = fields["time"]  # type: ignore[assignment]
    await db.commit()


async def test_a_full_session_of_use_shows_in_the_log(http: httpx.AsyncClient, admin: User) -> None:
    """Sign in, create and edit a client, get a token, fail one, delete the client."""
    await helpers.login(http, admin.email, "typo-in-the-password")
    await helpers.login(http, admin.email)
    base = "/settings/security/oauth-clients"
    await helpers.form_post(http, f"{base}/new", {"client_name": "Zap", "description": ""})
    listing = await http.get(base)
    client_id = re.search(r"<code>([A-Za-z0-9_-]{20,})</code>", listing.text).group(1)  # type: ignore[union-attr]
    edit = re.search(r'href="(/settings/security/oauth-clients/[^"]+)/edit"', listing.text)
    assert edit
    edit_page = await http.get(f"{edit.group(1)}/edit")
    await http.post(
        f"{edit.group(1)}/edit",
        data={
            "csrf_token": helpers.csrf_from(edit_page.text),
            "client_name": "Zapier",
            "grant_types": ["password"],
            "scopes": ["tickets:read"],
            "is_enabled": "on",
        },
    )
    await helpers.password_token(http, client_id, admin.email)
    await http.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "email": admin.email,
            "password": "x" * 12,
            "client_id": client_id,
        },
    )
    await helpers.form_post(http, f"{edit.group(1)}/delete", {})
    page = await http.get(URL)
    assert page.status_code == 200
    shown = re.findall(r"<td[^>]*><code>([a-z_.]+)</code></td>", page.text)
    assert shown == [
        "client.deleted",
        "token.refused",
        "token.issued",
        "client.updated",
        "client.created",
        "signin.success",
        "signin.failure",
    ]
    assert "Audit Log" in page.text and 'aria-current="page">Audit Log' in page.text


async def test_agents_may_not_read_the_log(http: httpx.AsyncClient, agent: User) -> None:
    await helpers.login(http, agent.email)
    assert (await http.get(URL)).status_code == 403


async def test_anonymous_visitors_are_sent_to_sign_in(
    http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    response = await http.get(URL)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


async def test_filters_and_pages(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, admin: User
) -> None:
    await seed(db, tenant, 120)
    old = datetime.now(UTC) - timedelta(days=10)
    await seed(db, tenant, 3, action=Action.USER_DEACTIVATED, label="boss@acme.example", time=old)
    await helpers.login(http, admin.email)  # adds one signin.success
    first = await http.get(URL)
    assert rows(first.text) == 50
    older = re.search(
        r'href="(/settings/security/audit-log\?before=\d+_\d+)" rel="next"', first.text
    )
    assert older
    second = await http.get(older.group(1))
    assert rows(second.text) == 50 and "Newest" in second.text
    third = await http.get(
        re.search(r'href="([^"]+)" rel="next"', second.text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    )
    assert rows(third.text) == 24 and 'rel="next"' not in third.text

    by_action = await http.get(URL, params={"action": "user.deactivated"})
    assert rows(by_action.text) == 3
    by_actor = await http.get(URL, params={"actor": "BOSS@"})
    assert rows(by_actor.text) == 3
    day = old.date().isoformat()
    by_date = await http.get(URL, params={"since": day, "until": day})
    assert rows(by_date.text) == 3
    since_today = await http.get(URL, params={"since": datetime.now(UTC).date().isoformat()})
    assert rows(since_today.text) == 50
    bad = await http.get(URL, params={"since": "yesterday", "before": "x'--"})
    assert bad.status_code == 200 and "could not be read" in bad.text


@pytest.mark.parametrize(
    "actor", ["%", "_", "\\", "' OR 1=1 --"], ids=["percent", "underscore", "backslash", "sql"]
)
async def test_actor_filter_is_literal(
    http: httpx.AsyncClient, db: AsyncSession, tenant: TenantInfo, admin: User, actor: str
) -> None:
    await seed(db, tenant, 2)
    await helpers.login(http, admin.email)
    response = await http.get(URL, params={"actor": actor})
    assert response.status_code == 200 and rows(response.text) == 0


async def test_other_tenants_events_are_invisible(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, other_tenant: TenantInfo
) -> None:
    await seed(db, other_tenant, 5, label="spy@globex.example")
    await helpers.login(http, admin.email)
    page = await http.get(URL)
    assert "spy@globex.example" not in page.text
    assert rows(page.text) == 1  # only this tenant's own sign-in
