"""Users as the API's hot paths see them: cached, immutable, never stale for long.

A bearer request needs its user's current state (active, role, name) without a
database query (DESIGN.md §8). ``UserDirectory`` keeps a copy per process; the
change feed drops it the moment this process commits a change to the user;
every other process drops it within milliseconds with Redis (``cloudcx.feed_redis``)
and re-reads it within the cache's ``ttl`` (the revocation delay) without.
No password hash is kept here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudcx.accounts import service
from cloudcx.accounts.models import Role, User
from cloudcx.core.cache import RecordCache


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    name: str
    role: Role
    is_active: bool

    @classmethod
    def of(cls, user: User) -> UserInfo:
        return cls(
            id=user.id,
            tenant_id=user.tenant_id,
            email=user.email,
            name=user.name,
            role=user.role,
            is_active=user.is_active,
        )


def _info(user: User | None) -> UserInfo | None:
    return UserInfo.of(user) if user is not None else None


# Either form of a user, for code that only reads who they are.
AnyUser = User | UserInfo


class UserDirectory:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], ttl: float) -> None:
        self._sessionmaker = sessionmaker
        self.cache: RecordCache[tuple[uuid.UUID, uuid.UUID], UserInfo] = RecordCache(ttl)

    async def get(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, session: AsyncSession | None = None
    ) -> UserInfo | None:
        """The user of this tenant, or None (another tenant's user is unknown here).

        A caller that holds a session passes it, so that a miss is read through
        it: a second pooled connection taken while holding one can wait forever
        once every connection is held by a request doing the same.
        """

        async def load() -> UserInfo | None:
            if session is not None:
                return _info(await service.get_user(session, tenant_id, user_id))
            async with self._sessionmaker() as own:
                return _info(await service.get_user(own, tenant_id, user_id))

        return await self.cache.get((tenant_id, user_id), load)

    def changed(self, user: User) -> None:
        self.cache.invalidate((user.tenant_id, user.id))
