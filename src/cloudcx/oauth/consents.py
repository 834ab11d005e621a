"""Users' grants of access to clients: what Connected apps lists and revokes.

A consent is recorded when a user clicks Allow on the consent page, and when a
user hands an application their password (the guide's password grant): both
give the application access to the account, so both appear among the user's
connected apps and both end with "Revoke access".
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Insert, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.db import upsert, utcnow
from cloudcx.oauth import revocation
from cloudcx.oauth.clients import AnyClient
from cloudcx.oauth.models import AuthorizationCode, OAuthClient, OAuthConsent, RefreshToken
from cloudcx.oauth.revocation import Kind, consent_key


async def find(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, client: AnyClient
) -> OAuthConsent | None:
    return await session.scalar(
        select(OAuthConsent).where(
            OAuthConsent.tenant_id == tenant_id,
            OAuthConsent.user_id == user_id,
            OAuthConsent.client_pk == client.id,
        )
    )


def covers(consent: OAuthConsent | None, scopes: Iterable[str]) -> bool:
    """Does an earlier grant include every one of ``scopes``?"""
    return consent is not None and set(scopes) <= set(consent.scopes)


async def record(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    client: AnyClient,
    scopes: Iterable[str],
    recent: RecentUses | None = None,
) -> OAuthConsent:
    """Create or widen the user's grant to ``client``; marks it used now.

    With ``recent``, a grant that already covers ``scopes`` is left as it is
    when this process marked it used less than a minute ago (as ``touch`` does):
    an app signing its user in again and again writes nothing more.

    Two sign-ins of one user to one app can race: the insert ignores the
    duplicate (one row per user and client) instead of failing one of them.
    """
    scopes = set(scopes)
    consent = await find(session, tenant_id, user_id, client)
    if recent is not None:
        if covers(consent, scopes) and not recent.due(user_id, client.id):
            assert consent is not None
            return consent
        recent.mark(user_id, client.id)
    if consent is None:
        await session.execute(_insert_once(session, tenant_id, user_id, client))
        consent = await find(session, tenant_id, user_id, client)
        assert consent is not None
    consent.scopes = sorted(set(consent.scopes) | scopes)
    consent.last_used_at = utcnow()
    await session.flush()
    return consent


def _insert_once(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, client: AnyClient
) -> Insert:
    return (
        upsert(session, OAuthConsent)
        .values(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            user_id=user_id,
            client_pk=client.id,
            scopes=[],
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "client_pk"])
    )


class RecentUses:
    """When this process last recorded each (user, client)'s use of a consent.

    A refresh grant records a use on every rotation, and every rotation of one
    user's app updates the same consent row: on PostgreSQL each such UPDATE
    waits for the row lock of the one before until it commits. "Last used" is
    shown to the minute, so a use is written at most once a minute per process.
    """

    INTERVAL = 60.0

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._at: dict[tuple[uuid.UUID, uuid.UUID], float] = {}

    def due(self, user_id: uuid.UUID, client_pk: uuid.UUID) -> bool:
        """Is a use to be written now? If so, it counts as written."""
        key = (user_id, client_pk)
        if time.monotonic() - self._at.get(key, -self.INTERVAL) < self.INTERVAL:
            return False
        self.mark(user_id, client_pk)
        return True

    def mark(self, user_id: uuid.UUID, client_pk: uuid.UUID) -> None:
        """A use of (user, client) was just written."""
        if len(self._at) >= self._size:
            self._at.clear()
        self._at[(user_id, client_pk)] = time.monotonic()


async def touch(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    client: AnyClient,
    recent: RecentUses | None = None,
) -> None:
    """Record that the app used its access (the Connected apps "last used").

    One UPDATE, no read first, and with ``recent`` at most once a minute."""
    if recent is not None and not recent.due(user_id, client.id):
        return
    await session.execute(
        update(OAuthConsent)
        .where(
            OAuthConsent.tenant_id == tenant_id,
            OAuthConsent.user_id == user_id,
            OAuthConsent.client_pk == client.id,
        )
        .values(last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True, slots=True)
class ConnectedApp:
    consent_id: uuid.UUID
    client_name: str
    description: str
    scopes: list[str]
    first_granted: datetime
    last_used: datetime | None


async def connected_apps(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> list[ConnectedApp]:
    rows = await session.execute(
        select(OAuthConsent, OAuthClient)
        .join(OAuthClient, OAuthClient.id == OAuthConsent.client_pk)
        .where(OAuthConsent.tenant_id == tenant_id, OAuthConsent.user_id == user_id)
        .order_by(OAuthClient.client_name, OAuthConsent.id)
    )
    return [
        ConnectedApp(c.id, cl.client_name, cl.description, c.scopes, c.created_at, c.last_used_at)
        for c, cl in rows
    ]


async def count_for_client(session: AsyncSession, client: AnyClient) -> int:
    total = await session.scalar(
        select(func.count()).select_from(OAuthConsent).where(OAuthConsent.client_pk == client.id)
    )
    return int(total or 0)


async def revoke(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, consent_id: uuid.UUID
) -> OAuthClient | None:
    """End a user's grant: its refresh tokens, codes and (at once) access tokens.

    Returns the client whose access ended, or None when no such grant belongs
    to this user in this tenant.
    """
    row = await session.execute(
        select(OAuthConsent, OAuthClient)
        .join(OAuthClient, OAuthClient.id == OAuthConsent.client_pk)
        .where(
            OAuthConsent.id == consent_id,
            OAuthConsent.tenant_id == tenant_id,
            OAuthConsent.user_id == user_id,
        )
    )
    found = row.first()
    if found is None:
        return None
    consent, client = found
    await _forget_tokens(session, client, user_id)
    await revocation.revoke(
        session,
        tenant_id,
        Kind.CONSENT,
        consent_key(client.client_id, user_id),
    )
    await session.delete(consent)
    return client


async def revoke_client_tokens(session: AsyncSession, client: AnyClient) -> None:
    """Every token of a client ends at once (disable, delete, "Revoke all tokens")."""
    await _forget_tokens(session, client, None)
    await revocation.revoke(session, client.tenant_id, Kind.CLIENT, client.client_id)


async def forget_user_tokens(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Delete a user's refresh tokens and unused codes at every client.

    Used with a ``Kind.USER`` revocation (password change, sign out everywhere,
    deactivation), which covers the access tokens already issued.
    """
    for model in (RefreshToken, AuthorizationCode):
        await session.execute(
            delete(model).where(model.tenant_id == tenant_id, model.user_id == user_id)
        )


async def _forget_tokens(
    session: AsyncSession, client: AnyClient, user_id: uuid.UUID | None
) -> None:
    """Delete refresh tokens and unused codes; access tokens need a revocation row."""
    for model in (RefreshToken, AuthorizationCode):
        query = delete(model).where(model.client_pk == client.id)
        if user_id is not None:
            query = query.where(model.user_id == user_id)
        await session.execute(query)
