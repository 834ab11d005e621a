"""Users: creation and password authentication, always scoped to one tenant."""

from __future__ import annotations

import unicodedata
import uuid

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import Role, User
from cloudcx.core.passwords import Passwords
from cloudcx.security import password_policy

MAX_EMAIL = 320


class AccountError(ValueError):
    """A user-facing validation problem (bad email, weak password, duplicate)."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_key(email: str) -> str:
    """What two spellings of one address have in common (``User.email_key``).

    NFKC folds compatibility forms (fullwidth a, U+FF41, is a), ``casefold``
    every case (sharp s is ss); the result has no ASCII capital letter, which
    is how the 0011 migration marks the keys of duplicates no login can reach.
    """
    return unicodedata.normalize("NFKC", email.strip()).casefold()


def check_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise AccountError(f"Enter a valid email address ({exc}).") from exc


def check_password(password: str, email: str = "") -> None:
    """The password policy of ``security.password_policy``, as an AccountError."""
    reason = password_policy.problem(password, email)
    if reason:
        raise AccountError(reason)


async def find_by_email(session: AsyncSession, tenant_id: uuid.UUID, email: str) -> User | None:
    return await session.scalar(
        select(User).where(User.tenant_id == tenant_id, User.email_key == email_key(email))
    )


async def get_user(session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
    return await session.scalar(select(User).where(User.tenant_id == tenant_id, User.id == user_id))


async def list_users(session: AsyncSession, tenant_id: uuid.UUID) -> list[User]:
    """Every user of the tenant, oldest first."""
    rows = await session.scalars(
        select(User).where(User.tenant_id == tenant_id).order_by(User.created_at, User.id)
    )
    return list(rows)


async def create_user(
    session: AsyncSession,
    passwords: Passwords,
    *,
    tenant_id: uuid.UUID,
    email: str,
    password: str,
    role: Role = Role.AGENT,
    name: str = "",
) -> User:
    email = check_email(email)
    check_password(password, email)
    key = email_key(email)
    if len(key) > MAX_EMAIL:
        raise AccountError("Enter a valid email address (it is too long).")
    if await find_by_email(session, tenant_id, email):
        raise AccountError("A user with this email already exists.")
    user = User(
        tenant_id=tenant_id,
        email=email,
        email_normalized=normalize_email(email),
        email_key=key,
        name=name.strip() or email.split("@", 1)[0],
        password_hash=await passwords.hash_async(password),
        role=role,
    )
    session.add(user)
    await session.flush()
    return user


async def authenticate(
    session: AsyncSession,
    passwords: Passwords,
    *,
    tenant_id: uuid.UUID,
    email: str,
    password: str,
    rehash: bool = True,
) -> User | None:
    """The active user with this email and password, or None.

    Unknown emails and inactive users still pay for one argon2 verification, so
    the response time does not tell which accounts exist.

    After a right password, a hash of another cost than the configured one
    (raised or lowered) is replaced; the caller commits it with the sign-in.
    Only a success can rehash, so a wrong password costs one verification,
    always. ``rehash=False`` suits a check whose hash is about to be replaced.
    """
    user = await find_by_email(session, tenant_id, email) if len(email) <= MAX_EMAIL else None
    ok = await passwords.verify_async(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        return None
    if rehash and passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.hash_async(password)
    return user
