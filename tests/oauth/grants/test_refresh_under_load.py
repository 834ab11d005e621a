"""Refresh grants side by side, with more requests than pooled connections.

A request that holds a pooled connection must never wait for something that
itself waits for a connection: the write gate (with the audit writer behind
it) or a cache lookup opening a second session. With a pool of two and a
dozen refreshes at once, such a cycle stalls every request until the pool's
timeout; in order, they all finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.app import create_app
from cloudcx.config import Settings
from cloudcx.db import create_engine
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from tests.helpers import password_token
from tests.oauth.flows import configure

PARALLEL = 12


@pytest.fixture
async def small_pool_app(settings: Settings) -> AsyncIterator[FastAPI]:
    engine = create_engine(settings.db_url, pool_size=1, max_overflow=1, pool_timeout=5)
    application = create_app(platform=Platform.build(settings, engine))
    async with application.router.lifespan_context(application):
        yield application


async def test_a_dozen_refreshes_on_two_connections_all_succeed(
    small_pool_app: FastAPI, db: AsyncSession, oauth_client: OAuthClient, admin: User
) -> None:
    client = await configure(db, oauth_client, grant_types=["password", "refresh_token"])
    transport = httpx.ASGITransport(app=small_pool_app, client=("203.0.113.9", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        issued = [
            await password_token(http, client.client_id, admin.email) for _ in range(PARALLEL)
        ]

        async def rotate(refresh_token: str) -> httpx.Response:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": client.client_id,
            }
            return await http.post("/oauth/token", data=form)

        platform: Platform = small_pool_app.state.platform
        answers = await asyncio.wait_for(
            asyncio.gather(*(rotate(t["refresh_token"]) for t in issued), platform.audit.flush()),
            timeout=4,  # under the pool timeout: a stall fails here, not by luck
        )
    statuses = [a.status_code for a in answers[:PARALLEL]]
    assert statuses == [200] * PARALLEL
