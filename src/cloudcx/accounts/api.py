"""``/api/v1/users``: the tenant's agents and administrators.

Reading needs ``users:read``. Managing needs ``users:write`` *and* a token
acting for an active administrator: the scope alone is not enough, so an
agent can never manage users whatever a token says.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from cloudcx.accounts import admin
from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import Role, User
from cloudcx.accounts.schemas import UserCreate, UserPublic, UserUpdate
from cloudcx.accounts.service import AccountError
from cloudcx.api import pagination
from cloudcx.api.auth import api_access
from cloudcx.api.etag import check_if_match, tagged
from cloudcx.api.idempotency import IdempotencyDep
from cloudcx.api.openapi import problems
from cloudcx.api.pagination import Keyset, Page, PageDep
from cloudcx.api.problems import Conflict, NotFound, Problem
from cloudcx.audit.service import Action, Origin
from cloudcx.deps import PlatformDep, ReadSessionDep, SessionDep, TenantDep
from cloudcx.oauth.tokens import AccessToken

router = APIRouter(prefix="/api/v1/users", tags=["Users"])

Read = Annotated[AccessToken, Depends(api_access("users:read"))]
OLDEST_FIRST = Keyset("created_at", User.created_at, User.id, descending=False)


async def load(
    request: Request, session: SessionDep, tenant: TenantDep, user_id: uuid.UUID
) -> User:
    query = select(User).where(User.tenant_id == tenant.id, User.id == user_id)
    # Writes hold the row until commit, so an If-Match check stays true while writing.
    user = await session.scalar(query.with_for_update() if request.method != "GET" else query)
    if user is None:
        raise NotFound("The user does not exist.")
    return user


async def administrator(
    session: SessionDep,
    tenant: TenantDep,
    token: Annotated[AccessToken, Depends(api_access("users:write"))],
) -> User:
    """The active administrator this token acts for, or 403."""
    actor = await accounts.get_user(session, tenant.id, token.user_id) if token.user_id else None
    if actor is None or not actor.is_active or not actor.is_admin:
        raise Problem(403, "Only administrators can manage users.")
    return actor


UserDep = Annotated[User, Depends(load)]
AdminDep = Annotated[User, Depends(administrator)]


@router.get("", response_model=Page[UserPublic], summary="List users", responses=problems())
async def list_users(
    session: ReadSessionDep,
    tenant: TenantDep,
    _: Read,
    params: PageDep,
    role: Role | None = None,
    is_active: bool | None = None,
) -> Page[UserPublic]:
    query = select(User).where(User.tenant_id == tenant.id)
    if role is not None:
        query = query.where(User.role == role)
    if is_active is not None:
        query = query.where(User.is_active.is_(is_active))
    rows = (await session.scalars(pagination.apply(query, OLDEST_FIRST, params))).all()
    return pagination.page(rows, OLDEST_FIRST, params, UserPublic)


@router.get(
    "/{user_id}", response_model=UserPublic, summary="Read a user", responses=problems(304, 404)
)
async def read_user(request: Request, _: Read, user: UserDep) -> Response:
    return tagged(request, UserPublic.model_validate(user))


@router.post(
    "",
    status_code=201,
    response_model=UserPublic,
    summary="Create an agent or administrator (administrators only)",
    responses=problems(409),
)
async def create_user(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    tenant: TenantDep,
    actor: AdminDep,
    idem: IdempotencyDep,
    payload: UserCreate,
) -> Response:
    if replay := await idem.replay(session, request, payload):
        return replay
    try:
        user = await accounts.create_user(
            session,
            platform.passwords,
            tenant_id=tenant.id,
            email=payload.email,
            password=payload.password,
            role=payload.role,
            name=payload.name,
        )
    except AccountError as exc:
        raise Conflict(str(exc)) from exc
    await admin.audit(session, actor, user, Action.USER_CREATED, Origin.of(request), role=user.role)
    result = UserPublic.model_validate(user)
    return await idem.commit(session, request, payload, result, f"{router.prefix}/{user.id}")


@router.patch(
    "/{user_id}",
    response_model=UserPublic,
    summary="Change a user's name or role, or deactivate them (administrators only)",
    responses=problems(404, 409, 412),
)
async def update_user(
    request: Request,
    session: SessionDep,
    actor: AdminDep,
    user: UserDep,
    payload: UserUpdate,
) -> Response:
    check_if_match(request, UserPublic.model_validate(user))
    await admin.apply_changes(
        session,
        actor,
        user,
        name=payload.name,
        role=payload.role,
        is_active=payload.is_active,
        origin=Origin.of(request),
    )
    await session.commit()
    return tagged(request, UserPublic.model_validate(user))
