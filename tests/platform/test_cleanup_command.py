"""``cloudcx cleanup``: the background jobs on demand, with what they removed."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cloudcx import migrate
from cloudcx.cli import app
from cloudcx.config import Settings
from cloudcx.db import utcnow
from cloudcx.jobs import lock_for
from cloudcx.oauth import revocation
from cloudcx.oauth.models import Revocation
from cloudcx.platform import Platform
from cloudcx.tenancy.service import create_tenant

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CLOUDCX_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CLOUDCX_VAR_DIR", str(tmp_path / "var"))
    settings = Settings()
    migrate.upgrade(settings.db_url)
    return settings


def seed(settings: Settings, expired: int, live: int) -> None:
    async def run() -> None:
        platform = Platform.build(settings)
        try:
            async with platform.sessionmaker() as session:
                tenant = await create_tenant(session, "Acme", ["cx.acme.example"])
                for i in range(expired + live):
                    await revocation.revoke(session, tenant.id, revocation.Kind.TOKEN, f"j{i}")
                await session.commit()
                rows = (await session.scalars(select(Revocation).order_by(Revocation.id))).all()
                for row in rows[:expired]:
                    row.expires_at = utcnow() - timedelta(minutes=1)
                await session.commit()
        finally:
            await platform.engine.dispose()

    asyncio.run(run())


def remaining(settings: Settings) -> int:
    async def run() -> int:
        platform = Platform.build(settings)
        try:
            async with platform.sessionmaker() as session:
                return int(await session.scalar(select(func.count(Revocation.id))) or 0)
        finally:
            await platform.engine.dispose()

    return asyncio.run(run())


def test_cleanup_removes_what_expired_and_says_so(env: Settings) -> None:
    seed(env, expired=3, live=2)
    result = runner.invoke(app, ["cleanup"])
    assert result.exit_code == 0, result.output
    assert "revocations: 3 removed" in result.output
    assert "audit events: 0 removed" in result.output
    assert "Removed 3 rows in all." in result.output
    assert remaining(env) == 2
    again = runner.invoke(app, ["cleanup"])
    assert "Removed 0 rows in all." in again.output


def test_cleanup_waits_for_no_longer_than_asked(env: Settings) -> None:
    """A server's run holds the run lock: the command says so instead of overlapping it."""
    held = lock_for(env.db_url, "jobs-run")

    async def hold_and_run() -> None:
        assert await held.acquire()
        try:
            result = await asyncio.to_thread(runner.invoke, app, ["cleanup", "--wait", "0.3"])
        finally:
            await held.release()
        assert result.exit_code == 1
        assert "still running the background jobs" in result.output

    asyncio.run(hold_and_run())
