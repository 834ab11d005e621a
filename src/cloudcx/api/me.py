"""``/api/v1/me``: who the token speaks for."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel

from cloudcx.accounts.models import Role
from cloudcx.api.auth import CurrentToken
from cloudcx.api.problems import Problem
from cloudcx.deps import PlatformDep, TenantDep

router = APIRouter(prefix="/api/v1", tags=["Me"])


class MeUser(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    role: Role


class MeTenant(BaseModel):
    id: uuid.UUID
    name: str


class MeClient(BaseModel):
    client_id: str
    client_name: str | None


class Me(BaseModel):
    user: MeUser | None
    tenant: MeTenant
    client: MeClient
    scope: str


@router.get("/me", response_model=Me, summary="The user, tenant and client of this token")
async def me(token: CurrentToken, platform: PlatformDep, tenant: TenantDep) -> Me:
    """Answered from the platform's caches: no database query on the way (DESIGN.md §8)."""
    user = None
    if token.user_id is not None:
        found = await platform.users.get(tenant.id, token.user_id)
        if found is None or not found.is_active:
            raise Problem(401, "The user of this token no longer exists.")
        user = MeUser(id=found.id, email=found.email, name=found.name, role=found.role)
    client = await platform.clients.get(tenant.id, token.client_id)
    return Me(
        user=user,
        tenant=MeTenant(id=tenant.id, name=tenant.name),
        client=MeClient(
            client_id=token.client_id, client_name=client.client_name if client else None
        ),
        scope=" ".join(sorted(token.scopes)),
    )
