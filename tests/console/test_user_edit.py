"""Control Panel > Users > a user: rename, password reset, and the confirmation pages
of deactivate and reactivate; each for administrators of the same tenant only."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User, WebSession
from cloudcx.audit.models import AuditEvent
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests import helpers
from tests.conftest import make_user
from tests.oauth.flows import configure

ONE_TIME = "Temporary-Reset-passw0rd-7"


async def events(db: AsyncSession, action: str) -> list[AuditEvent]:
    return list(await db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


async def sessions_of(db: AsyncSession, user: User) -> int:
    count = await db.scalar(
        select(func.count()).select_from(WebSession).where(WebSession.user_id == user.id)
    )
    return int(count or 0)


async def reset(
    http: httpx.AsyncClient, user: User, password: str = ONE_TIME, confirm: str | None = None
) -> httpx.Response:
    return await helpers.form_post(
        http,
        f"/users/{user.id}/password",
        {"password": password, "confirm_password": password if confirm is None else confirm},
    )


# --- rename ---------------------------------------------------------------------------


async def test_admin_renames_a_user(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, agent: User
) -> None:
    await helpers.login(http, admin.email)
    listing = await http.get("/users")
    assert f'href="/users/{agent.id}/edit"' in listing.text
    page = await http.get(f"/users/{agent.id}/edit")
    assert page.status_code == 200 and 'value="Agent"' in page.text
    saved = await helpers.form_post(http, f"/users/{agent.id}/edit", {"name": "  Grace Hopper  "})
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/users/{agent.id}/edit?notice=renamed"
    shown = await http.get(saved.headers["location"])
    assert "Name saved." in shown.text and 'value="Grace Hopper"' in shown.text
    await db.refresh(agent)
    assert agent.name == "Grace Hopper"
    [event] = await events(db, "user.renamed")
    assert event.target_id == str(agent.id) and event.actor_id == str(admin.id)
    assert event.details == {"old": "Agent", "new": "Grace Hopper"}
    # The same name again changes nothing and records nothing.
    again = await helpers.form_post(http, f"/users/{agent.id}/edit", {"name": "Grace Hopper"})
    assert again.status_code == 303
    assert len(await events(db, "user.renamed")) == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Enter the name to show"), ("   ", "Enter the name to show"), ("x" * 201, "at most 200")],
    ids=["empty", "blank", "too-long"],
)
async def test_rename_refusals(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, agent: User, name: str, message: str
) -> None:
    await helpers.login(http, admin.email)
    response = await helpers.form_post(http, f"/users/{agent.id}/edit", {"name": name})
    assert response.status_code == 422
    assert message in response.text and 'aria-invalid="true"' in response.text
    await db.refresh(agent)
    assert agent.name == "Agent"
    assert await events(db, "user.renamed") == []


# --- password reset ---------------------------------------------------------------------


async def test_reset_sets_a_one_time_password_and_ends_access(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    admin: User,
    agent: User,
    oauth_client: OAuthClient,
) -> None:
    client = await configure(db, oauth_client)  # refresh tokens too
    issued = await helpers.password_token(http, client.client_id, agent.email)
    token, refresh = issued["access_token"], issued["refresh_token"]
    await helpers.login(http, agent.email)
    http.cookies.clear()
    assert await sessions_of(db, agent) == 1
    await helpers.login(http, admin.email)
    done = await reset(http, agent)
    assert done.status_code == 303
    assert done.headers["location"] == f"/users/{agent.id}/edit?notice=password_reset"
    assert "one-time password" in (await http.get(done.headers["location"])).text
    await db.refresh(agent)
    assert agent.must_change_password is True
    assert await sessions_of(db, agent) == 0
    await platform.revocations.refresh()
    assert (await http.get("/api/v1/me", headers=helpers.bearer(token))).status_code == 401
    refreshed = await http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "client_id": client.client_id,
        },
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    [event] = await events(db, "user.password_reset")
    assert event.target_id == str(agent.id) and event.actor_id == str(admin.id)
    assert ONE_TIME not in str(event.details) and ONE_TIME not in agent.password_hash
    assert "New password at next sign-in" in (await http.get("/users")).text
    http.cookies.clear()
    # The old password is gone; the one-time one signs in (to the forced change).
    assert (await helpers.login(http, agent.email)).status_code == 400
    assert (await helpers.login(http, agent.email, ONE_TIME)).status_code == 303


@pytest.mark.parametrize(
    ("password", "confirm", "field", "message"),
    [
        ("short", None, "password", "at least 12 characters"),
        ("password1234", None, "password", "too common"),
        ("agent@acme.example", None, "password", "must not be made of your email"),
        (ONE_TIME, ONE_TIME + "x", "confirm_password", "The two passwords differ."),
    ],
    ids=["too-short", "common", "the-email", "mismatched-confirmation"],
)
async def test_reset_refusals(
    http: httpx.AsyncClient,
    db: AsyncSession,
    admin: User,
    agent: User,
    password: str,
    confirm: str | None,
    field: str,
    message: str,
) -> None:
    await helpers.login(http, admin.email)
    response = await reset(http, agent, password, confirm)
    assert response.status_code == 422
    assert message in response.text
    assert f'aria-describedby="{field}_error"' in response.text
    await db.refresh(agent)
    assert agent.must_change_password is False
    assert await events(db, "user.password_reset") == []
    http.cookies.clear()
    assert (await helpers.login(http, agent.email)).status_code == 303  # unchanged


async def test_admin_cannot_reset_their_own_password_here(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    await helpers.login(http, admin.email)
    page = await http.get(f"/users/{admin.id}/password")
    assert page.status_code == 409 and "Account security page" in page.text
    csrf = helpers.csrf_from(page.text)
    posted = await http.post(
        f"/users/{admin.id}/password",
        data={"csrf_token": csrf, "password": ONE_TIME, "confirm_password": ONE_TIME},
    )
    assert posted.status_code == 409 and "Account security page" in posted.text
    await db.refresh(admin)
    assert admin.must_change_password is False
    assert (await http.get("/users")).status_code == 200  # still signed in


# --- deactivate / reactivate confirmation ----------------------------------------------


async def test_deactivate_and_reactivate_ask_first(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, agent: User
) -> None:
    await helpers.login(http, admin.email)
    listing = await http.get("/users")
    # The list links to the question; nothing there deactivates on one click.
    assert f'href="/users/{agent.id}/deactivate"' in listing.text
    assert f'action="/users/{agent.id}/deactivate"' not in listing.text
    question = await http.get(f"/users/{agent.id}/deactivate")
    assert question.status_code == 200
    assert "Deactivate “Agent”?" in question.text
    assert f'<form method="post" action="/users/{agent.id}/deactivate">' in question.text
    await db.refresh(agent)
    assert agent.is_active  # asking changed nothing
    done = await http.post(
        f"/users/{agent.id}/deactivate", data={"csrf_token": helpers.csrf_from(question.text)}
    )
    assert done.status_code == 303 and done.headers["location"] == "/users?notice=deactivated"
    await db.refresh(agent)
    assert not agent.is_active
    # Asking to deactivate again just goes back to the list.
    assert (await http.get(f"/users/{agent.id}/deactivate")).headers["location"] == "/users"

    question = await http.get(f"/users/{agent.id}/activate")
    assert question.status_code == 200 and "Reactivate “Agent”?" in question.text
    done = await http.post(
        f"/users/{agent.id}/activate", data={"csrf_token": helpers.csrf_from(question.text)}
    )
    assert done.status_code == 303 and done.headers["location"] == "/users?notice=activated"
    await db.refresh(agent)
    assert agent.is_active
    [off] = await events(db, "user.deactivated")
    [on] = await events(db, "user.reactivated")
    assert off.target_id == on.target_id == str(agent.id)
    assert on.actor_id == str(admin.id)
    assert (await http.get(f"/users/{agent.id}/activate")).headers["location"] == "/users"


async def test_deactivating_oneself_is_refused_on_the_question_page(
    http: httpx.AsyncClient, admin: User
) -> None:
    await helpers.login(http, admin.email)
    page = await http.get(f"/users/{admin.id}/deactivate")
    assert page.status_code == 409
    assert (
        "cannot deactivate yourself" in page.text
        and '<form method="post" action="/users/' not in page.text
    )


# --- who may: CSRF, role, tenant ----------------------------------------------------------

PAGES = ["edit", "password", "deactivate", "activate"]
FORMS = [
    ("edit", {"name": "Mallory"}),
    ("password", {"password": ONE_TIME, "confirm_password": ONE_TIME}),
    ("deactivate", {}),
    ("activate", {}),
]


@pytest.mark.parametrize(("action", "data"), FORMS, ids=[f[0] for f in FORMS])
async def test_forms_without_the_csrf_token_are_refused(
    http: httpx.AsyncClient,
    db: AsyncSession,
    admin: User,
    agent: User,
    action: str,
    data: dict[str, str],
) -> None:
    await helpers.login(http, admin.email)
    for token in (None, "forged"):
        sent = dict(data) if token is None else {**data, "csrf_token": token}
        response = await http.post(f"/users/{agent.id}/{action}", data=sent)
        assert response.status_code == 403 and "The form has expired" in response.text
    await db.refresh(agent)
    assert (agent.name, agent.is_active, agent.must_change_password) == ("Agent", True, False)


@pytest.mark.parametrize(("action", "data"), FORMS, ids=[f[0] for f in FORMS])
async def test_agents_get_403(
    http: httpx.AsyncClient,
    db: AsyncSession,
    admin: User,
    agent: User,
    action: str,
    data: dict[str, str],
) -> None:
    await helpers.login(http, agent.email)
    assert (await http.get(f"/users/{admin.id}/{action}")).status_code == 403
    csrf = helpers.csrf_from((await http.get("/account/security")).text)
    response = await http.post(f"/users/{admin.id}/{action}", data={**data, "csrf_token": csrf})
    assert response.status_code == 403
    await db.refresh(admin)
    assert (admin.name, admin.is_active, admin.must_change_password) == ("Admin", True, False)


@pytest.mark.parametrize(("action", "data"), FORMS, ids=[f[0] for f in FORMS])
async def test_another_tenants_user_is_not_found(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    other_tenant: TenantInfo,
    admin: User,
    action: str,
    data: dict[str, str],
) -> None:
    stranger = await make_user(db, platform, other_tenant, "x@globex.example", admin.role)
    await helpers.login(http, admin.email)
    assert (await http.get(f"/users/{stranger.id}/{action}")).status_code == 404
    assert (await http.get(f"/users/not-a-uuid/{action}")).status_code == 404
    csrf = helpers.csrf_from((await http.get("/users")).text)
    response = await http.post(f"/users/{stranger.id}/{action}", data={**data, "csrf_token": csrf})
    assert response.status_code == 404
    await db.refresh(stranger)
    assert (stranger.name, stranger.is_active, stranger.must_change_password) == ("X", True, False)
