"""API keys: creation (the secret is shown once), revocation and bearer authentication.

A key is ``cxk_`` + 43 URL-safe characters (256 random bits). Only its SHA-256
digest is stored, so the lookup is by digest and a leaked table hands out
nothing. A request authenticated by a key acts as the key's creator, within
the key's scopes ∩ what that user's role allows *now* (a demoted or
deactivated user's keys shrink or stop at once).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudcx.accounts.models import User
from cloudcx.apikeys.models import ApiKey
from cloudcx.core import secrets
from cloudcx.db import utcnow
from cloudcx.oauth import scopes as catalogue
from cloudcx.oauth.errors import InvalidTokenError
from cloudcx.oauth.tokens import AccessToken
from cloudcx.tenancy.service import TenantInfo

PREFIX = "cxk_"
_SHOWN = len(PREFIX) + 6
# Writing last_used_at on every request would turn every read into a write.
_TOUCH_EVERY = timedelta(minutes=1)
_INVALID = "The API key is invalid, expired or revoked."


class ApiKeyFormError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors.values()))


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key: ApiKey
    secret: str  # shown once, never stored


def clean(name: str, scopes: list[str], user: User) -> tuple[str, list[str]]:
    errors: dict[str, str] = {}
    name = name.strip()
    if not name or len(name) > 100 or "\x00" in name:
        errors["name"] = "Enter a name of 1 to 100 characters."
    allowed = catalogue.for_role(scopes, user.role)
    if not scopes or len(allowed) != len(set(scopes)):
        errors["scopes"] = "Choose at least one scope your role allows."
    if errors:
        raise ApiKeyFormError(errors)
    return name, sorted(set(allowed))


async def create_key(
    session: AsyncSession,
    user: User,
    *,
    name: str,
    scopes: list[str],
    expires_in_days: int | None = None,
) -> CreatedKey:
    name, allowed = clean(name, scopes, user)
    secret = secrets.token(32, prefix=PREFIX)
    key = ApiKey(
        tenant_id=user.tenant_id,
        user_id=user.id,
        name=name,
        prefix=secret[:_SHOWN],
        secret_digest=secrets.digest(secret),
        scopes=allowed,
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(key)
    await session.flush()
    return CreatedKey(key=key, secret=secret)


async def list_keys(session: AsyncSession, tenant_id: uuid.UUID) -> list[tuple[ApiKey, User]]:
    rows = await session.execute(
        select(ApiKey, User)
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.tenant_id == tenant_id)
        .order_by(ApiKey.created_at.desc())
    )
    return [(k, u) for k, u in rows]


async def get_key(session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    return await session.scalar(
        select(ApiKey).where(ApiKey.tenant_id == tenant_id, ApiKey.id == key_id)
    )


def revoke(key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = utcnow()


def set_active(key: ApiKey, active: bool) -> None:
    """Deactivate (refused at once, like a revoked key) or reactivate a key that is not revoked."""
    if key.revoked_at is None:
        key.disabled_at = None if active else (key.disabled_at or utcnow())


def is_live(key: ApiKey, now: datetime) -> bool:
    return (
        key.revoked_at is None
        and key.disabled_at is None
        and (key.expires_at is None or key.expires_at > now)
    )


async def authenticate(
    maker: async_sessionmaker[AsyncSession], tenant: TenantInfo, credential: str
) -> AccessToken:
    """The access token an API key stands for, or InvalidTokenError (RFC 6750 §3.1)."""
    if len(credential) > 200:
        raise InvalidTokenError(_INVALID)
    async with maker() as session:
        found = (
            await session.execute(
                select(ApiKey, User)
                .join(User, User.id == ApiKey.user_id)
                .where(
                    ApiKey.secret_digest == secrets.digest(credential),
                    ApiKey.tenant_id == tenant.id,
                )
            )
        ).first()
        now = utcnow()
        if found is None:
            raise InvalidTokenError(_INVALID)
        key, user = found
        if not is_live(key, now) or not user.is_active:
            raise InvalidTokenError(_INVALID)
        if key.last_used_at is None or now - key.last_used_at > _TOUCH_EVERY:
            key.last_used_at = now
            await session.commit()
        return _as_token(key, user)


def _as_token(key: ApiKey, user: User) -> AccessToken:
    issued = int(time.time())
    expires = key.expires_at or datetime.now(UTC) + timedelta(days=1)
    return AccessToken(
        jti=f"apikey:{key.id}",
        subject=str(user.id),
        client_id=f"apikey:{key.id}",
        tenant_id=key.tenant_id,
        scopes=frozenset(catalogue.for_role(key.scopes, user.role)),
        issued_at=issued,
        expires_at=int(expires.timestamp()),
        user_id=user.id,
    )
