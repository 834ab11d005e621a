"""``cloudcx``: run the platform and administer it from the shell."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from sqlalchemy.exc import DBAPIError, IntegrityError

from cloudcx import demo as demo_data
from cloudcx import migrate
from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import Role
from cloudcx.accounts.service import AccountError
from cloudcx.api import postman
from cloudcx.audit import retention
from cloudcx.audit.service import Action, Actor, Target, record
from cloudcx.bootstrap import bootstrap
from cloudcx.cli_accounts import client_app, user_app
from cloudcx.cli_common import ask_password, fail, find_tenant, on_platform
from cloudcx.cli_help import Cli
from cloudcx.config import Settings
from cloudcx.oauth import keys
from cloudcx.oauth.tokens import MAX_ACCESS_TOKEN_TTL
from cloudcx.ops import preflight
from cloudcx.ops.logs import LogFormat
from cloudcx.platform import Platform
from cloudcx.tenancy import service as tenancy
from cloudcx.tenancy.service import DomainError

app = Cli(help="CloudCX customer-experience platform.", no_args_is_help=True)
db_app = Cli(help="Database schema.", no_args_is_help=True)
tenant_app = Cli(help="Tenants (companies) and their domains.", no_args_is_help=True)
keys_app = Cli(help="Token signing keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")
app.add_typer(client_app, name="client")
app.add_typer(keys_app, name="keys")
audit_app = Cli(help="Security audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
postman_app = Cli(help="The API as a Postman collection.", no_args_is_help=True)
app.add_typer(postman_app, name="postman")


class LogFormatChoice(StrEnum):
    json = "json"
    text = "text"


@contextmanager
def _explained(settings: Settings) -> Iterator[None]:
    """Failures to reach the database or Redis become a line or two for the
    operator (ops/preflight.py), not a traceback."""
    try:
        yield
    except preflight.OperatorError as exc:
        raise fail(str(exc)) from None
    except (DBAPIError, OSError) as exc:
        message = preflight.explain_database(exc, settings.db_url)
        if message is None:
            raise
        raise fail(message) from None


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
            raise fail(message or f"Cannot reach the database: {type(exc).__name__}.") from None
        if missing:
            raise fail(
                f"The database schema is not up to date ({len(missing)} pending migration(s)). "
                "Run `cloudcx db upgrade` first."
            )


def _bootstrap() -> None:
    try:
        result = on_platform(bootstrap)
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

    for domain in on_platform(run):
        typer.secho(
            f"Warning: tenant domain {domain!r} matches no request (requests are matched on "
            "the host alone, lower case, without port or trailing dot).",
            fg=typer.colors.YELLOW,
            err=True,
        )


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
    admin_password = ask_password(admin_password, prompt="Administrator's password")

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
        tenant_id = on_platform(run)
    except (DomainError, AccountError) as exc:
        hints = [h for h in map(preflight.domain_hint, domain) if h]
        raise fail(f"{exc} ({hints[0]})" if hints else str(exc)) from exc
    typer.echo(f"Tenant {tenant_id} created for {', '.join(domain)}.")


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

    typer.echo(f"New signing key {on_platform(run)} is active.")


@audit_app.command("purge")
def audit_purge() -> None:
    """Delete audit events older than CLOUDCX_AUDIT_RETENTION_DAYS now (servers do it hourly)."""

    async def run(platform: Platform) -> int:
        return await retention.purge(platform.sessionmaker, platform.settings.audit_retention_days)

    typer.echo(f"Deleted {on_platform(run)} audit events.")


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
    records, audit events and webhook deliveries past retention."""

    async def run(platform: Platform) -> dict[str, int] | None:
        try:
            return await platform.cleanup(wait=wait)
        finally:
            await platform.jobs.close()

    removed = on_platform(run)
    if removed is None:
        raise fail(f"Another process is still running the background jobs after {wait:g} s.")
    for name, count in removed.items():
        typer.echo(f"{name}: {count} removed")
    typer.echo(f"Removed {sum(removed.values())} rows in all.")


@app.command("worker")
def worker(
    once: Annotated[
        bool, typer.Option(help="Send what is due now, wait for the answers and exit.")
    ] = False,
) -> None:
    """Deliver webhooks from the outbox until stopped (SIGTERM or Ctrl-C); run any
    number, on any machines, beside the servers (PostgreSQL)."""
    settings = Settings()
    with _explained(settings):
        if not settings.is_sqlite:
            _probe(settings)
        _migrate_or_refuse(settings)

    async def run(platform: Platform) -> int:
        webhooks = platform.webhook_worker()
        try:
            if once:
                return await webhooks.run_once()
            loop = asyncio.get_running_loop()
            task = asyncio.ensure_future(webhooks.run())
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, task.cancel)
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return webhooks.sent
        finally:
            await webhooks.stop()

    typer.echo(f"Sent {on_platform(run)} webhook deliveries.")


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
            found = await find_tenant(session, tenant)
        return await demo_data.load(platform, found.id, password)

    try:
        result = on_platform(run)
    except (DomainError, AccountError) as exc:
        raise fail(str(exc)) from exc
    if not result.loaded:
        typer.echo("The tenant already has contacts; demo data not loaded again.")
        return
    typer.echo(f"Demo data loaded into {tenant}. Agents: {', '.join(result.agents)}")
    if password is None:
        typer.secho(
            f"Demo agents' password (shown once): {result.password}", fg=typer.colors.YELLOW
        )


@postman_app.command("export")
def postman_export(
    domain: Annotated[
        str,
        typer.Option(
            help="A domain of the tenant (served over https; http for localhost and "
            "127.0.0.1) or its base URL, e.g. http://127.0.0.1:8000."
        ),
    ],
    output: Annotated[
        Path, typer.Option(file_okay=False, help="Directory to write the two files into.")
    ] = Path(),
) -> None:
    """Write the Postman collection and environment of the API, the tenant's URL filled in."""
    try:
        base_url = postman.base_url_for(domain)
    except ValueError as exc:
        raise fail(str(exc)) from None

    async def run(platform: Platform) -> dict[str, Any]:
        from cloudcx.app import create_app  # the routers, only to describe them

        async with platform.sessionmaker() as session:
            await find_tenant(session, urlsplit(base_url).hostname or "")
        return create_app(platform=platform).openapi()

    openapi = on_platform(run)
    output.mkdir(parents=True, exist_ok=True)
    for name, document in (
        (postman.COLLECTION_FILE, postman.collection(openapi, base_url)),
        (postman.ENVIRONMENT_FILE, postman.environment(base_url)),
    ):
        (output / name).write_bytes(postman.dumps(document))
        typer.echo(f"Wrote {output / name}")
    typer.echo(f"Import both into Postman; base_url is {base_url}.")
