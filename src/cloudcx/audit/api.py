"""``GET /api/v1/audit-events``: the audit log for administrators' tokens."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cloudcx.accounts import service as accounts
from cloudcx.api.auth import api_access
from cloudcx.api.inputs import UtcTime
from cloudcx.api.openapi import problems
from cloudcx.api.problems import Problem, invalid
from cloudcx.audit.queries import MAX_PAGE, Filters, Position, list_events
from cloudcx.audit.schemas import AuditEventList, AuditEventPublic
from cloudcx.deps import PlatformDep, SessionDep, TenantDep
from cloudcx.oauth.tokens import AccessToken

router = APIRouter(prefix="/api/v1/audit-events", tags=["Audit log"])

AuditReader = Annotated[AccessToken, Depends(api_access("audit:read"))]


@router.get(
    "",
    response_model=AuditEventList,
    summary="List audit events, newest first",
    responses=problems(),
    description=(
        "Needs the `audit:read` scope and a token of an administrator. "
        "Filter by `action`, `actor` (email, client name or id) and a time range; "
        "page with `cursor` (the previous page's `next_cursor`)."
    ),
)
async def list_audit_events(
    token: AuditReader,
    platform: PlatformDep,
    session: SessionDep,
    tenant: TenantDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=320)] = None,
    since: Annotated[UtcTime | None, Query(description="Events at or after (ISO 8601).")] = None,
    until: Annotated[UtcTime | None, Query(description="Events before (ISO 8601).")] = None,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}_[0-9]{1,18}$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> AuditEventList:
    await _require_admin(session, tenant.id, token)
    before = Position.parse(cursor)
    if cursor and before is None:  # the right shape, but a time past year 9999
        raise invalid("cursor", "The cursor is not valid for this listing.")
    await platform.audit.flush()  # this process's queued events are read too
    page = await list_events(
        session,
        tenant.id,
        Filters(action=action, actor=actor, since=since, until=until),
        before=before,
        limit=limit,
    )
    return AuditEventList(
        data=[AuditEventPublic.model_validate(e) for e in page.events],
        next_cursor=str(page.next_before) if page.next_before else None,
    )


async def _require_admin(session: SessionDep, tenant_id: uuid.UUID, token: AccessToken) -> None:
    """The scope alone is not enough: the user behind it must still be an administrator."""
    user = await accounts.get_user(session, tenant_id, token.user_id) if token.user_id else None
    if user is None or not user.is_active or not user.is_admin:
        raise Problem(403, "The audit log is for administrators.")
