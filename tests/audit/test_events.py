"""The events the existing features write, and that nothing secret gets into them."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.audit.models import AuditEvent
from cloudcx.audit.service import REDACTED, Action, Actor, clean, record
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo
from tests import helpers


async def events(db: AsyncSession, action: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.time, AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(await db.scalars(query))


def as_text(event: AuditEvent) -> str:
    return json.dumps({c.name: str(getattr(event, c.name)) for c in AuditEvent.__table__.c})


def test_clean_redacts_secret_looking_fields_at_any_depth() -> None:
    dirty: dict[str, Any] = {
        "password": "hunter2-hunter2",
        "client_secret": "s3cret",
        "nested": {"refresh_token": "rt", "code": "abc", "token_type": "Bearer"},
        "list": [{"Authorization": "Bearer x"}],
        "reason": "bad_credentials",
    }
    assert clean(dirty) == {
        "password": REDACTED,
        "client_secret": REDACTED,
        "nested": {"refresh_token": REDACTED, "code": REDACTED, "token_type": "Bearer"},
        "list": [{"Authorization": REDACTED}],
        "reason": "bad_credentials",
    }


def test_anonymous_actor_keeps_only_email_like_logins() -> None:
    """A password typed into the email field must not land in the log."""
    assert Actor.anonymous("someone@acme.example").label == "someone@acme.example"
    assert Actor.anonymous("my-password-typed-here").label == ""
    assert Actor.anonymous("p@ssw0rd with spaces!").label == ""
    assert Actor.anonymous("Tr0ub@dor&3").label == ""


async def test_record_is_written_with_the_callers_commit(
    db: AsyncSession, tenant: TenantInfo
) -> None:
    await record(db, tenant_id=tenant.id, action="api_key.created", actor=Actor.system())
    await db.rollback()
    assert await events(db) == []
    await record(db, tenant_id=tenant.id, action="api_key.created", actor=Actor.system())
    await db.commit()
    assert [e.action for e in await events(db)] == ["api_key.created"]


async def test_token_issued_and_refused(
    http: httpx.AsyncClient,
    db: AsyncSession,
    platform: Platform,
    admin: User,
    oauth_client: OAuthClient,
) -> None:
    await helpers.password_token(http, oauth_client.client_id, admin.email)
    await http.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": admin.email,
            "password": "wrong-password-value",
            "client_id": oauth_client.client_id,
        },
        headers={"User-Agent": "sync-bot/1.0"},
    )
    await http.post("/oauth/token", data={"grant_type": "password", "client_id": "nope"})
    # Token events are queued and written in batches, off the request path.
    await platform.audit.flush()
    issued, refused, unknown = await events(db)
    assert (issued.action, issued.actor_id, issued.target_id) == (
        Action.TOKEN_ISSUED,
        oauth_client.client_id,
        str(admin.id),
    )
    assert issued.details["grant_type"] == "password"
    assert (refused.action, refused.actor_id, refused.target_label) == (
        Action.TOKEN_REFUSED,
        oauth_client.client_id,
        admin.email,
    )
    assert refused.details == {
        "grant_type": "password",
        "reason": "invalid_grant",
        "cause": "bad_credentials",
        "status": 400,
        "count": 1,  # refusals are counted per minute (audit.aggregate)
        "first": refused.time.isoformat(),
        "last": refused.time.isoformat(),
    }
    assert (refused.ip, refused.user_agent) == ("203.0.113.7", "sync-bot/1.0")
    assert unknown.details["reason"] == "invalid_client"
    for event in (issued, refused, unknown):
        text = as_text(event)
        assert helpers.PASSWORD not in text and "wrong-password-value" not in text
        assert "eyJ" not in text  # no JWT


async def test_console_sign_in_success_failure_and_sign_out(
    http: httpx.AsyncClient, db: AsyncSession, platform: Platform, admin: User
) -> None:
    await helpers.login(http, admin.email, "not-the-password!")
    await helpers.login(http, admin.email)
    home = await http.get("/")
    await http.post("/logout", data={"csrf_token": helpers.csrf_from(home.text)})
    await platform.audit.flush()  # the failure was queued
    failure, success, signout = await events(db)
    assert failure.action == Action.SIGNIN_FAILURE
    assert failure.actor_label == admin.email
    when = failure.time.isoformat()
    assert failure.details == {
        "reason": "bad_credentials",
        "count": 1,
        "first": when,
        "last": when,
    }
    assert (success.action, success.actor_id) == (Action.SIGNIN_SUCCESS, str(admin.id))
    assert signout.action == Action.SIGNOUT
    assert "not-the-password!" not in as_text(failure)


async def test_oauth_client_created_edited_deleted(
    http: httpx.AsyncClient, db: AsyncSession, admin: User
) -> None:
    base = "/settings/security/oauth-clients"
    await helpers.login(http, admin.email)
    await helpers.form_post(http, f"{base}/new", {"client_name": "Zap", "description": "d"})
    client = (await db.scalars(select(OAuthClient))).one()
    edit = {
        "client_name": "Zap 2",
        "description": "d",
        "scopes": "tickets:read",
        "grant_types": "password",
    }
    await helpers.form_post(http, f"{base}/{client.id}/edit", {**edit, "is_enabled": "on"})
    # Enabled unticked: asked first, then confirmed.
    await helpers.form_post(http, f"{base}/{client.id}/edit", edit)
    await helpers.form_post(http, f"{base}/{client.id}/edit", {**edit, "confirmed": "yes"})
    await helpers.form_post(http, f"{base}/{client.id}/edit", {}, f"{base}/{client.id}/secret")
    await helpers.form_post(http, f"{base}/{client.id}/delete", {})
    changes = [e for e in await events(db) if e.action.startswith("client.")]
    assert [(e.action, e.target_id, e.actor_id) for e in changes] == [
        (Action.CLIENT_CREATED, client.client_id, str(admin.id)),
        (Action.CLIENT_UPDATED, client.client_id, str(admin.id)),
        (Action.CLIENT_DISABLED, client.client_id, str(admin.id)),
        (Action.CLIENT_SECRET_GENERATED, client.client_id, str(admin.id)),
        (Action.CLIENT_DELETED, client.client_id, str(admin.id)),
    ]
    assert all("secret" not in str(e.details).lower().replace("client_type", "") for e in changes)
    assert changes[1].target_label == "Zap 2"


async def test_refresh_token_reuse_and_revoked_access_are_recorded(
    http: httpx.AsyncClient, db: AsyncSession, admin: User, oauth_client: OAuthClient
) -> None:
    oauth_client.grant_types = ["password", "refresh_token"]
    await db.merge(oauth_client)
    await db.commit()
    first = await helpers.password_token(http, oauth_client.client_id, admin.email)
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": oauth_client.client_id,
    }
    assert (await http.post("/oauth/token", data=refresh)).status_code == 200
    reused = await http.post("/oauth/token", data=refresh)
    assert reused.json()["error"] == "invalid_grant"
    [reuse] = await events(db, Action.REFRESH_TOKEN_REUSE_DETECTED)
    assert (reuse.actor_type, reuse.actor_id) == ("client", oauth_client.client_id)
    assert reuse.target_id == str(admin.id)
    assert first["refresh_token"] not in as_text(reuse)

    await helpers.login(http, admin.email)
    apps = await http.get("/account/connected-apps")
    action = apps.text.split('action="/account/connected-apps/', 1)[1].split('"', 1)[0]
    url, token = f"/account/connected-apps/{action}", helpers.csrf_from(apps.text)
    asked = await http.post(url, data={"csrf_token": token})
    assert asked.status_code == 200  # the confirmation page: nothing revoked yet
    assert await events(db, Action.GRANT_REVOKED) == []
    response = await http.post(url, data={"csrf_token": token, "confirmed": "yes"})
    assert response.status_code == 303
    [revoked] = await events(db, Action.GRANT_REVOKED)
    assert (revoked.actor_id, revoked.target_id) == (str(admin.id), oauth_client.client_id)
