"""Finding a tenant from a request host, and creating tenants."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudcx.core.cache import RecordCache
from cloudcx.tenancy.models import Tenant, TenantDomain

_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)(localhost|(\d{1,3}\.){3}\d{1,3}|"
    r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)$"
)


class DomainError(ValueError):
    pass


def normalize_domain(value: str) -> str:
    """A host name as stored: lower case, no port, no trailing dot."""
    domain = value.strip().lower().rstrip(".")
    if not _DOMAIN_RE.match(domain):
        raise DomainError(f"not a valid domain name: {value!r}")
    return domain


def host_without_port(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # IPv6 literal
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")


@dataclass(frozen=True, slots=True)
class TenantInfo:
    """What a request needs to know of its tenant; immutable and cached per process."""

    id: uuid.UUID
    name: str
    domains: tuple[str, ...]
    two_factor_required: str = "off"


class TenantDirectory:
    """Host → tenant, cached in memory for ``ttl`` seconds.

    The cache keeps API requests free of database queries (DESIGN.md §8); a new
    tenant or domain made by this process is seen at once (the change feed
    clears the cache), by another at once with Redis and within ``ttl`` without.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], ttl: float) -> None:
        self._sessionmaker = sessionmaker
        self.cache: RecordCache[str, TenantInfo] = RecordCache(ttl)

    async def by_host(self, host: str) -> TenantInfo | None:
        domain = host_without_port(host)
        return await self.cache.get(domain, lambda: self._load(domain))

    def invalidate(self) -> None:
        self.cache.clear()

    async def _load(self, domain: str) -> TenantInfo | None:
        async with self._sessionmaker() as session:
            tenant = await session.scalar(
                select(Tenant)
                .join(TenantDomain)
                .where(TenantDomain.domain == domain, Tenant.is_active.is_(True))
            )
            return to_info(tenant) if tenant else None


def to_info(tenant: Tenant) -> TenantInfo:
    return TenantInfo(
        id=tenant.id,
        name=tenant.name,
        domains=tuple(d.domain for d in tenant.domains),
        two_factor_required=tenant.two_factor_required,
    )


async def create_tenant(session: AsyncSession, name: str, domains: list[str]) -> Tenant:
    """Create a tenant; raises ``DomainError`` for a bad or already used domain."""
    normalized = [normalize_domain(d) for d in domains]
    if not normalized:
        raise DomainError("a tenant needs at least one domain")
    taken = await session.scalar(
        select(TenantDomain.domain).where(TenantDomain.domain.in_(normalized))
    )
    if taken:
        raise DomainError(f"domain already belongs to a tenant: {taken}")
    tenant = Tenant(name=name.strip() or normalized[0])
    tenant.domains = [TenantDomain(domain=d) for d in dict.fromkeys(normalized)]
    session.add(tenant)
    await session.flush()
    return tenant


async def find_by_domain(session: AsyncSession, domain: str) -> Tenant | None:
    return await session.scalar(
        select(Tenant).join(TenantDomain).where(TenantDomain.domain == normalize_domain(domain))
    )
