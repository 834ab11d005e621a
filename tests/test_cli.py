"""The ``cloudcx`` command line: first start, tenants, users, clients, keys."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.core import TyperGroup
from typer.testing import CliRunner

from cloudcx import migrate
from cloudcx.accounts.models import Role, User
from cloudcx.api import postman
from cloudcx.app import create_app
from cloudcx.audit.models import AuditEvent
from cloudcx.cli import _prepare, app
from cloudcx.config import Settings
from cloudcx.oauth.models import Revocation, SigningKey
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


# --- passwords asked for, never shown; user set-password; user list; client list ----------

OTHER = "an-Other-long-passw0rd-9"


def _user(email: str) -> User:
    [user] = [u for u in _users() if u.email == email]
    return user


def _verifies(user: User, password: str) -> bool:
    return Platform.build(Settings()).passwords.verify(user.password_hash, password)


def _audit_actions() -> list[tuple[str, str, str]]:
    async def run() -> list[tuple[str, str, str]]:
        platform = Platform.build(Settings())
        try:
            async with platform.sessionmaker() as session:
                rows = await session.scalars(select(AuditEvent).order_by(AuditEvent.id))
                return [(e.action, e.actor_type, e.target_label) for e in rows]
        finally:
            await platform.engine.dispose()

    return asyncio.run(run())


def _revoked_users() -> set[str]:
    async def run() -> set[str]:
        platform = Platform.build(Settings())
        try:
            async with platform.sessionmaker() as session:
                rows = await session.scalars(
                    select(Revocation.value).where(Revocation.kind == "user")
                )
                return set(rows)
        finally:
            await platform.engine.dispose()

    return asyncio.run(run())


@pytest.fixture
def started(env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A first start whose administrator password nobody wrote down."""
    _prepare(Settings())
    return env


TENANT_CREATE = ["tenant", "create", "--name"]
USER_CREATE = ["user", "create", "--tenant", "localhost", "--email"]
SET_PASSWORD = ["user", "set-password", "--tenant", "localhost", "--email", "admin@example.com"]


def test_a_missed_first_start_password_is_recovered_with_set_password(started: Path) -> None:
    result = runner.invoke(app, SET_PASSWORD, input=f"{GOOD}\n{GOOD}\n")
    assert result.exit_code == 0, result.output
    assert "New password: " in result.output and "Repeat it: " in result.output
    assert GOOD not in result.output  # typed unseen, never echoed
    assert "Password set for admin@example.com" in result.output
    admin = _user("admin@example.com")
    assert _verifies(admin, GOOD) and admin.must_change_password is False
    assert str(admin.id) in _revoked_users()  # its tokens end, as on a password change
    assert ("user.password_reset", "system", "admin@example.com") in _audit_actions()


def test_set_password_from_standard_input_and_must_change(started: Path) -> None:
    result = runner.invoke(
        app, [*SET_PASSWORD, "--password-stdin", "--must-change"], input=f"{GOOD}\n"
    )
    assert result.exit_code == 0, result.output
    assert GOOD not in result.output and "New password" not in result.output  # no prompt
    assert "at their next sign-in" in result.output
    admin = _user("admin@example.com")
    assert _verifies(admin, GOOD) and admin.must_change_password is True
    # Only the line break ends the password: spaces are part of it.
    result = runner.invoke(app, [*SET_PASSWORD, "--password-stdin"], input=f" {OTHER} \r\n")
    assert result.exit_code == 0, result.output
    admin = _user("admin@example.com")
    assert _verifies(admin, f" {OTHER} ") and admin.must_change_password is False


@pytest.mark.parametrize(
    ("args", "given", "message"),
    [
        (
            ["user", "set-password", "--tenant", "localhost", "--email", "nobody@example.com"],
            f"{GOOD}\n{GOOD}\n",
            "No user with the email nobody@example.com at localhost.",
        ),
        (
            ["user", "set-password", "--tenant", "acme.example", "--email", "admin@example.com"],
            f"{GOOD}\n{GOOD}\n",
            "No tenant is served at acme.example.",
        ),
        (SET_PASSWORD, f"{GOOD}\n{OTHER}\n", "The two passwords differ; nothing was changed."),
        (SET_PASSWORD, "short-one\nshort-one\n", "at least 12 characters"),
        (SET_PASSWORD, "password1234\npassword1234\n", "too common"),
        ([*SET_PASSWORD, "--password-stdin"], "", "No password on standard input."),
        ([*SET_PASSWORD, "--password-stdin"], "\n", "No password on standard input."),
    ],
    ids=[
        "unknown-user",
        "wrong-tenant",
        "mismatched-confirmation",
        "weak-password",
        "common-password",
        "empty-stdin",
        "blank-line-on-stdin",
    ],
)
def test_set_password_fails_clearly_and_changes_nothing(
    started: Path, args: list[str], given: str, message: str
) -> None:
    before = _user("admin@example.com").password_hash
    result = runner.invoke(app, args, input=given)
    assert result.exit_code == 1
    assert message in result.output
    for line in given.splitlines():
        assert not line or line not in result.output
    assert _user("admin@example.com").password_hash == before
    assert _revoked_users() == set()


def test_set_password_finds_users_of_the_named_tenant_only(started: Path) -> None:
    _second_tenant()
    before = _user("boss@globex.example").password_hash
    result = runner.invoke(
        app,
        ["user", "set-password", "--tenant", "localhost", "--email", "boss@globex.example"],
        input=f"{OTHER}\n{OTHER}\n",
    )
    assert result.exit_code == 1
    assert "No user with the email boss@globex.example at localhost." in result.output
    assert "New password" not in result.output  # refused before asking
    assert _user("boss@globex.example").password_hash == before


def test_user_create_asks_for_the_password_when_not_given(started: Path) -> None:
    create = ["user", "create", "--tenant", "localhost", "--email", "agent@example.com"]
    mismatched = runner.invoke(app, create, input=f"{GOOD}\n{OTHER}\n")
    assert mismatched.exit_code == 1 and "differ" in mismatched.output
    assert [u.email for u in _users()] == ["admin@example.com"]
    both = runner.invoke(app, [*create, "--password", GOOD, "--password-stdin"], input=GOOD)
    assert both.exit_code == 1 and "not both" in both.output
    result = runner.invoke(app, create, input=f"{GOOD}\n{GOOD}\n")
    assert result.exit_code == 0, result.output
    assert "Password: " in result.output and GOOD not in result.output
    assert _verifies(_user("agent@example.com"), GOOD)
    nowhere = runner.invoke(
        app, ["user", "create", "--tenant", "nowhere.example", "--email", "c@x.example"]
    )
    assert nowhere.exit_code == 1 and "No tenant is served at nowhere.example" in nowhere.output
    assert "Password" not in nowhere.output  # refused before asking
    piped = runner.invoke(
        app,
        ["user", "create", "--tenant", "localhost", "--email", "b@example.com", "--password-stdin"],
        input=f"{OTHER}\n",
    )
    assert piped.exit_code == 0, piped.output
    assert _verifies(_user("b@example.com"), OTHER)


def test_tenant_create_asks_for_the_administrators_password(env: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(
        app,
        [*TENANT_CREATE, "Acme", "--domain", "acme.localhost", "--admin-email", "a@acme.example"],
        input=f"{GOOD}\n{GOOD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Administrator's password: " in result.output and GOOD not in result.output
    assert _verifies(_user("a@acme.example"), GOOD)


def _second_tenant() -> None:
    admin = ["--admin-email", "boss@globex.example", "--admin-password", GOOD]
    result = runner.invoke(app, [*TENANT_CREATE, "Globex", "--domain", "globex.localhost", *admin])
    assert result.exit_code == 0, result.output


def test_user_list_shows_one_tenant(started: Path) -> None:
    _second_tenant()
    runner.invoke(
        app,
        [*USER_CREATE, "agent@example.com", "--name", "Grace Hopper", "--password-stdin"],
        input=f"{GOOD}\n",
    )
    runner.invoke(app, [*SET_PASSWORD, "--password-stdin", "--must-change"], input=f"{OTHER}\n")
    result = runner.invoke(app, ["user", "list", "--tenant", "127.0.0.1"])
    assert result.exit_code == 0, result.output
    header, *lines = result.output.splitlines()
    assert header.split() == ["EMAIL", "NAME", "ROLE", "STATUS", "TWO-FACTOR"]
    assert [line.split()[0] for line in lines] == ["admin@example.com", "agent@example.com"]
    columns = [re.split(r"\s{2,}", line) for line in lines]
    assert columns[1][1:] == ["Grace Hopper", "agent", "active", "off"]
    assert columns[0][2:] == ["admin", "active, must change password", "off"]
    assert "boss@globex.example" not in result.output
    unknown = runner.invoke(app, ["user", "list", "--tenant", "nowhere.example"])
    assert unknown.exit_code == 1 and "No tenant is served at nowhere.example" in unknown.output


def test_client_list_shows_one_tenant(started: Path) -> None:
    _second_tenant()
    empty = runner.invoke(app, ["client", "list", "--tenant", "localhost"])
    assert empty.exit_code == 0 and "No OAuth clients at localhost." in empty.output
    ours = runner.invoke(app, ["client", "create", "--tenant", "localhost", "--name", "Zapier"])
    theirs = runner.invoke(
        app, ["client", "create", "--tenant", "globex.localhost", "--name", "Globex app"]
    )
    result = runner.invoke(app, ["client", "list", "--tenant", "localhost"])
    assert result.exit_code == 0, result.output
    header, line = (re.split(r"\s{2,}", row) for row in result.output.splitlines())
    assert header == ["CLIENT ID", "CLIENT NAME", "TYPE", "STATUS", "GRANT TYPES"]
    assert line[:4] == [ours.output.strip(), "Zapier", "public", "enabled"]
    assert theirs.output.strip() not in result.output
    unknown = runner.invoke(app, ["client", "list", "--tenant", "nowhere.example"])
    assert unknown.exit_code == 1 and "No tenant is served at nowhere.example" in unknown.output


def _every_command(group: TyperGroup, path: list[str]) -> list[list[str]]:
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, TyperGroup):
            found += _every_command(command, [*path, name])
        else:
            found.append([*path, name])
    return found


TYPE_LABEL = re.compile(r"<(?:str|bool|int|float|list\[[^\]]*\]|[a-z ]+ range)>")


def test_help_shows_no_type_labels(env: Path) -> None:
    commands = _every_command(typer.main.get_group(app), [])
    assert ["user", "set-password"] in commands and ["client", "list"] in commands
    for path in commands:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        assert not TYPE_LABEL.search(result.output), (path, result.output)
    serve = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "200"}).output
    assert re.search(r"--workers\s+N \[x>=1\]", serve)
    assert re.search(r"--log-format\s+json\|text", serve)
    assert re.search(r"--reload\s+--no-reload\s+Restart", serve)  # a flag: no placeholder
    create = runner.invoke(app, ["tenant", "create", "--help"], env={"COLUMNS": "200"}).output
    assert re.search(r"--domain\s+DOMAIN\s+Domain serving", create)
    user = runner.invoke(app, ["user", "create", "--help"], env={"COLUMNS": "200"}).output
    assert re.search(r"--role\s+admin\|agent", user)
    assert re.search(r"--password-stdin\s+Read the password", user)
    missing = runner.invoke(app, ["user", "list"])
    assert missing.exit_code == 2 and "Missing option '--tenant'" in missing.output


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
