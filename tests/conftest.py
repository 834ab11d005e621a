"""Shared fixtures: one app per test session, an empty database for every test.

The suite runs on SQLite by default and on PostgreSQL when
``CLOUDCX_TEST_DATABASE_URL`` is set (``.ci/run`` sets it).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from sqlalchemy import delete
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cloudcx import migrate
from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import Role, User
from cloudcx.app import create_app
from cloudcx.config import Settings
from cloudcx.db import create_engine
from cloudcx.models import SigningKey, metadata
from cloudcx.oauth import clients
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo, create_tenant, to_info
from tests import helpers

TEST_SECRET = "test-secret-key-for-the-cloudcx-suite-0123456789"


@pytest.fixture(scope="session")
def test_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("CLOUDCX_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def settings(test_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        environment="test",
        database_url=test_db_url,
        secret_key=TEST_SECRET,
        var_dir=Path(tmp_path_factory.mktemp("var")),
        # Cheap hashing keeps the suite fast; deployments use Settings' OWASP defaults.
        argon2_time_cost=1,
        argon2_memory_kib=64,
        argon2_parallelism=1,
        # Caches on as in production: tenants, clients and users made through the
        # platform's sessions are seen at once (the change feed).
        cache_ttl=5,
        redis_url=None,
        # The webhook tests drive their own workers (tests/webhooks).
        webhook_worker_in_server=False,
    )


def _stamp_head(conn: Connection, url: str) -> None:
    """The schema made from the models is the migrations' head: say so, as
    ``cloudcx db upgrade`` would, so that readiness is checked for real."""
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    MigrationContext.configure(conn).stamp(script, "heads")


@pytest_asyncio.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.db_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
        await conn.run_sync(_stamp_head, settings.db_url)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture(scope="session")
async def platform(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Platform]:
    platform = Platform.build(settings, engine)
    yield platform


@pytest_asyncio.fixture(scope="session")
async def app(platform: Platform) -> AsyncIterator[FastAPI]:
    application = create_app(platform=platform)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture(autouse=True)
async def _clean_database(engine: AsyncEngine, platform: Platform) -> AsyncIterator[None]:
    """Every test starts from empty tables (signing keys survive: they are platform-wide)."""
    yield
    await platform.audit.flush()  # nothing queued by this test is written into the next
    async with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name != SigningKey.__tablename__:
                await conn.execute(delete(table))


@pytest_asyncio.fixture(autouse=True)
async def _reset_throttle(platform: Platform) -> AsyncIterator[None]:
    """Sign-in failure counters never leak from one test into the next."""
    await platform.throttle.reset()
    yield
    await platform.throttle.reset()


@pytest_asyncio.fixture
async def db(platform: Platform) -> AsyncIterator[AsyncSession]:
    async with platform.sessionmaker() as session:
        yield session


@pytest_asyncio.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


@pytest_asyncio.fixture
async def tenant(db: AsyncSession) -> TenantInfo:
    created = await create_tenant(db, "Acme", ["localhost", "127.0.0.1"])
    await db.commit()
    return to_info(created)


@pytest_asyncio.fixture
async def other_tenant(db: AsyncSession) -> TenantInfo:
    created = await create_tenant(db, "Globex", ["globex.example"])
    await db.commit()
    return to_info(created)


async def make_user(
    db: AsyncSession, platform: Platform, tenant: TenantInfo, email: str, role: Role
) -> User:
    user = await accounts.create_user(
        db,
        platform.passwords,
        tenant_id=tenant.id,
        email=email,
        password=helpers.PASSWORD,
        role=role,
        name=email.split("@", maxsplit=1)[0].title(),
    )
    await db.commit()
    return user


@pytest_asyncio.fixture
async def admin(db: AsyncSession, platform: Platform, tenant: TenantInfo) -> User:
    return await make_user(db, platform, tenant, "admin@acme.example", Role.ADMIN)


@pytest_asyncio.fixture
async def agent(db: AsyncSession, platform: Platform, tenant: TenantInfo) -> User:
    return await make_user(db, platform, tenant, "agent@acme.example", Role.AGENT)


@pytest_asyncio.fixture
async def oauth_client(db: AsyncSession, tenant: TenantInfo) -> OAuthClient:
    client = await clients.create_client(
        db, tenant_id=tenant.id, client_name="Helpdesk Sync", description="Syncs tickets."
    )
    await db.commit()
    return client
