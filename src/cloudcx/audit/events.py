"""The audit events of existing features, so their modules call one line each.

Sign-in (Control Panel), the token endpoint (RFC 6749 §3.2) and OAuth client
administration. Other domains call ``audit.service.record`` directly.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.directory import UserInfo
from cloudcx.accounts.models import User
from cloudcx.audit.service import (
    Action,
    Actor,
    Origin,
    Target,
    looks_like_email,
    record,
)
from cloudcx.oauth.clients import ClientInfo
from cloudcx.oauth.errors import OAuthError
from cloudcx.oauth.models import OAuthClient
from cloudcx.ops import metrics
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo

TOKEN_PATH = "/oauth/token"


def _tenant(request: Request) -> TenantInfo | None:
    tenant: TenantInfo | None = getattr(request.state, "tenant", None)
    return tenant


async def signin_succeeded(session: AsyncSession, request: Request, user: User) -> None:
    await record(
        session,
        tenant_id=user.tenant_id,
        action=Action.SIGNIN_SUCCESS,
        actor=Actor.of_user(user),
        target=Target.of_user(user),
        origin=Origin.of(request),
    )


async def signed_out(session: AsyncSession, request: Request, user: User) -> None:
    await record(
        session,
        tenant_id=user.tenant_id,
        action=Action.SIGNOUT,
        actor=Actor.of_user(user),
        target=Target.of_user(user),
        origin=Origin.of(request),
    )


def signin_failed(platform: Platform, request: Request, login: str, reason: str) -> None:
    tenant = _tenant(request)
    if tenant is None:
        return
    platform.audit.add(
        tenant_id=tenant.id,
        action=Action.SIGNIN_FAILURE,
        actor=Actor.anonymous(login),
        origin=Origin.of(request),
        details={"reason": reason},
    )


def token_issued(platform: Platform, request: Request, grant: Any) -> None:
    """Called by the token endpoint once the grant's work has committed."""
    metrics.token_issued(grant.grant_type)
    tenant, client = _tenant(request), getattr(request.state, "oauth_client", None)
    if tenant is None or not isinstance(client, ClientInfo):
        return
    user = getattr(grant, "user", None)
    platform.audit.add(
        tenant_id=tenant.id,
        action=Action.TOKEN_ISSUED,
        actor=Actor.of_client(client.client_id, client.client_name),
        target=Target.of_user(user) if isinstance(user, User | UserInfo) else None,
        origin=Origin.of(request),
        details={"grant_type": grant.grant_type, "scope": getattr(grant, "scope", "")},
    )


def token_refused(request: Request, exc: OAuthError) -> None:
    tenant = _tenant(request)
    if tenant is None or request.url.path != TOKEN_PATH:
        return
    form = getattr(request.state, "oauth_form", None)
    params: dict[str, str] = getattr(form, "params", {}) or {}
    metrics.token_refused(params.get("grant_type", ""), exc.error)
    client = getattr(request.state, "oauth_client", None)
    client_id = client.client_id if isinstance(client, ClientInfo) else params.get("client_id", "")
    login = params.get("username") or params.get("email") or ""
    platform: Platform = request.app.state.platform
    platform.audit.add(
        tenant_id=tenant.id,
        action=Action.TOKEN_REFUSED,
        actor=Actor.of_client(client_id) if client_id else Actor.anonymous(),
        target=Target("user", "", login) if looks_like_email(login) else None,
        origin=Origin.of(request),
        details={
            "grant_type": params.get("grant_type", "")[:64],
            "reason": exc.error,
            "cause": (exc.debug or "")[:100],
            "status": exc.status_code,
        },
    )


def audited(handler: Any) -> Any:
    """Wrap the OAuth error handler so every refused token request is logged."""

    async def handle(request: Request, exc: Exception) -> Response:
        if isinstance(exc, OAuthError):
            token_refused(request, exc)
        response: Response = await handler(request, exc)
        return response

    return handle


async def client_changed(
    session: AsyncSession,
    request: Request,
    tenant_id: uuid.UUID,
    actor: User,
    action: Action,
    client: OAuthClient,
) -> None:
    await record(
        session,
        tenant_id=tenant_id,
        action=action,
        actor=Actor.of_user(actor),
        target=Target.of_client(client.client_id, client.client_name),
        origin=Origin.of(request),
        details={"client_type": client.client_type},
    )
