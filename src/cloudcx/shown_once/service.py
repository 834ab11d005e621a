"""Keep a new secret for the page after a POST-redirect-GET, and show it once.

The POST that creates a secret stores it here, in its own transaction, and
redirects to a page naming the stored value by a random handle. That page
takes the value (the first request only: an ``UPDATE ... WHERE shown_at IS
NULL`` decides between concurrent ones), erases it and shows it; a reload,
another session or a late visit gets nothing and says the value was already
shown — so reloading never creates another secret, and the page can be
served by any process.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from cryptography.fernet import Fernet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import WebSession
from cloudcx.core.encryption import InvalidToken, fernet_for
from cloudcx.db import utcnow
from cloudcx.shown_once.models import ShownOnce

# Long enough for a slow redirect, short enough that an unread secret does not linger.
TTL = timedelta(minutes=10)
PURPOSE = "shown-once"


def cipher(master_secret: str) -> Fernet:
    return fernet_for(master_secret, PURPOSE)


async def keep(
    session: AsyncSession,
    fernet: Fernet,
    web_session: WebSession,
    *,
    kind: str,
    subject: str,
    value: str,
) -> str:
    """Store ``value`` for the session; the handle to put in the page's URL."""
    row = ShownOnce(
        tenant_id=web_session.tenant_id,
        user_id=web_session.user_id,
        session_digest=web_session.id_digest,
        kind=kind,
        subject=subject,
        ciphertext=fernet.encrypt(value.encode()).decode(),
        expires_at=utcnow() + TTL,
    )
    session.add(row)
    await session.flush()
    return str(row.id)


async def take(
    session: AsyncSession,
    fernet: Fernet,
    web_session: WebSession,
    *,
    handle: str,
    kind: str,
    subject: str,
) -> str | None:
    """The value, the first time it is asked for by its session; None ever after.

    Unknown, expired, shown, or another session's handle: all the same None.
    Commits, so the value is erased before the page showing it is sent.
    """
    try:
        row_id = uuid.UUID(handle)
    except ValueError:
        return None
    now = utcnow()
    found = await session.scalar(
        select(ShownOnce.ciphertext).where(
            ShownOnce.id == row_id,
            ShownOnce.tenant_id == web_session.tenant_id,
            ShownOnce.session_digest == web_session.id_digest,
            ShownOnce.kind == kind,
            ShownOnce.subject == subject,
            ShownOnce.shown_at.is_(None),
            ShownOnce.expires_at > now,
        )
    )
    if found is None:
        return None
    claimed = await session.execute(
        update(ShownOnce)
        .where(ShownOnce.id == row_id, ShownOnce.shown_at.is_(None))
        .values(shown_at=now, ciphertext=None)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    try:
        return fernet.decrypt(found.encode(), ttl=int(TTL.total_seconds()) + 60).decode()
    except InvalidToken:
        return None
