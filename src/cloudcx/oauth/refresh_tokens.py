"""Refresh tokens: opaque, random, stored as digests, rotated on every use.

https://datatracker.ietf.org/doc/html/rfc6749#section-6 and
https://datatracker.ietf.org/doc/html/rfc9700#section-4.14.2
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.core import secrets
from cloudcx.db import utcnow
from cloudcx.oauth import revocation
from cloudcx.oauth.clients import AnyClient
from cloudcx.oauth.models import RefreshToken
from cloudcx.oauth.revocation import Kind

log = logging.getLogger("cloudcx.oauth")

# Long enough to tell refresh tokens from other secrets, short enough to type.
PREFIX = "cxr_"
MAX_LENGTH = 128


def lifetime(client: AnyClient, default: int) -> int:
    return client.refresh_token_ttl or default


async def issue(
    session: AsyncSession,
    client: AnyClient,
    user_id: uuid.UUID,
    scope: str,
    family_id: uuid.UUID,
    ttl: int,
) -> str:
    """A new refresh token of ``family_id``; only its digest is stored."""
    value = secrets.token(32, prefix=PREFIX)
    session.add(
        RefreshToken(
            token_digest=secrets.digest(value),
            family_id=family_id,
            tenant_id=client.tenant_id,
            client_pk=client.id,
            user_id=user_id,
            scope=scope,
            expires_at=utcnow() + timedelta(seconds=ttl),
        )
    )
    await session.flush()
    return value


async def find(session: AsyncSession, tenant_id: uuid.UUID, value: str) -> RefreshToken | None:
    """The row behind a presented value, in this tenant only (any state)."""
    if not value.startswith(PREFIX) or len(value) > MAX_LENGTH:
        return None
    return await session.scalar(
        select(RefreshToken).where(
            RefreshToken.token_digest == secrets.digest(value),
            RefreshToken.tenant_id == tenant_id,
        )
    )


def is_usable(row: RefreshToken) -> bool:
    return row.rotated_at is None and row.revoked_at is None and row.expires_at > utcnow()


async def mark_rotated(session: AsyncSession, row: RefreshToken) -> bool:
    """Claim the token for one rotation; False if another request claimed it first."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.rotated_at.is_(None))
        .values(rotated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def revoke_family(
    session: AsyncSession, tenant_id: uuid.UUID, family_id: uuid.UUID, reason: str
) -> None:
    """End a family: its refresh tokens now, its access tokens (``gid``) everywhere."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await revocation.revoke(session, tenant_id, Kind.GRANT, str(family_id))
    log.warning("token family %s of tenant %s revoked: %s", family_id, tenant_id, reason)
