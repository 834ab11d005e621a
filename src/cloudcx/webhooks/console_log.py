"""A webhook's delivery log with Redeliver, Send test event, and Rotate secret."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from sqlalchemy import select

from cloudcx.audit.service import Action
from cloudcx.console.records import RecordNotFound
from cloudcx.console.web import ConsoleDep
from cloudcx.deps import PlatformDep, SessionDep
from cloudcx.webhooks import ping, service
from cloudcx.webhooks.console import LIST_URL, Csrf, audit, endpoint_of, show_secret
from cloudcx.webhooks.models import WebhookAttempt

router = APIRouter(prefix=LIST_URL, include_in_schema=False)

PAGE = 50


@router.get("/{id_}/deliveries")
async def deliveries_page(
    cx: ConsoleDep, session: SessionDep, id_: str, notice: str | None = None
) -> Response:
    cx.require_admin()
    endpoint = await endpoint_of(session, cx, id_)
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.tenant_id == cx.tenant.id, WebhookAttempt.endpoint_id == endpoint.id)
        .order_by(WebhookAttempt.started_at.desc(), WebhookAttempt.id.desc())
        .limit(PAGE)
    )
    shown = "The event is queued for delivery again." if notice == "redelivered" else None
    return cx.render(
        "webhooks/deliveries.html", endpoint=endpoint, attempts=list(rows), notice=shown
    )


@router.post("/{id_}/redeliver")
async def redeliver(
    cx: ConsoleDep,
    session: SessionDep,
    id_: str,
    csrf_token: Csrf = "",
    event_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    cx.require_admin()
    cx.check_csrf(csrf_token)
    endpoint = await endpoint_of(session, cx, id_)
    try:
        chosen = uuid.UUID(event_id)
    except ValueError:
        raise RecordNotFound from None
    if await service.redeliver(session, endpoint, chosen) is None:
        raise RecordNotFound
    await session.commit()
    return cx.redirect(f"{LIST_URL}/{endpoint.id}/deliveries?notice=redelivered")


@router.post("/{id_}/test")
async def send_test(
    cx: ConsoleDep, session: SessionDep, platform: PlatformDep, id_: str, csrf_token: Csrf = ""
) -> Response:
    cx.require_admin()
    cx.check_csrf(csrf_token)
    endpoint = await endpoint_of(session, cx, id_)
    attempt = await ping.send_test(session, platform, endpoint)
    await session.commit()
    return cx.render("webhooks/test.html", endpoint=endpoint, attempt=attempt)


@router.get("/{id_}/rotate")
async def rotate_page(cx: ConsoleDep, session: SessionDep, id_: str) -> Response:
    cx.require_admin()
    return cx.render("webhooks/rotate.html", endpoint=await endpoint_of(session, cx, id_))


@router.post("/{id_}/rotate")
async def rotate(
    cx: ConsoleDep, session: SessionDep, platform: PlatformDep, id_: str, csrf_token: Csrf = ""
) -> Response:
    user = cx.require_admin()
    cx.check_csrf(csrf_token)
    endpoint = await endpoint_of(session, cx, id_)
    secret = service.rotate_secret(platform.settings, endpoint)
    await audit(session, cx, user, Action.WEBHOOK_SECRET_ROTATED, endpoint)
    return await show_secret(cx, session, endpoint, secret, created=False)
