"""What every grant shares: the request context and the token response.

A grant handler is chosen by ``grant_type`` (see ``registry``), then asked to
``validate`` (reading and raising only, never issuing), to ``store`` what it
keeps (refresh tokens, a consent's use: the only writes, committed at once)
and to ``issue`` the response (signing, no database) — the split Authlib and
fosite make, so a refused request can never have issued anything, and only
the writing waits for SQLite's one writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.directory import AnyUser
from cloudcx.oauth import scopes as scope_catalog
from cloudcx.oauth import tokens
from cloudcx.oauth.clients import AnyClient, ClientInfo
from cloudcx.oauth.errors import InvalidScopeError, UnauthorizedClientError
from cloudcx.oauth.forms import OAuthForm
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo


@dataclass(slots=True)
class TokenContext:
    """Everything a grant may look at; grants ask for nothing else."""

    platform: Platform
    session: AsyncSession
    tenant: TenantInfo
    issuer: str
    client: ClientInfo
    form: OAuthForm
    client_ip: str
    user_agent: str
    # RFC 9449 §5: the thumbprint of the request's DPoP proof key, None without one.
    dpop_jkt: str | None = None


class Grant(Protocol):
    grant_type: ClassVar[str]
    # Does ``store`` write? A grant that keeps nothing skips the write gate.
    writes: ClassVar[bool]

    def __init__(self, ctx: TokenContext) -> None: ...

    async def validate(self) -> None: ...

    async def store(self) -> None: ...

    def issue(self) -> dict[str, Any]: ...


def require_grant_allowed(client: AnyClient, grant_type: str) -> None:
    """RFC 6749 §5.2 ``unauthorized_client``: the client may not use this grant."""
    if grant_type not in client.grant_types:
        raise UnauthorizedClientError(f"This client is not allowed to use the {grant_type} grant.")


def requested_scopes(ctx: TokenContext) -> list[str]:
    """The scopes asked for, checked against the catalogue and the client."""
    return scope_catalog.requested(ctx.client.scopes, ctx.form.get("scope"))


def user_rights(asked: list[str], user: AnyUser) -> str:
    """Requested ∩ client's ∩ the user's role, or invalid_scope if nothing is left."""
    granted = scope_catalog.for_role(asked, user.role)
    if not granted:
        raise InvalidScopeError("None of the requested scopes is available to this user.")
    return scope_catalog.join(granted)


def access_token_ttl(ctx: TokenContext) -> int:
    return ctx.client.access_token_ttl or ctx.platform.settings.access_token_ttl


def bearer_response(token: tokens.IssuedToken, **extra: Any) -> dict[str, Any]:
    """RFC 6749 §5.1 successful response."""
    body: dict[str, Any] = {
        "access_token": token.value,
        # RFC 9449 §5: a token bound to a DPoP key is of type DPoP.
        "token_type": "DPoP" if token.jkt else "Bearer",
        "expires_in": token.expires_in,
        "scope": token.scope,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def issue_for_user(
    ctx: TokenContext, user: AnyUser, scope: str, grant_id: str | None = None
) -> tokens.IssuedToken:
    return tokens.issue(
        ctx.platform.keys,
        issuer=ctx.issuer,
        tenant_id=ctx.tenant.id,
        subject=str(user.id),
        client_id=ctx.client.client_id,
        scope=scope,
        ttl=access_token_ttl(ctx),
        user_id=user.id,
        grant_id=grant_id,
        jkt=ctx.dpop_jkt,
    )
