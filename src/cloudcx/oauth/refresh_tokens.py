"""Refresh tokens: opaque, random, stored as digests, rotated on every use.

https://datatracker.ietf.org/doc/html/rfc6749#section-6 and
https://datatracker.ietf.org/doc/html/rfc9700#section-4.14.2
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.core import secrets
from cloudcx.db import utcnow
from cloudcx.oauth import revocation
from cloudcx.oauth.clients import AnyClient
from cloudcx.oauth.id_tokens import SignIn
from cloudcx.oauth.models import RefreshToken
from cloudcx.oauth.revocation import Kind

log = logging.getLogger("cloudcx.oauth")

# Long enough to tell refresh tokens from other secrets, short enough to type.
PREFIX = "cxr_"
MAX_LENGTH = 128


# The refresh grant's statements, built once: constructing a statement costs more
# Python time than SQLite takes to run it. The writes are Core statements on the
# table: through the ORM's bulk paths they cost twice as much, for nothing the
# session needs to know (these rows are never loaded in the same session).
_TABLE = cast(Table, RefreshToken.__table__)
_FIND = select(RefreshToken).where(
    RefreshToken.token_digest == bindparam("digest"), RefreshToken.tenant_id == bindparam("tenant")
)
# One statement finds the presented token and claims it for this rotation: of two
# requests presenting it at once, the second finds it claimed (RFC 9700 §4.14.2).
_CLAIM = (
    update(_TABLE)
    .where(
        _TABLE.c.token_digest == bindparam("digest"),
        _TABLE.c.tenant_id == bindparam("tenant"),
        _TABLE.c.client_pk == bindparam("client"),
        _TABLE.c.rotated_at.is_(None),
        _TABLE.c.revoked_at.is_(None),
        _TABLE.c.expires_at > bindparam("now"),
    )
    .values(rotated_at=bindparam("now"))
    .returning(
        _TABLE.c.family_id,
        _TABLE.c.user_id,
        _TABLE.c.scope,
        _TABLE.c.dpop_jkt,
        _TABLE.c.auth_time,
        _TABLE.c.sid,
    )
)
_INSERT = insert(_TABLE)


def could_be(value: str) -> bool:
    """Has ``value`` the shape of a refresh token (worth a database lookup)?"""
    return value.startswith(PREFIX) and len(value) <= MAX_LENGTH


def lifetime(client: AnyClient, default: int) -> int:
    return client.refresh_token_ttl or default


async def issue(
    session: AsyncSession,
    client: AnyClient,
    user_id: uuid.UUID,
    scope: str,
    family_id: uuid.UUID,
    ttl: int,
    sign_in: SignIn | None = None,
    dpop_jkt: str | None = None,
) -> str:
    """A new refresh token of ``family_id``; only its digest is stored. ``sign_in``
    is the OpenID Connect sign-in its family's ID tokens describe; ``dpop_jkt``
    the DPoP key it is bound to (RFC 9449 §5), for public clients."""
    value = secrets.token(32, prefix=PREFIX)
    now = utcnow()
    await session.execute(
        _INSERT,
        {
            "id": uuid.uuid4(),
            "token_digest": secrets.digest(value),
            "family_id": family_id,
            "tenant_id": client.tenant_id,
            "client_pk": client.id,
            "user_id": user_id,
            "scope": scope,
            "created_at": now,
            "expires_at": now + timedelta(seconds=ttl),
            "dpop_jkt": dpop_jkt,
            "auth_time": sign_in.auth_time if sign_in else None,
            "sid": sign_in.sid if sign_in else None,
        },
    )
    return value


async def find(session: AsyncSession, tenant_id: uuid.UUID, value: str) -> RefreshToken | None:
    """The row behind a presented value, in this tenant only (any state)."""
    if not could_be(value):
        return None
    return await session.scalar(_FIND, {"digest": secrets.digest(value), "tenant": tenant_id})


def is_usable(row: RefreshToken) -> bool:
    return row.rotated_at is None and row.revoked_at is None and row.expires_at > utcnow()


@dataclass(frozen=True, slots=True)
class Claimed:
    """A refresh token claimed for rotation: what its successor inherits."""

    family_id: uuid.UUID
    user_id: uuid.UUID
    scope: str
    dpop_jkt: str | None = None
    sign_in: SignIn | None = None


async def claim(
    session: AsyncSession, tenant_id: uuid.UUID, client: AnyClient, value: str
) -> Claimed | None:
    """Mark the presented token rotated if it is usable by ``client``; None if it is
    not (unknown, another client's, expired, revoked, or rotated already)."""
    if not could_be(value):
        return None
    params = {
        "digest": secrets.digest(value),
        "tenant": tenant_id,
        "client": client.id,
        "now": utcnow(),
    }
    row = (await session.execute(_CLAIM, params)).first()
    if row is None:
        return None
    sign_in = SignIn(row.auth_time, row.sid) if row.auth_time is not None else None
    return Claimed(row.family_id, row.user_id, row.scope, row.dpop_jkt, sign_in)


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
