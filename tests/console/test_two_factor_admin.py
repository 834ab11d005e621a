"""Administrators and two-factor: the tenant's requirement, resetting a user, turning it off."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.audit.models import AuditEvent
from cloudcx.console.two_factor_account import REQUIRED, WRONG_PROOF
from cloudcx.console.web import SESSION_COOKIE
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests import helpers
from tests import two_factor as tf
from tests.conftest import make_user

SETTINGS = "/settings/security/two-factor"


async def _require(http: httpx.AsyncClient, who: str) -> httpx.Response:
    return await helpers.form_post(http, SETTINGS, {"required": who})


async def test_required_users_set_it_up_right_after_the_password(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, agent: User
) -> None:
    await helpers.login(http, admin.email)
    saved = await _require(http, "everyone")
    assert saved.status_code == 303
    assert "checked" in (await http.get(SETTINGS)).text
    await tf.sign_out(http)
    first = await helpers.login(http, agent.email)
    assert first.headers["location"] == "/login/two-factor/setup"
    assert SESSION_COOKIE not in http.cookies
    assert (await http.get("/tickets")).status_code == 303  # nothing else until enrolled
    page = await http.get("/login/two-factor/setup")
    assert "Your company requires two-factor sign-in" in page.text
    secret = tf.secret_on(page.text)
    wrong = await http.post(
        "/login/two-factor/setup", data={"csrf_token": helpers.csrf_from(page.text), "code": "1"}
    )
    assert wrong.status_code == 400
    done = await http.post(
        "/login/two-factor/setup",
        data={"csrf_token": helpers.csrf_from(page.text), "code": tf.code(secret)},
    )
    assert done.status_code == 200 and len(tf.recovery_codes_on(done.text)) == 10
    assert (await http.get("/")).status_code == 200
    # Required, so it cannot be turned off by the user.
    off = await helpers.form_post(
        http, "/account/two-factor", {"proof": helpers.PASSWORD}, "/account/two-factor/disable"
    )
    assert off.status_code == 409 and REQUIRED in off.text
    events = list(await db.scalars(select(AuditEvent.action)))
    assert "two_factor.policy_changed" in events and "two_factor.enabled" in events


async def test_admins_only_leaves_agents_alone(
    http: httpx.AsyncClient, admin: User, agent: User
) -> None:
    await helpers.login(http, admin.email)
    await _require(http, "admins")
    await tf.sign_out(http)
    assert (await helpers.login(http, agent.email)).headers["location"] == "/"
    await tf.sign_out(http)
    again = await helpers.login(http, admin.email)
    assert again.headers["location"] == "/login/two-factor/setup"


async def test_settings_refusals(http: httpx.AsyncClient, admin: User, agent: User) -> None:
    await helpers.login(http, admin.email)
    bad = await _require(http, "sometimes")
    assert bad.status_code == 422 and "Choose who must use" in bad.text
    no_csrf = await http.post(SETTINGS, data={"required": "everyone"})
    assert no_csrf.status_code == 403
    await tf.sign_out(http)
    await helpers.login(http, agent.email)
    assert (await http.get(SETTINGS)).status_code == 403


async def test_admin_resets_a_users_two_factor(
    http: httpx.AsyncClient, app: object, db: AsyncSession, admin: User, agent: User
) -> None:
    await helpers.login(http, agent.email)
    await tf.enrol(http)
    await tf.sign_out(http)
    await helpers.login(http, admin.email)
    users = await http.get("/users")
    assert f"/users/{agent.id}/two-factor/reset" in users.text
    confirm = await http.get(f"/users/{agent.id}/two-factor/reset")
    assert confirm.status_code == 200 and "Reset two-factor sign-in of" in confirm.text
    done = await helpers.form_post(http, f"/users/{agent.id}/two-factor/reset", {})
    assert done.status_code == 303 and done.headers["location"] == "/users?notice=two_factor_reset"
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "two_factor.reset"))
    assert event is not None and event.target_id == str(agent.id)
    await tf.sign_out(http)
    assert (await helpers.login(http, agent.email)).headers["location"] == "/"


async def test_reset_is_for_administrators_of_the_same_tenant(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    other_tenant: TenantInfo,
    admin: User,
    agent: User,
) -> None:
    stranger = await make_user(db, platform, other_tenant, "x@globex.example", admin.role)
    await helpers.login(http, admin.email)
    assert (await http.get(f"/users/{stranger.id}/two-factor/reset")).status_code == 404
    csrf = helpers.csrf_from((await http.get("/users")).text)
    posted = await http.post(f"/users/{stranger.id}/two-factor/reset", data={"csrf_token": csrf})
    assert posted.status_code == 404
    await tf.sign_out(http)
    await helpers.login(http, agent.email)
    assert (await http.get(f"/users/{admin.id}/two-factor/reset")).status_code == 403


async def test_turning_off_and_new_recovery_codes_need_a_code_or_the_password(
    http: httpx.AsyncClient, agent: User
) -> None:
    await helpers.login(http, agent.email)
    secret, old_codes = await tf.enrol(http)
    wrong = await helpers.form_post(
        http, "/account/two-factor", {"proof": "123456"}, "/account/two-factor/recovery-codes"
    )
    assert wrong.status_code == 400 and WRONG_PROOF in wrong.text
    fresh = await helpers.form_post(
        http,
        "/account/two-factor",
        {"proof": tf.code(secret, 1)},
        "/account/two-factor/recovery-codes",
    )
    new_codes = tf.recovery_codes_on(fresh.text)
    assert fresh.status_code == 200 and len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    bad_password = await helpers.form_post(
        http, "/account/two-factor", {"proof": "not-my-password"}, "/account/two-factor/disable"
    )
    assert bad_password.status_code == 400
    off = await helpers.form_post(
        http, "/account/two-factor", {"proof": helpers.PASSWORD}, "/account/two-factor/disable"
    )
    assert off.status_code == 303
    assert "Two-factor sign-in is off" in (await http.get(off.headers["location"])).text
    await tf.sign_out(http)
    assert (await helpers.login(http, agent.email)).headers["location"] == "/"
