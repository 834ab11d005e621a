"""``/api/v1/me``: who the token speaks for."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from pydantic import BaseModel

from cloudcx.accounts.models import Role
from cloudcx.api import ratelimit
from cloudcx.api.auth import current_token
from cloudcx.api.problems import Problem
from cloudcx.core.responses import OrjsonResponse
from cloudcx.core.routing import DirectRoute
from cloudcx.deps import platform_of, tenant_of

router = APIRouter(prefix="/api/v1", tags=["Me"], route_class=DirectRoute)


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
async def me(request: Request) -> OrjsonResponse:
    """Answered from the platform's caches: no database query on the way (DESIGN.md §8).

    The busiest route of the API is a ``DirectRoute``: it renders its answer by
    hand and ``Me`` documents the shape.
    """
    token = await current_token(request)
    await ratelimit.count(request, token)
    platform = platform_of(request)
    tenant = tenant_of(request)
    user = None
    if token.user_id is not None:
        found = await platform.users.get(tenant.id, token.user_id)
        if found is None or not found.is_active:
            raise Problem(401, "The user of this token no longer exists.")
        user = {"id": found.id, "email": found.email, "name": found.name, "role": found.role}
    client = await platform.clients.get(tenant.id, token.client_id)
    return OrjsonResponse(
        {
            "user": user,
            "tenant": {"id": tenant.id, "name": tenant.name},
            "client": {
                "client_id": token.client_id,
                "client_name": client.client_name if client else None,
            },
            "scope": " ".join(sorted(token.scopes)),
        }
    )
