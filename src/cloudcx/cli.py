"""``cloudcx``: run the platform and administer it from the shell."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, TypeVar

import typer
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx import demo as demo_data
from cloudcx import migrate
from cloudcx.accounts import security
from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import Role, User
from cloudcx.accounts.service import AccountError
from cloudcx.audit import retention
from cloudcx.audit.service import Action, Actor, Target, record
from cloudcx.bootstrap import bootstrap
from cloudcx.cli_help import Cli, table
from cloudcx.cli_input import PasswordInputError, read_password
from cloudcx.config import Settings
from cloudcx.oauth import clients, keys, revocation
from cloudcx.oauth.clients import ClientFormError
from cloudcx.oauth.models import OAuthClient
from cloudcx.oauth.tokens import MAX_ACCESS_TOKEN_TTL
from cloudcx.ops import preflight
from cloudcx.ops.logs import LogFormat
from cloudcx.platform import Platform
from cloudcx.tenancy import service as tenancy
from cloudcx.tenancy.models import Tenant
from cloudcx.tenancy.service import DomainError

app = Cli(help="CloudCX customer-experience platform.", no_args_is_help=True)
db_app = Cli(help="Database schema.", no_args_is_help=True)
tenant_app = Cli(help="Tenants (companies) and their domains.", no_args_is_help=True)
user_app = Cli(help="Administrators and agents.", no_args_is_help=True)
client_app = Cli(help="OAuth clients.", no_args_is_help=True)
keys_app = Cli(help="Token signing keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")
app.add_typer(client_app, name="client")
app.add_typer(keys_app, name="keys")
audit_app = Cli(help="Security audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

T = TypeVar("T")


class LogFormatChoice(StrEnum):
    json = "json"
    text = "text"


def _run(fn: Callable[[Platform], Awaitable[T]]) -> T:
    async def main() -> T:
        platform = Platform.build(Settings())
        try:
            return await fn(platform)
        finally:
            await platform.publish_pending()  # the command's changes, to every server
            await platform.engine.dispose()

    return asyncio.run(main())


def _fail(message: str) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


@contextmanager
def _explained(settings: Settings) -> Iterator[None]:
    """Failures to reach the database or Redis become a line or two for the
    operator (ops/preflight.py), not a traceback."""
    try:
        yield
    except preflight.OperatorError as exc:
        raise _fail(str(exc)) from None
    except (DBAPIError, OSError) as exc:
        message = preflight.explain_database(exc, settings.db_url)
        if message is None:
            raise
        raise _fail(message) from None


def _probe(settings: Settings) -> None:
    asyncio.run(preflight.probe_database(settings.db_url))
    if settings.redis_url:
        asyncio.run(preflight.probe_redis(settings.redis_url))


def _prepare(settings: Settings) -> None:
    """Schema at head and first-start data, before any worker starts."""
    with _explained(settings):
        if not settings.is_sqlite:  # a missing SQLite file is created, not reached
            _probe(settings)
        elif settings.redis_url:
            asyncio.run(preflight.probe_redis(settings.redis_url))
        _migrate_or_refuse(settings)
        _bootstrap()
        _warn_unmatched_domains()


def _migrate_or_refuse(settings: Settings) -> None:
    if settings.should_auto_migrate:
        migrate.upgrade(settings.db_url)
    else:
        try:
            missing = asyncio.run(migrate.pending(settings.db_url))
        except (DBAPIError, OSError) as exc:
            message = preflight.explain_database(exc, settings.db_url)
            raise _fail(message or f"Cannot reach the database: {type(exc).__name__}.") from None
        if missing:
            raise _fail(
                f"The database schema is not up to date ({len(missing)} pending migration(s)). "
                "Run `cloudcx db upgrade` first."
            )


def _bootstrap() -> None:
    try:
        result = _run(bootstrap)
    except IntegrityError:  # another instance bootstrapped at the same moment
        return
    if result.created:
        typer.echo("Created the default tenant (domains localhost, 127.0.0.1).")
        typer.echo(f"Administrator: {result.admin_email}")
        if result.generated_password:
            typer.secho(
                f"Administrator password (shown once): {result.generated_password}",
                fg=typer.colors.YELLOW,
                bold=True,
            )


def _warn_unmatched_domains() -> None:
    async def run(platform: Platform) -> list[str]:
        return await preflight.unmatched_domains(platform.sessionmaker)

    for domain in _run(run):
        typer.secho(
            f"Warning: tenant domain {domain!r} matches no request (requests are matched on "
            "the host alone, lower case, without port or trailing dot).",
            fg=typer.colors.YELLOW,
            err=True,
        )


async def _tenant(session: AsyncSession, domain: str) -> Tenant:
    """The tenant served at ``domain``, or a clear failure for the shell."""
    found = await tenancy.find_by_domain(session, domain)
    if found is None:
        raise _fail(f"No tenant is served at {domain}.")
    return found


TenantDomain = Annotated[str, typer.Option(metavar="DOMAIN", help="A domain of the tenant.")]
Email = Annotated[str, typer.Option(help="The user's email.")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def _password(given: str | None, *, from_stdin: bool = False, prompt: str = "Password") -> str:
    try:
        return read_password(given, from_stdin=from_stdin, prompt=prompt)
    except PasswordInputError as exc:
        raise _fail(str(exc)) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="Interface to listen on.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, metavar="N", help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    demo: Annotated[bool, typer.Option(help="Load demo data into the default tenant.")] = False,
    log_format: Annotated[
        LogFormatChoice | None,
        typer.Option(help="One line per record as json or text (default: text on a terminal)."),
    ] = None,
) -> None:
    """Start the platform (applies migrations on the embedded SQLite default)."""
    from cloudcx import server  # uvicorn is loaded only to serve

    settings = Settings()
    _prepare(settings)
    if demo:
        load_demo(tenant="localhost", password=None)
    typer.echo(f"Control Panel: http://{host}:{port}/   API docs: http://{host}:{port}/docs")
    chosen: LogFormat | None = None
    if log_format is not None:
        chosen = "json" if log_format is LogFormatChoice.json else "text"
    server.run(settings, host=host, port=port, workers=workers, reload=reload, log_format=chosen)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    settings = Settings()
    with _explained(settings):
        if not settings.is_sqlite:
            asyncio.run(preflight.probe_database(settings.db_url))
        migrate.upgrade(settings.db_url)
    typer.echo("Database schema is up to date.")


@tenant_app.command("create")
def tenant_create(
    name: Annotated[str, typer.Option(help="Company name.")],
    domain: Annotated[list[str], typer.Option(help="Domain serving the tenant (repeatable).")],
    admin_email: Annotated[str, typer.Option(metavar="EMAIL", help="First administrator's email.")],
    admin_password: Annotated[
        str | None,
        typer.Option(
            metavar="PASSWORD",
            help="First administrator's password (asked for, unseen, when omitted).",
        ),
    ] = None,
) -> None:
    """Create a tenant with its first administrator."""
    admin_password = _password(admin_password, prompt="Administrator's password")

    async def run(platform: Platform) -> str:
        async with platform.sessionmaker() as session:
            tenant = await tenancy.create_tenant(session, name, domain)
            admin = await accounts.create_user(
                session,
                platform.passwords,
                tenant_id=tenant.id,
                email=admin_email,
                password=admin_password,
                role=Role.ADMIN,
            )
            await record(
                session,
                tenant_id=tenant.id,
                action=Action.USER_CREATED,
                actor=Actor.system("cli"),
                target=Target.of_user(admin),
                details={"role": Role.ADMIN.value},
            )
            await session.commit()
            return str(tenant.id)

    try:
        tenant_id = _run(run)
    except (DomainError, AccountError) as exc:
        hints = [h for h in map(preflight.domain_hint, domain) if h]
        raise _fail(f"{exc} ({hints[0]})" if hints else str(exc)) from exc
    typer.echo(f"Tenant {tenant_id} created for {', '.join(domain)}.")


@user_app.command("create")
def user_create(
    tenant: TenantDomain,
    email: Email,
    password: Annotated[
        str | None, typer.Option(help="Initial password (asked for, unseen, when omitted).")
    ] = None,
    password_stdin: PasswordStdin = False,
    role: Annotated[Role, typer.Option(case_sensitive=False)] = Role.AGENT,
    name: Annotated[str, typer.Option(help="Name shown in the Control Panel.")] = "",
) -> None:
    """Create an administrator or agent in a tenant."""

    async def run(platform: Platform) -> str:
        async with platform.sessionmaker() as session:
            found = await _tenant(session, tenant)  # before asking for a password in vain
            user = await accounts.create_user(
                session,
                platform.passwords,
                tenant_id=found.id,
                email=email,
                password=_password(password, from_stdin=password_stdin),
                role=role,
                name=name,
            )
            await record(
                session,
                tenant_id=found.id,
                action=Action.USER_CREATED,
                actor=Actor.system("cli"),
                target=Target.of_user(user),
                details={"role": role.value},
            )
            await session.commit()
            return str(user.id)

    try:
        user_id = _run(run)
    except (DomainError, AccountError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"User {user_id} ({role.value}) created.")


@user_app.command("set-password")
def user_set_password(
    tenant: TenantDomain,
    email: Email,
    password_stdin: PasswordStdin = False,
    must_change: Annotated[
        bool,
        typer.Option(
            "--must-change", help="The user must choose a new password at their next sign-in."
        ),
    ] = False,
) -> None:
    """Set a user's password, asked for unseen (or read from standard input).

    Ends the user's Control Panel sessions and revokes their access tokens, as a
    password change does. Recovers an administrator whose first-start password
    was missed."""

    async def run(platform: Platform) -> User:
        async with platform.sessionmaker() as session:
            found = await _tenant(session, tenant)
            user = await accounts.find_by_email(session, found.id, email)
            if user is None:
                raise _fail(f"No user with the email {email} at {tenant}.")
            password = _password(None, from_stdin=password_stdin, prompt="New password")
            accounts.check_password(password, user.email)
            await security.set_password(
                session, platform.passwords, user, password, must_change=must_change
            )
            await record(
                session,
                tenant_id=found.id,
                action=Action.USER_PASSWORD_RESET,
                actor=Actor.system("cli"),
                target=Target.of_user(user),
                details={"must_change": str(must_change).lower()},
            )
            await session.commit()
        await revocation.past_the_cut()  # tokens obtained from now on stay valid
        return user

    try:
        user = _run(run)
    except AccountError as exc:
        raise _fail(f"{exc} Nothing was changed.") from exc
    typer.echo(f"Password set for {user.email}; their sessions and tokens have ended.")
    if must_change:
        typer.echo("They must choose a new password at their next sign-in.")
    if not user.is_active:
        typer.secho(
            "The user is deactivated: reactivate them under Users to let them sign in.",
            fg=typer.colors.YELLOW,
        )


@user_app.command("list")
def user_list(tenant: TenantDomain) -> None:
    """List the administrators and agents of a tenant."""

    async def run(platform: Platform) -> list[User]:
        async with platform.sessionmaker() as session:
            return await accounts.list_users(session, (await _tenant(session, tenant)).id)

    rows = [
        [
            u.email,
            u.name,
            u.role.value,
            ("active" if u.is_active else "deactivated")
            + (", must change password" if u.must_change_password else ""),
            "on" if u.has_two_factor else "off",
        ]
        for u in _run(run)
    ]
    typer.echo(table(["EMAIL", "NAME", "ROLE", "STATUS", "TWO-FACTOR"], rows))


@client_app.command("list")
def client_list(tenant: TenantDomain) -> None:
    """List the OAuth clients of a tenant with their Client IDs."""

    async def run(platform: Platform) -> list[OAuthClient]:
        async with platform.sessionmaker() as session:
            return await clients.list_clients(session, (await _tenant(session, tenant)).id)

    rows = [
        [
            c.client_id,
            c.client_name,
            c.client_type,
            "enabled" if c.is_enabled else "disabled",
            " ".join(c.grant_types),
        ]
        for c in _run(run)
    ]
    if not rows:
        typer.echo(f"No OAuth clients at {tenant}.")
        return
    typer.echo(table(["CLIENT ID", "CLIENT NAME", "TYPE", "STATUS", "GRANT TYPES"], rows))


@client_app.command("create")
def client_create(
    tenant: TenantDomain,
    name: Annotated[str, typer.Option(help="Client name shown to users.")],
    description: Annotated[str, typer.Option(help="Shown to users beside the name.")] = "",
) -> None:
    """Create a public OAuth client allowed the password grant; prints its Client ID."""

    async def run(platform: Platform) -> str:
        async with platform.sessionmaker() as session:
            found = await _tenant(session, tenant)
            client = await clients.create_client(
                session, tenant_id=found.id, client_name=name, description=description
            )
            await session.commit()
            return client.client_id

    try:
        typer.echo(_run(run))
    except (DomainError, ClientFormError) as exc:
        raise _fail(str(exc)) from exc


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Sign new tokens with a fresh key; old public keys stay published until unused."""

    async def run(platform: Platform) -> str:
        settings = platform.settings
        async with platform.sessionmaker() as session:
            key = await keys.rotate(
                session,
                settings.resolved_secret_key,
                settings.signing_alg,
                max_token_ttl=MAX_ACCESS_TOKEN_TTL,
            )
            await session.commit()
            return key.kid

    typer.echo(f"New signing key {_run(run)} is active.")


@audit_app.command("purge")
def audit_purge() -> None:
    """Delete audit events older than CLOUDCX_AUDIT_RETENTION_DAYS now (servers do it hourly)."""

    async def run(platform: Platform) -> int:
        return await retention.purge(platform.sessionmaker, platform.settings.audit_retention_days)

    typer.echo(f"Deleted {_run(run)} audit events.")


@app.command("cleanup")
def cleanup(
    wait: Annotated[
        float,
        typer.Option(
            min=0, metavar="SECONDS", help="Seconds to wait for a run of a server to end."
        ),
    ] = 60.0,
) -> None:
    """Run the background jobs now.

    Removes expired codes, tokens, revocations, sessions, Idempotency-Key
    records and audit events past retention."""

    async def run(platform: Platform) -> dict[str, int] | None:
        try:
            return await platform.cleanup(wait=wait)
        finally:
            await platform.jobs.close()

    removed = _run(run)
    if removed is None:
        raise _fail(f"Another process is still running the background jobs after {wait:g} s.")
    for name, count in removed.items():
        typer.echo(f"{name}: {count} removed")
    typer.echo(f"Removed {sum(removed.values())} rows in all.")


@app.command("demo")
def load_demo(
    tenant: Annotated[
        str, typer.Option(metavar="DOMAIN", help="A domain of the tenant.")
    ] = "localhost",
    password: Annotated[
        str | None, typer.Option(help="Password of the demo agents (random when omitted).")
    ] = None,
) -> None:
    """Load demo agents, contacts and tickets with conversations into a tenant."""

    async def run(platform: Platform) -> demo_data.DemoResult:
        async with platform.sessionmaker() as session:
            found = await _tenant(session, tenant)
        return await demo_data.load(platform, found.id, password)

    try:
        result = _run(run)
    except (DomainError, AccountError) as exc:
        raise _fail(str(exc)) from exc
    if not result.loaded:
        typer.echo("The tenant already has contacts; demo data not loaded again.")
        return
    typer.echo(f"Demo data loaded into {tenant}. Agents: {', '.join(result.agents)}")
    if password is None:
        typer.secho(
            f"Demo agents' password (shown once): {result.password}", fg=typer.colors.YELLOW
        )
