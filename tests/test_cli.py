"""The ``cloudcx`` command line: first start, tenants, users, clients, keys."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cloudcx import migrate
from cloudcx.accounts.models import Role, User
from cloudcx.api import postman
from cloudcx.app import create_app
from cloudcx.cli import _prepare, app
from cloudcx.config import Settings
from cloudcx.oauth.models import SigningKey
from cloudcx.platform import Platform

runner = CliRunner()
GOOD = "a-long-and-Good-passw0rd"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.startswith("CLOUDCX_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CLOUDCX_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CLOUDCX_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("CLOUDCX_ARGON2_MEMORY_KIB", "64")
    monkeypatch.setenv("CLOUDCX_ARGON2_PARALLELISM", "1")
    return tmp_path


def _users() -> list[User]:
    async def run() -> list[User]:
        platform = Platform.build(Settings())
        try:
            async with platform.sessionmaker() as session:
                return list(await session.scalars(select(User)))
        finally:
            await platform.engine.dispose()

    return asyncio.run(run())


def test_first_start_prints_a_generated_password_once(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _prepare(Settings())
    first = capsys.readouterr().out
    assert "Administrator: admin@example.com" in first
    assert "Administrator password (shown once): " in first
    password = first.split("(shown once): ", 1)[1].split()[0]
    assert len(password) >= 16
    secret = env / "var" / "secret_key"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert (env / "var" / "cloudcx.db").exists()

    _prepare(Settings())
    assert capsys.readouterr().out == ""  # later starts never print or reset
    [admin] = _users()
    assert admin.role is Role.ADMIN
    assert admin.password_hash.startswith("$argon2id$")
    assert password not in admin.password_hash


def test_bootstrap_password_from_the_environment(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLOUDCX_BOOTSTRAP_ADMIN_EMAIL", "owner@acme.example")
    monkeypatch.setenv("CLOUDCX_BOOTSTRAP_ADMIN_PASSWORD", GOOD)
    _prepare(Settings())
    out = capsys.readouterr().out
    assert "owner@acme.example" in out
    assert GOOD not in out and "shown once" not in out
    assert [u.email for u in _users()] == ["owner@acme.example"]


def test_tenant_user_and_client_commands(env: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(
        app,
        [
            "tenant",
            "create",
            "--name",
            "Acme",
            "--domain",
            "cx.acme.example",
            "--domain",
            "acme.localhost",
            "--admin-email",
            "a@acme.example",
            "--admin-password",
            GOOD,
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        [
            "user",
            "create",
            "--tenant",
            "acme.localhost",
            "--email",
            "agent@acme.example",
            "--password",
            GOOD,
            "--role",
            "agent",
        ],
    )
    assert result.exit_code == 0, result.output
    roles = {u.email: u.role for u in _users()}
    assert roles == {"a@acme.example": Role.ADMIN, "agent@acme.example": Role.AGENT}
    result = runner.invoke(
        app, ["client", "create", "--tenant", "cx.acme.example", "--name", "Zapier"]
    )
    assert result.exit_code == 0
    assert len(result.output.strip()) >= 22


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "user",
                "create",
                "--tenant",
                "nowhere.example",
                "--email",
                "x@y.example",
                "--password",
                GOOD,
            ],
            "No tenant is served at nowhere.example",
        ),
        (
            [
                "user",
                "create",
                "--tenant",
                "localhost",
                "--email",
                "not-an-email",
                "--password",
                GOOD,
            ],
            "valid email",
        ),
        (
            [
                "user",
                "create",
                "--tenant",
                "localhost",
                "--email",
                "x@y.example",
                "--password",
                "short",
            ],
            "at least 12 characters",
        ),
        (
            [
                "user",
                "create",
                "--tenant",
                "localhost",
                "--email",
                "ADMIN@example.com",
                "--password",
                GOOD,
            ],
            "already exists",
        ),
        (
            [
                "user",
                "create",
                "--tenant",
                "localhost",
                "--email",
                "\uff41\uff44\uff4d\uff49\uff4e@example.com",
                "--password",
                GOOD,
            ],
            "already exists",
        ),
        (
            [
                "tenant",
                "create",
                "--name",
                "Dup",
                "--domain",
                "LOCALHOST",
                "--admin-email",
                "a@b.example",
                "--admin-password",
                GOOD,
            ],
            "already belongs",
        ),
        (
            [
                "tenant",
                "create",
                "--name",
                "Bad",
                "--domain",
                "bad domain",
                "--admin-email",
                "a@b.example",
                "--admin-password",
                GOOD,
            ],
            "not a valid domain",
        ),
        (["client", "create", "--tenant", "localhost", "--name", " "], "Client name is required"),
    ],
    ids=[
        "unknown-tenant",
        "bad-email",
        "short-password",
        "duplicate-email-any-case",
        "duplicate-email-fullwidth",
        "taken-domain",
        "bad-domain",
        "blank-client-name",
    ],
)
def test_commands_fail_clearly(
    env: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.setenv("CLOUDCX_BOOTSTRAP_ADMIN_PASSWORD", GOOD)
    _prepare(Settings())
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert message in result.output


def test_keys_rotate_adds_a_key(env: Path) -> None:
    _prepare(Settings())
    result = runner.invoke(app, ["keys", "rotate"])
    assert result.exit_code == 0
    assert "is active" in result.output

    async def keys() -> list[SigningKey]:
        platform = Platform.build(Settings())
        try:
            async with platform.sessionmaker() as session:
                return list(await session.scalars(select(SigningKey)))
        finally:
            await platform.engine.dispose()

    rows = asyncio.run(keys())
    assert sorted(r.is_active for r in rows) == [False, True]
    retired = next(r for r in rows if not r.is_active)
    assert retired.expires_at is not None


# aiosqlite's worker thread may report the failed first connection after its loop closed.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_serve_refuses_an_out_of_date_schema_when_not_migrating(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDCX_AUTO_MIGRATE", "false")
    result = runner.invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 1
    assert "Cannot reach the database" in result.output  # no ./var yet
    (env / "var").mkdir()
    result = runner.invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 1
    assert "cloudcx db upgrade" in result.output
    url = Settings().db_url
    assert asyncio.run(migrate.pending(url))


def test_production_refuses_a_missing_secret(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDCX_ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="CLOUDCX_SECRET_KEY"):
        Settings()


def test_postman_export_writes_the_served_documents(env: Path) -> None:
    _prepare(Settings())
    out = env / "postman"
    result = runner.invoke(
        app, ["postman", "export", "--domain", "localhost:8000", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "base_url is http://localhost:8000" in result.output

    async def served() -> dict[str, object]:
        platform = Platform.build(Settings())
        try:
            return create_app(platform=platform).openapi()
        finally:
            await platform.engine.dispose()

    collection = out / postman.COLLECTION_FILE
    environment = out / postman.ENVIRONMENT_FILE
    assert f"Wrote {collection}" in result.output
    assert collection.read_bytes() == postman.dumps(
        postman.collection(asyncio.run(served()), "http://localhost:8000")
    )
    assert environment.read_bytes() == postman.dumps(postman.environment("http://localhost:8000"))
    # Into the working directory by default, for a tenant's own domain over https.
    assert runner.invoke(
        app, ["tenant", "create", "--name", "Acme", "--domain", "cx.acme.example",
              "--admin-email", "a@acme.example", "--admin-password", GOOD],
    ).exit_code == 0  # fmt: skip
    result = runner.invoke(app, ["postman", "export", "--domain", "cx.acme.example"])
    assert result.exit_code == 0, result.output
    variables = json.loads((env / postman.COLLECTION_FILE).read_text())["variable"]
    assert {v["key"]: v["value"] for v in variables}["base_url"] == "https://cx.acme.example"


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        pytest.param("nowhere.example", "No tenant is served at nowhere.example", id="no-tenant"),
        pytest.param("ftp://localhost", "must start with http:// or https://", id="not-http"),
        pytest.param("https://localhost/api", "is not a domain or a base URL", id="a-path"),
    ],
)
def test_postman_export_fails_clearly(env: Path, domain: str, message: str) -> None:
    _prepare(Settings())
    result = runner.invoke(app, ["postman", "export", "--domain", domain])
    assert result.exit_code == 1
    assert message in result.output
    assert not (env / postman.COLLECTION_FILE).exists()
