"""Operator errors of ``cloudcx serve`` and ``cloudcx db upgrade``: a line or two, no traceback."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, select
from typer.testing import CliRunner, Result

from cloudcx import migrate, server
from cloudcx.cli import app
from cloudcx.config import Settings
from cloudcx.ops.health import Revisions
from cloudcx.platform import Platform
from cloudcx.tenancy.models import Tenant, TenantDomain
from tests.databases import throwaway_database
from tests.live_server import free_port

runner = CliRunner()
GOOD = "a-long-and-Good-passw0rd"
# Read at import: the ``env`` fixture clears every CLOUDCX_ variable.
TEST_DATABASE_URL = os.environ.get("CLOUDCX_TEST_DATABASE_URL", "")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CLOUDCX_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CLOUDCX_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CLOUDCX_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("CLOUDCX_ARGON2_MEMORY_KIB", "64")
    monkeypatch.setenv("CLOUDCX_BOOTSTRAP_ADMIN_PASSWORD", GOOD)
    # serve gets as far as starting uvicorn, no further
    monkeypatch.setattr(server, "run", lambda *a, **k: None)
    return tmp_path


@pytest.fixture
def postgres() -> str:
    """The PostgreSQL server of CLOUDCX_TEST_DATABASE_URL, as a URL without a database."""
    url = TEST_DATABASE_URL
    if not url.startswith("postgresql"):
        pytest.skip("CLOUDCX_TEST_DATABASE_URL does not name a PostgreSQL server")
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def refused(result: Result, *expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert 1 <= len(result.output.strip().splitlines()) <= 3, result.output
    for text_ in expected:
        assert text_ in result.output


COMMANDS = [["db", "upgrade"], ["serve", "--port", "1"]]
COMMAND_IDS = ["db-upgrade", "serve"]


@pytest.mark.parametrize("command", COMMANDS, ids=COMMAND_IDS)
def test_closed_postgresql_port(
    env: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    port = free_port()
    url = f"postgresql+asyncpg://postgres:hunter2-pw@127.0.0.1:{port}/cloudcx"
    monkeypatch.setenv("CLOUDCX_DATABASE_URL", url)
    result = runner.invoke(app, command)
    refused(result, f"Cannot reach the database server on 127.0.0.1:{port}", "PostgreSQL")
    assert "hunter2-pw" not in result.output


@pytest.mark.parametrize("command", COMMANDS, ids=COMMAND_IDS)
def test_missing_postgresql_database(
    env: Path, monkeypatch: pytest.MonkeyPatch, postgres: str, command: list[str]
) -> None:
    name = f"cx_ops_missing_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(
        "CLOUDCX_DATABASE_URL", make_url(postgres).set(database=name).render_as_string(False)
    )
    result = runner.invoke(app, command)
    refused(result, f"database {name!r} does not exist", "createdb", f'CREATE DATABASE "{name}"')


@pytest.mark.parametrize("command", COMMANDS, ids=COMMAND_IDS)
def test_wrong_postgresql_credentials(
    env: Path, monkeypatch: pytest.MonkeyPatch, postgres: str, command: list[str]
) -> None:
    url = make_url(postgres).set(username="cx_ops_no_such_role", password="wrong-pw-77")
    monkeypatch.setenv("CLOUDCX_DATABASE_URL", url.render_as_string(hide_password=False))
    result = runner.invoke(app, command)
    refused(result, "refused user 'cx_ops_no_such_role'", "CLOUDCX_DATABASE_URL")
    assert "wrong-pw-77" not in result.output


@pytest.fixture
def behind_database(postgres: str) -> Iterator[str]:
    """A fresh PostgreSQL database migrated to one revision short of head."""
    from alembic.script import ScriptDirectory

    with throwaway_database(postgres, "cx_ops_behind") as url:
        [head] = Revisions.of_code(url).heads
        previous = ScriptDirectory.from_config(migrate.alembic_config(url)).get_revision(head)
        migrate.upgrade(url, str(previous.down_revision))
        yield url


def test_serve_refuses_a_schema_behind_head(
    env: Path, monkeypatch: pytest.MonkeyPatch, behind_database: str
) -> None:
    monkeypatch.setenv("CLOUDCX_DATABASE_URL", behind_database)
    refused(runner.invoke(app, ["serve", "--port", "1"]), "Run `cloudcx db upgrade` first")
    # unless the operator asks for migrations at start
    monkeypatch.setenv("CLOUDCX_AUTO_MIGRATE", "true")
    result = runner.invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 0, result.output
    assert not asyncio.run(migrate.pending(behind_database))


def test_unreachable_redis(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("CLOUDCX_REDIS_URL", f"redis://:redis-pw-5@127.0.0.1:{port}/0")
    result = runner.invoke(app, ["serve", "--port", "1"])
    refused(result, f"Cannot reach Redis on 127.0.0.1:{port}", "CLOUDCX_REDIS_URL")
    assert "redis-pw-5" not in result.output


def test_unopenable_sqlite_file(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (env / "file").write_text("not a directory")
    monkeypatch.setenv("CLOUDCX_DATABASE_URL", f"sqlite+aiosqlite:///{env / 'file' / 'x.db'}")
    refused(runner.invoke(app, ["db", "upgrade"]), "Cannot reach the database", "cannot be opened")


@pytest.mark.parametrize(
    ("domain", "hint"),
    [
        ("https://cx.acme.example", "without http:// or https://"),
        ("cx.acme.example/help", "without a path"),
        ("cx.acme.example:8443", "without a port"),
    ],
    ids=["scheme", "path", "port"],
)
def test_tenant_create_says_why_a_domain_would_match_nothing(
    env: Path, domain: str, hint: str
) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(
        app,
        ["tenant", "create", "--name", "Acme", "--domain", domain,
         "--admin-email", "a@acme.example", "--admin-password", GOOD],
    )  # fmt: skip
    refused(result, "not a valid domain name", hint)


def test_serve_warns_of_stored_domains_no_request_matches(env: Path) -> None:
    assert runner.invoke(app, ["serve", "--port", "1"]).exit_code == 0  # first start

    async def store_by_hand() -> None:
        platform = Platform.build(Settings())
        async with platform.sessionmaker() as session:
            tenant = await session.scalar(select(Tenant))
            assert tenant is not None
            for domain in ("CX.Acme.Example", "cx.acme.example:8443", "fine.example"):
                session.add(TenantDomain(tenant_id=tenant.id, domain=domain))
            await session.commit()
        await platform.engine.dispose()

    asyncio.run(store_by_hand())
    result = runner.invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("Warning")]
    assert len(warnings) == 2
    assert "'CX.Acme.Example' matches no request" in warnings[0] + warnings[1]
    assert "'cx.acme.example:8443' matches no request" in warnings[0] + warnings[1]
