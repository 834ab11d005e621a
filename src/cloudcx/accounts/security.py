"""Ending a user's access everywhere: on request, and when the password changes.

Control Panel sessions are rows (deleted at once); access tokens are JWTs,
killed through the revocation set, which every process applies within about a
second (``oauth.revocation``, DESIGN.md §4).
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts import sessions
from cloudcx.accounts.models import User, WebSession
from cloudcx.core import secrets
from cloudcx.core.passwords import Passwords
from cloudcx.oauth import consents, revocation


async def end_access(session: AsyncSession, user: User, *, keep_session: str | None = None) -> None:
    """End every session of ``user`` (but ``keep_session``) and revoke their tokens.

    The caller commits.
    """
    if keep_session:
        await session.execute(
            delete(WebSession).where(
                WebSession.user_id == user.id,
                WebSession.id_digest != secrets.digest(keep_session),
            )
        )
    else:
        await sessions.end_all_for_user(session, user.id)
    await revocation.revoke(session, user.tenant_id, revocation.Kind.USER, str(user.id))
    await consents.forget_user_tokens(session, user.tenant_id, user.id)


async def set_password(
    session: AsyncSession,
    passwords: Passwords,
    user: User,
    new_password: str,
    *,
    must_change: bool,
    keep_session: str | None = None,
) -> None:
    """Set a password (already checked against the policy) and end access elsewhere.

    ``must_change`` marks a password someone else chose (an administrator's
    reset): the user replaces it at their next sign-in. The caller commits.
    """
    user.password_hash = await passwords.hash_async(new_password)
    user.must_change_password = must_change
    await end_access(session, user, keep_session=keep_session)


async def change_password(
    session: AsyncSession,
    passwords: Passwords,
    user: User,
    new_password: str,
    *,
    keep_session: str | None,
) -> None:
    """The user's own new password: any one-time password is spent."""
    await set_password(
        session, passwords, user, new_password, must_change=False, keep_session=keep_session
    )
