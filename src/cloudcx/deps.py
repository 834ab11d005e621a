"""Request dependencies shared by every router, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.platform import Platform
from cloudcx.tenancy.service import TenantInfo


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def get_tenant(request: Request) -> TenantInfo:
    tenant: TenantInfo = request.state.tenant
    return tenant


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A database session per request; handlers commit explicitly."""
    async with get_platform(request).sessionmaker() as session:
        yield session


def issuer(request: Request) -> str:
    """The tenant's URL as this request reached it; tokens' ``iss`` (DESIGN.md §2)."""
    base: str = request.state.base_url
    return base


PlatformDep = Annotated[Platform, Depends(get_platform)]
TenantDep = Annotated[TenantInfo, Depends(get_tenant)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
IssuerDep = Annotated[str, Depends(issuer)]
