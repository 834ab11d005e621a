"""Users' grants to clients (the records behind consent and Connected apps)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.oauth import consents
from cloudcx.oauth.models import OAuthClient, OAuthConsent
from tests.helpers import PASSWORD


async def test_concurrent_sign_ins_record_one_grant(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, agent: User
) -> None:
    data = {
        "grant_type": "password",
        "username": agent.email,
        "password": PASSWORD,
        "client_id": oauth_client.client_id,
    }
    results = await asyncio.gather(*(http.post("/oauth/token", data=data) for _ in range(4)))
    assert [r.status_code for r in results] == [200] * 4
    count = await db.scalar(select(func.count()).select_from(OAuthConsent))
    assert count == 1


async def test_grant_widens_with_later_scopes(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, agent: User
) -> None:
    for scope in ("tickets:read", "contacts:read"):
        data = {
            "grant_type": "password",
            "username": agent.email,
            "password": PASSWORD,
            "client_id": oauth_client.client_id,
            "scope": scope,
        }
        assert (await http.post("/oauth/token", data=data)).status_code == 200
    consent = await db.scalar(select(OAuthConsent))
    assert consent is not None
    assert consent.scopes == ["contacts:read", "tickets:read"]
    assert consent.last_used_at is not None


def test_a_use_is_due_once_a_minute_per_user_and_client(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(consents.time, "monotonic", lambda: now[0])
    recent = consents.RecentUses()
    user, client, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert recent.due(user, client)
    assert not recent.due(user, client)
    assert recent.due(user, other)
    now[0] += 59
    assert not recent.due(user, client)
    now[0] += 2
    assert recent.due(user, client)


def test_recent_uses_stay_bounded() -> None:
    recent = consents.RecentUses(size=10)
    for _ in range(100):
        assert recent.due(uuid.uuid4(), uuid.uuid4())
    assert len(recent._at) <= 10


async def test_signing_in_again_within_a_minute_writes_nothing_unless_it_widens(
    http: httpx.AsyncClient, db: AsyncSession, oauth_client: OAuthClient, agent: User
) -> None:
    """A password grant marks the app used at most once a minute per process, as
    refreshes do; a wider grant, or one after the user removed the app, is written."""
    email, user_id, client_id = agent.email, agent.id, oauth_client.client_id

    async def sign_in(scope: str) -> None:
        data = {
            "grant_type": "password",
            "username": email,
            "password": PASSWORD,
            "client_id": client_id,
            "scope": scope,
        }
        assert (await http.post("/oauth/token", data=data)).status_code == 200

    async def stored() -> OAuthConsent:
        db.expire_all()
        consent = await db.scalar(select(OAuthConsent).where(OAuthConsent.user_id == user_id))
        assert consent is not None
        return consent

    await sign_in("tickets:read")
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    await db.execute(update(OAuthConsent).values(last_used_at=long_ago))
    await db.commit()
    await sign_in("tickets:read")
    assert (await stored()).last_used_at == long_ago  # covered, and used a moment ago
    await sign_in("contacts:read")
    widened = await stored()
    assert widened.scopes == ["contacts:read", "tickets:read"]
    assert widened.last_used_at is not None and widened.last_used_at > long_ago
    await db.execute(delete(OAuthConsent).where(OAuthConsent.user_id == user_id))
    await db.commit()
    await sign_in("tickets:read")
    assert (await stored()).scopes == ["tickets:read"]  # back in Connected apps
