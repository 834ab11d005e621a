"""Request dependencies shared by every router, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.db import session_scope
from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def tenant_of(request: Request) -> TenantInfo:
    tenant: TenantInfo = request.state.tenant
    return tenant


def issuer_of(request: Request) -> str:
    """The tenant's URL as this request reached it; tokens' ``iss`` (DESIGN.md §2)."""
    base: str = request.state.base_url
    return base


# Dependencies are ``async def`` on purpose: FastAPI runs a plain ``def``
# dependency in a worker thread, a thread hop on every request for nothing.


async def get_platform(request: Request) -> Platform:
    return platform_of(request)


async def get_tenant(request: Request) -> TenantInfo:
    return tenant_of(request)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A database session per request; handlers commit explicitly."""
    async with session_scope(platform_of(request).sessionmaker) as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for a handler that only reads (``db.create_read_sessionmaker``)."""
    async with session_scope(platform_of(request).read_sessionmaker) as session:
        yield session


async def issuer(request: Request) -> str:
    return issuer_of(request)


PlatformDep = Annotated[Platform, Depends(get_platform)]
TenantDep = Annotated[TenantInfo, Depends(get_tenant)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]
IssuerDep = Annotated[str, Depends(issuer)]
