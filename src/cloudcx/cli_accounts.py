"""``cloudcx user`` and ``cloudcx client``: a tenant's people and OAuth clients."""

from __future__ import annotations

from typing import Annotated

import typer

from cloudcx.accounts import security
from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import Role, User
from cloudcx.accounts.service import AccountError
from cloudcx.audit.service import Action, Actor, Target, record
from cloudcx.cli_common import (
    Email,
    PasswordStdin,
    TenantDomain,
    ask_password,
    fail,
    find_tenant,
    on_platform,
)
from cloudcx.cli_help import Cli, table
from cloudcx.oauth import clients, revocation
from cloudcx.oauth.clients import ClientFormError
from cloudcx.oauth.models import OAuthClient
from cloudcx.platform import Platform
from cloudcx.tenancy.service import DomainError

user_app = Cli(help="Administrators and agents.", no_args_is_help=True)
client_app = Cli(help="OAuth clients.", no_args_is_help=True)


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
            found = await find_tenant(session, tenant)  # before asking for a password in vain
            user = await accounts.create_user(
                session,
                platform.passwords,
                tenant_id=found.id,
                email=email,
                password=ask_password(password, from_stdin=password_stdin),
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
        user_id = on_platform(run)
    except (DomainError, AccountError) as exc:
        raise fail(str(exc)) from exc
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
            found = await find_tenant(session, tenant)
            user = await accounts.find_by_email(session, found.id, email)
            if user is None:
                raise fail(f"No user with the email {email} at {tenant}.")
            password = ask_password(None, from_stdin=password_stdin, prompt="New password")
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
        user = on_platform(run)
    except AccountError as exc:
        raise fail(f"{exc} Nothing was changed.") from exc
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
            return await accounts.list_users(session, (await find_tenant(session, tenant)).id)

    rows = [
        [
            u.email,
            u.name,
            u.role.value,
            ("active" if u.is_active else "deactivated")
            + (", must change password" if u.must_change_password else ""),
            "on" if u.has_two_factor else "off",
        ]
        for u in on_platform(run)
    ]
    typer.echo(table(["EMAIL", "NAME", "ROLE", "STATUS", "TWO-FACTOR"], rows))


@client_app.command("list")
def client_list(tenant: TenantDomain) -> None:
    """List the OAuth clients of a tenant with their Client IDs."""

    async def run(platform: Platform) -> list[OAuthClient]:
        async with platform.sessionmaker() as session:
            return await clients.list_clients(session, (await find_tenant(session, tenant)).id)

    rows = [
        [
            c.client_id,
            c.client_name,
            c.client_type,
            "enabled" if c.is_enabled else "disabled",
            " ".join(c.grant_types),
        ]
        for c in on_platform(run)
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
            found = await find_tenant(session, tenant)
            client = await clients.create_client(
                session, tenant_id=found.id, client_name=name, description=description
            )
            await session.commit()
            return client.client_id

    try:
        typer.echo(on_platform(run))
    except (DomainError, ClientFormError) as exc:
        raise fail(str(exc)) from exc
