"""Expired codes, refresh tokens and revocations are purged; live ones are kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.db import utcnow
from cloudcx.oauth import housekeeping
from cloudcx.oauth.models import AuthorizationCode, OAuthClient, RefreshToken
from tests.oauth.flows import configure, get_code, tokens_for


@pytest.fixture
async def client(db: AsyncSession, oauth_client: OAuthClient) -> OAuthClient:
    return await configure(db, oauth_client)


async def count(db: AsyncSession, model: type[Any]) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def test_purge_removes_only_expired_rows(
    http: httpx.AsyncClient, db: AsyncSession, client: OAuthClient, admin: User
) -> None:
    await tokens_for(http, client, admin.email)
    await get_code(http, client, None)
    assert await count(db, RefreshToken) == 1
    assert await count(db, AuthorizationCode) == 2
    assert await housekeeping.purge(db) == 0
    long_ago = utcnow() - timedelta(days=2)
    await db.execute(update(RefreshToken).values(expires_at=long_ago))
    await db.execute(update(AuthorizationCode).values(expires_at=long_ago))
    await db.commit()
    assert await housekeeping.purge(db) == 3
    await db.commit()
    assert await count(db, RefreshToken) == 0
    assert await count(db, AuthorizationCode) == 0
