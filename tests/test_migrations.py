"""Alembic: an empty database upgrades to head, and head matches the models."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from cloudcx import migrate
from cloudcx.db import create_engine
from cloudcx.models import metadata


def _diff(url: str) -> list[object]:
    async def run() -> list[object]:
        engine = create_engine(url)

        def compare(conn: Connection) -> list[object]:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, metadata))

        try:
            async with engine.connect() as conn:
                return await conn.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_sqlite_empty_to_head_matches_models(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'm.db'}"
    migrate.upgrade(url)
    assert asyncio.run(migrate.pending(url)) == []
    assert _diff(url) == []


def test_pending_reports_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    assert asyncio.run(migrate.pending(url)) != []


@pytest.mark.skipif(
    not os.environ.get("CLOUDCX_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="set CLOUDCX_TEST_DATABASE_URL to a PostgreSQL database to run",
)
def test_postgresql_empty_to_head_matches_models() -> None:
    """Runs in a throw-away database so the suite's own tables do not interfere."""
    base = os.environ["CLOUDCX_TEST_DATABASE_URL"]
    name = f"cloudcx_mig_{uuid.uuid4().hex[:8]}"

    async def ddl(statement: str) -> None:
        engine = create_engine(base, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(ddl(f'CREATE DATABASE "{name}"'))
    try:
        url = base.rsplit("/", 1)[0] + "/" + name
        migrate.upgrade(url)
        assert asyncio.run(migrate.pending(url)) == []
        assert _diff(url) == []
    finally:
        asyncio.run(ddl(f'DROP DATABASE "{name}" WITH (FORCE)'))
