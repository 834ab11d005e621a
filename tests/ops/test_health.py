"""``/healthz`` (alive) and ``/readyz`` (database, migrations, Redis), and recovery."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudcx import migrate
from cloudcx.app import create_app
from cloudcx.config import Settings
from cloudcx.ops.health import CHECK_TIMEOUT, Revisions
from cloudcx.platform import Platform
from tests.live_server import free_port

# A probe must answer within this, whatever is down (the "about 2 s").
PROBE_BUDGET = 2.5


@asynccontextmanager
async def client_for(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("10.0.0.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.5") as client:
        yield client


def app_for(settings: Settings, **changes: Any) -> FastAPI:
    """An app whose platform was never started: nothing reached at build time."""
    return create_app(platform=Platform.build(settings.model_copy(update=changes)))


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("CLOUDCX_TEST_REDIS_URL")
    if not url:
        pytest.skip("CLOUDCX_TEST_REDIS_URL is not set")
    return url


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get("CLOUDCX_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("CLOUDCX_TEST_DATABASE_URL does not name a PostgreSQL server")
    return url


async def readyz(app: FastAPI) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    async with client_for(app) as client:
        response = await client.get("/readyz")
    body: dict[str, Any] = response.json()
    assert response.headers["cache-control"] == "no-store"
    return response.status_code, body, time.monotonic() - started


async def test_ready_when_everything_answers(app: FastAPI) -> None:
    status, body, _ = await readyz(app)
    assert status == 200, body
    assert body == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}


async def test_healthz_does_not_touch_the_database(settings: Settings) -> None:
    app = app_for(settings, database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x")
    async with client_for(app) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_unreachable_postgresql_is_not_ready_at_once(settings: Settings) -> None:
    url = f"postgresql+asyncpg://postgres:s3cret-pw@127.0.0.1:{free_port()}/cloudcx"
    status, body, took = await readyz(app_for(settings, database_url=url))
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("unreachable: ")
    assert body["checks"]["migrations"] == "unknown: database unreachable"
    assert "s3cret-pw" not in str(body)
    assert took < PROBE_BUDGET


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"database": "cx_ops_no_such_db"}, "unreachable: the database does not exist"),
        ({"username": "cx_ops_no_such_role"}, "unreachable: login refused"),
    ],
    ids=["missing-database", "unknown-role"],
)
async def test_postgresql_refusals_say_what_was_refused(
    settings: Settings, postgres_url: str, change: dict[str, str], reason: str
) -> None:
    url = make_url(postgres_url).set(**change).render_as_string(hide_password=False)
    status, body, _ = await readyz(app_for(settings, database_url=url))
    assert status == 503
    assert body["checks"]["database"] == reason


async def test_a_database_that_never_answers_times_out(settings: Settings) -> None:
    with silent_listener() as port:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/cloudcx"
        status, body, took = await readyz(app_for(settings, database_url=url))
    assert status == 503
    assert body["checks"]["database"] == f"unreachable: no answer within {CHECK_TIMEOUT:g} s"
    assert body["checks"]["migrations"] == "unknown: database unreachable"
    assert took < PROBE_BUDGET


@pytest.mark.parametrize("hung", [False, True], ids=["closed-port", "never-answers"])
async def test_unreachable_redis_is_not_ready(settings: Settings, hung: bool) -> None:
    with silent_listener() as port:
        redis_port = port if hung else free_port()
        app = app_for(settings, redis_url=f"redis://127.0.0.1:{redis_port}/0")
        status, body, took = await readyz(app)
    assert status == 503
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unreachable: ")
    assert took < PROBE_BUDGET


async def test_reachable_redis_is_ready(settings: Settings, redis_url: str) -> None:
    status, body, _ = await readyz(app_for(settings, redis_url=redis_url))
    assert status == 200, body
    assert body["checks"]["redis"] == "ok"


@asynccontextmanager
async def schema_at(engine: AsyncEngine, revision: str | None) -> AsyncIterator[None]:
    """Run with alembic_version saying ``revision`` (None: no row), then put head back."""
    async with engine.begin() as conn:
        saved = list(
            (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars()
        )
        await conn.execute(text("DELETE FROM alembic_version"))
        if revision is not None:
            await conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": revision})
    try:
        yield
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM alembic_version"))
            for value in saved:
                await conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": value})


async def test_a_schema_behind_head_is_not_ready_until_upgraded(
    app: FastAPI, engine: AsyncEngine, settings: Settings
) -> None:
    revisions = Revisions.of_code(settings.db_url)
    older = sorted(revisions.known - revisions.heads)[0]
    async with schema_at(engine, older):
        status, body, _ = await readyz(app)
        assert status == 503
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["migrations"].startswith(f"behind: database at {older}")
        assert "cloudcx db upgrade" in body["checks"]["migrations"]
    status, body, _ = await readyz(app)  # the same process sees the upgrade: no restart
    assert status == 200, body


async def test_a_database_never_migrated_is_not_ready(app: FastAPI, engine: AsyncEngine) -> None:
    async with schema_at(engine, None):
        status, body, _ = await readyz(app)
    assert status == 503
    assert body["checks"]["migrations"] == "no schema: run `cloudcx db upgrade`"


async def test_a_revision_newer_than_this_code_stays_ready(
    app: FastAPI, engine: AsyncEngine
) -> None:
    """A rolling upgrade: the next release migrated first; this one keeps serving."""
    async with schema_at(engine, "9999_from_a_newer_release"):
        status, body, _ = await readyz(app)
    assert status == 200, body


async def test_recovers_once_the_database_appears(settings: Settings, tmp_path: Path) -> None:
    """Not ready while the database cannot be opened; ready once it is there, same process."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'later' / 'cloudcx.db'}"
    app = app_for(settings, database_url=url)
    status, body, _ = await readyz(app)
    assert status == 503
    assert body["checks"]["database"].startswith("unreachable: ")
    await asyncio.to_thread(migrate.upgrade, url)
    status, body, _ = await readyz(app)
    assert status == 200, body
    await app.state.platform.engine.dispose()
