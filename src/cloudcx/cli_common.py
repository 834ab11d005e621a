"""What every ``cloudcx`` command needs: the platform for one command, a clear
failure, the tenant named on the command line, and a password asked for unseen."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.cli_input import PasswordInputError, read_password
from cloudcx.config import Settings
from cloudcx.platform import Platform
from cloudcx.tenancy import service as tenancy
from cloudcx.tenancy.models import Tenant

T = TypeVar("T")


def on_platform(fn: Callable[[Platform], Awaitable[T]]) -> T:
    """Run ``fn`` on a platform built for this command alone, then publish its changes."""

    async def main() -> T:
        platform = Platform.build(Settings())
        try:
            return await fn(platform)
        finally:
            await platform.publish_pending()  # the command's changes, to every server
            await platform.engine.dispose()

    return asyncio.run(main())


def fail(message: str) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


async def find_tenant(session: AsyncSession, domain: str) -> Tenant:
    """The tenant served at ``domain``, or a clear failure for the shell."""
    found = await tenancy.find_by_domain(session, domain)
    if found is None:
        raise fail(f"No tenant is served at {domain}.")
    return found


TenantDomain = Annotated[str, typer.Option(metavar="DOMAIN", help="A domain of the tenant.")]
Email = Annotated[str, typer.Option(help="The user's email.")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def ask_password(given: str | None, *, from_stdin: bool = False, prompt: str = "Password") -> str:
    try:
        return read_password(given, from_stdin=from_stdin, prompt=prompt)
    except PasswordInputError as exc:
        raise fail(str(exc)) from None
