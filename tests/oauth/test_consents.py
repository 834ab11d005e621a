"""Users' grants to clients (the records behind consent and Connected apps)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import func, select
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
