"""A tenant's security settings: who must sign in with two factors.

The setting lives on the tenant row, so it travels with the cached
``TenantInfo`` of every request: deciding costs no query, and a change reaches
every process through the change feed like any change to the tenant.
"""

from __future__ import annotations

import enum
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import Role
from cloudcx.tenancy.models import Tenant
from cloudcx.tenancy.service import TenantInfo


class TwoFactorRequirement(enum.StrEnum):
    OFF = "off"
    ADMINS = "admins"
    EVERYONE = "everyone"

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS = {
    TwoFactorRequirement.OFF: "Not required (each user chooses)",
    TwoFactorRequirement.ADMINS: "Required for administrators",
    TwoFactorRequirement.EVERYONE: "Required for all users",
}


def requirement_of(tenant: TenantInfo) -> TwoFactorRequirement:
    return requirement_of_value(tenant.two_factor_required)


def two_factor_required(tenant: TenantInfo, role: Role) -> bool:
    """Must a user of this role in this tenant sign in with two factors?"""
    requirement = requirement_of(tenant)
    if requirement is TwoFactorRequirement.EVERYONE:
        return True
    return requirement is TwoFactorRequirement.ADMINS and role is Role.ADMIN


async def set_requirement(
    session: AsyncSession, tenant_id: uuid.UUID, requirement: TwoFactorRequirement
) -> TwoFactorRequirement:
    """Store the tenant's requirement and return the one it replaces; the caller commits."""
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    before = requirement_of_value(tenant.two_factor_required)
    tenant.two_factor_required = requirement.value
    await session.flush()
    return before


def requirement_of_value(value: str) -> TwoFactorRequirement:
    # An unknown stored value is read as the strictest, never as "off".
    try:
        return TwoFactorRequirement(value)
    except ValueError:
        return TwoFactorRequirement.EVERYONE
