"""Server-side Control Panel sessions (DESIGN.md §6, §7)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User, WebSession
from cloudcx.core import secrets
from cloudcx.db import utcnow

# Writing last_seen_at on every page view would turn reads into writes.
_TOUCH_EVERY = timedelta(minutes=5)


async def start(
    session: AsyncSession, user: User, ttl: int, ip: str, user_agent: str, sid: str | None = None
) -> str:
    """Create a session and return the cookie value (only its digest is stored).

    ``sid`` continues the browser session of an earlier sign-in (OpenID Connect
    ``sid``); its ``created_at`` is the ``auth_time`` of this sign-in.
    """
    value = secrets.token(32)
    session.add(
        WebSession(
            id_digest=secrets.digest(value),
            tenant_id=user.tenant_id,
            user_id=user.id,
            expires_at=utcnow() + timedelta(seconds=ttl),
            ip=ip[:64],
            user_agent=user_agent[:300],
            sid=sid or secrets.token(24),
        )
    )
    await session.flush()
    return value


async def load(
    session: AsyncSession, tenant_id: uuid.UUID, value: str
) -> tuple[WebSession, User] | None:
    """The live session and active user behind a cookie value, in this tenant only."""
    if not value or len(value) > 128:
        return None
    row = await session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(
            WebSession.id_digest == secrets.digest(value),
            WebSession.tenant_id == tenant_id,
            User.tenant_id == tenant_id,
        )
    )
    found = row.first()
    if found is None:
        return None
    web_session, user = found
    now = utcnow()
    if web_session.expires_at <= now or not user.is_active:
        await session.delete(web_session)
        await session.commit()
        return None
    if now - web_session.last_seen_at > _TOUCH_EVERY:
        web_session.last_seen_at = now
        await session.commit()
    return web_session, user


async def end(session: AsyncSession, value: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.id_digest == secrets.digest(value)))


async def end_all_for_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(delete(WebSession).where(WebSession.user_id == user_id))
