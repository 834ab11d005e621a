"""``/api/v1/webhooks``: endpoints an application registers, their log, redelivery.

Reading needs ``webhooks:read``, changing ``webhooks:write``; both are
administrators' scopes (``oauth.scopes``), so a token acting for an agent never
holds them. Every change is audited like the Control Panel's.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from cloudcx.api import pagination
from cloudcx.api.auth import api_access
from cloudcx.api.openapi import problems
from cloudcx.api.pagination import Keyset, Page, PageDep
from cloudcx.api.problems import NotFound, Problem, invalid
from cloudcx.audit.service import Action, Actor, Origin, Target, record
from cloudcx.deps import PlatformDep, SessionDep, TenantDep
from cloudcx.oauth.tokens import AccessToken
from cloudcx.webhooks import ping, service
from cloudcx.webhooks.models import WebhookAttempt, WebhookEndpoint
from cloudcx.webhooks.schemas import (
    AttemptPublic,
    Redelivery,
    RedeliveryQueued,
    WebhookCreate,
    WebhookPublic,
    WebhookUpdate,
    WebhookWithSecret,
)
from cloudcx.webhooks.service import EndpointFormError, EndpointInput

router = APIRouter(prefix="/api/v1/webhooks", tags=["Webhooks"])

Read = Annotated[AccessToken, Depends(api_access("webhooks:read"))]
Write = Annotated[AccessToken, Depends(api_access("webhooks:write"))]
NEWEST_FIRST = Keyset("-started_at", WebhookAttempt.started_at, WebhookAttempt.id, descending=True)


async def load(session: SessionDep, tenant: TenantDep, webhook_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = await service.get_endpoint(session, tenant.id, webhook_id)
    if endpoint is None:
        raise NotFound("The webhook does not exist.")
    return endpoint


EndpointDep = Annotated[WebhookEndpoint, Depends(load)]


def _refused(exc: EndpointFormError) -> Problem:
    field, message = next(iter(exc.errors.items()))
    return invalid(field, message)


async def _audit(
    session: SessionDep,
    request: Request,
    token: AccessToken,
    action: Action,
    endpoint: WebhookEndpoint,
) -> None:
    if token.user_id is not None:
        actor = Actor("user", str(token.user_id), "")
    else:
        actor = Actor.of_client(token.client_id)
    await record(
        session,
        tenant_id=endpoint.tenant_id,
        action=action,
        actor=actor,
        target=Target("webhook", str(endpoint.id), endpoint.name),
        origin=Origin.of(request),
        details={"url": endpoint.url, "client_id": token.client_id},
    )


@router.get("", response_model=list[WebhookPublic], summary="List webhooks", responses=problems())
async def list_webhooks(session: SessionDep, tenant: TenantDep, _: Read) -> list[WebhookPublic]:
    return [WebhookPublic.of(e) for e in await service.list_endpoints(session, tenant.id)]


@router.post(
    "",
    status_code=201,
    response_model=WebhookWithSecret,
    summary="Register a webhook (the answer holds its signing secret, once)",
    responses=problems(),
)
async def create_webhook(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    tenant: TenantDep,
    token: Write,
    payload: WebhookCreate,
) -> Response:
    data = EndpointInput(payload.name, payload.url, list(payload.events), payload.enabled)
    try:
        endpoint, secret = await service.create_endpoint(
            session, platform.settings, tenant.id, data
        )
    except EndpointFormError as exc:
        raise _refused(exc) from exc
    await _audit(session, request, token, Action.WEBHOOK_CREATED, endpoint)
    await session.commit()
    body = WebhookWithSecret(**WebhookPublic.of(endpoint).model_dump(), secret=secret)
    return _no_store(body, 201, f"{router.prefix}/{endpoint.id}")


def _no_store(body: WebhookWithSecret, status: int, location: str | None = None) -> Response:
    response = Response(body.model_dump_json(), status, media_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    if location:
        response.headers["Location"] = location
    return response


@router.get(
    "/{webhook_id}", response_model=WebhookPublic, summary="Read a webhook", responses=problems(404)
)
async def read_webhook(_: Read, endpoint: EndpointDep) -> WebhookPublic:
    return WebhookPublic.of(endpoint)


@router.patch(
    "/{webhook_id}",
    response_model=WebhookPublic,
    summary="Change a webhook; `enabled: true` resumes a paused one",
    responses=problems(404),
)
async def update_webhook(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    token: Write,
    endpoint: EndpointDep,
    payload: WebhookUpdate,
) -> WebhookPublic:
    sent = payload.model_fields_set
    for name in ("name", "url", "events", "enabled"):
        if name in sent and getattr(payload, name) is None:
            raise invalid(name, "This field cannot be null.")
    data = EndpointInput(
        payload.name if payload.name is not None else endpoint.name,
        payload.url if payload.url is not None else endpoint.url,
        list(payload.events) if payload.events is not None else endpoint.events,
        payload.enabled if payload.enabled is not None else endpoint.enabled,
    )
    try:
        service.update_endpoint(platform.settings, endpoint, data, enabled_sent="enabled" in sent)
    except EndpointFormError as exc:
        raise _refused(exc) from exc
    await _audit(session, request, token, Action.WEBHOOK_UPDATED, endpoint)
    await session.commit()
    return WebhookPublic.of(endpoint)


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Delete a webhook, its pending deliveries and its log",
    responses=problems(404),
)
async def delete_webhook(
    request: Request, session: SessionDep, token: Write, endpoint: EndpointDep
) -> Response:
    await _audit(session, request, token, Action.WEBHOOK_DELETED, endpoint)
    await session.delete(endpoint)
    await session.commit()
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=WebhookWithSecret,
    summary="Replace the signing secret; the old one keeps signing for 24 hours",
    responses=problems(404),
)
async def rotate_secret(
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
    token: Write,
    endpoint: EndpointDep,
) -> Response:
    secret = service.rotate_secret(platform.settings, endpoint)
    await _audit(session, request, token, Action.WEBHOOK_SECRET_ROTATED, endpoint)
    await session.commit()
    return _no_store(
        WebhookWithSecret(**WebhookPublic.of(endpoint).model_dump(), secret=secret), 200
    )


@router.get(
    "/{webhook_id}/deliveries",
    response_model=Page[AttemptPublic],
    summary="The delivery log: every attempt, newest first (kept 30 days)",
    responses=problems(404),
)
async def list_deliveries(
    session: SessionDep, _: Read, endpoint: EndpointDep, params: PageDep
) -> Page[AttemptPublic]:
    query = select(WebhookAttempt).where(
        WebhookAttempt.tenant_id == endpoint.tenant_id,
        WebhookAttempt.endpoint_id == endpoint.id,
    )
    rows = (await session.scalars(pagination.apply(query, NEWEST_FIRST, params))).all()
    return pagination.page(rows, NEWEST_FIRST, params, AttemptPublic)


@router.post(
    "/{webhook_id}/redeliver",
    status_code=202,
    response_model=RedeliveryQueued,
    summary="Send a past event to this webhook again",
    responses=problems(404),
    # The collection's example names an event never sent: it shows the refusal.
    openapi_extra={"x-postman-status": 404},
)
async def redeliver(
    session: SessionDep, _: Write, endpoint: EndpointDep, payload: Redelivery
) -> RedeliveryQueued:
    if await service.redeliver(session, endpoint, payload.event_id) is None:
        raise NotFound("This webhook was never sent that event.")
    await session.commit()
    return RedeliveryQueued(event_id=payload.event_id)


@router.post(
    "/{webhook_id}/test",
    response_model=AttemptPublic,
    summary="Send a signed `webhook.test` event now and return the receiver's answer",
    responses=problems(404),
)
async def send_test(
    session: SessionDep, platform: PlatformDep, _: Write, endpoint: EndpointDep
) -> AttemptPublic:
    attempt = await ping.send_test(session, platform, endpoint)
    await session.commit()
    return AttemptPublic.model_validate(attempt)
