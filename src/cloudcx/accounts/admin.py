"""What administrators do to users: create agents, rename them, change roles,
reset passwords, deactivate and reactivate.

Deactivation must take effect at once everywhere: the user's access tokens are
revoked through the revocation set (every process refuses them within about a
second), their Control Panel sessions are deleted, and API keys stop working
because key lookups require an active user. A password reset ends sessions and
tokens the same way a password change does (``security.set_password``).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts import security
from cloudcx.accounts.models import Role, User
from cloudcx.accounts.service import check_password
from cloudcx.api.problems import Conflict
from cloudcx.audit.service import Action, Actor, Origin, Target, record
from cloudcx.core.passwords import Passwords
from cloudcx.oauth import revocation


class SelfLockout(Conflict):
    def __init__(self) -> None:
        super().__init__("You cannot deactivate yourself or remove your own administrator role.")


class OwnPassword(Conflict):
    def __init__(self) -> None:
        super().__init__("Change your own password on the Account security page.")


async def deactivate(session: AsyncSession, user: User) -> None:
    if not user.is_active:
        return
    user.is_active = False
    await security.end_access(session, user)


async def audit(
    session: AsyncSession,
    actor: User,
    user: User,
    action: Action,
    origin: Origin,
    **details: str,
) -> None:
    """One audit event about ``user``, by the administrator ``actor``."""
    await record(
        session,
        tenant_id=user.tenant_id,
        action=action,
        actor=Actor.of_user(actor),
        target=Target.of_user(user),
        origin=origin,
        details=details or None,
    )


async def apply_changes(
    session: AsyncSession,
    actor: User,
    user: User,
    *,
    name: str | None = None,
    role: Role | None = None,
    is_active: bool | None = None,
    origin: Origin | None = None,
) -> None:
    """Apply what was sent and audit it; an administrator never locks themselves out."""
    origin = origin or Origin()
    if user.id == actor.id and (is_active is False or role is Role.AGENT):
        raise SelfLockout
    if name is not None:
        before_name, user.name = user.name, name.strip() or user.email.split("@", 1)[0]
        if user.name != before_name:
            await audit(
                session, actor, user, Action.USER_RENAMED, origin, old=before_name, new=user.name
            )
    if role is not None and role is not user.role:
        before, user.role = user.role, role
        # Tokens carry scopes granted for the old role: make the user sign in again.
        await revocation.revoke(session, user.tenant_id, revocation.Kind.USER, str(user.id))
        await audit(session, actor, user, Action.USER_ROLE_CHANGED, origin, old=before, new=role)
    if is_active is False and user.is_active:
        await deactivate(session, user)
        await audit(session, actor, user, Action.USER_DEACTIVATED, origin)
    elif is_active and not user.is_active:
        user.is_active = True
        await audit(session, actor, user, Action.USER_REACTIVATED, origin)
    await session.flush()


async def reset_password(
    session: AsyncSession,
    passwords: Passwords,
    actor: User,
    user: User,
    password: str,
    origin: Origin,
) -> None:
    """Give ``user`` a one-time password of the administrator's choosing.

    The user must replace it at their next sign-in; until then the password
    grant refuses the account. Their sessions and tokens end now, as on a
    password change, so whoever held them is out. The caller commits.
    Raises ``AccountError`` for a password the policy refuses.
    """
    if user.id == actor.id:
        raise OwnPassword
    check_password(password, user.email)
    await security.set_password(session, passwords, user, password, must_change=True)
    await audit(session, actor, user, Action.USER_PASSWORD_RESET, origin)
