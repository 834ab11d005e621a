"""Global Settings > Integrations > Webhooks (administrators only): list, New, Edit,
Disable, Delete. The delivery log, Send test event and Rotate are in
``webhooks.console_log``.

The signing secret is shown once, on the page the creation (and a rotation)
redirects to, from the Control Panel's one-time store (``console.shown``): a
reload says it was shown and never makes another.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response

from cloudcx.accounts.models import User
from cloudcx.audit.service import Action, Actor, Origin, Target, record
from cloudcx.console import shown, versions
from cloudcx.console.records import RecordNotFound, parse_id
from cloudcx.console.web import ConsoleDep
from cloudcx.deps import PlatformDep, SessionDep
from cloudcx.webhooks import service
from cloudcx.webhooks.events import EVENT_TYPES, grouped
from cloudcx.webhooks.models import WebhookEndpoint
from cloudcx.webhooks.schemas import WebhookPublic
from cloudcx.webhooks.service import EndpointFormError, EndpointInput

router = APIRouter(prefix="/settings/integrations/webhooks", include_in_schema=False)

LIST_URL = router.prefix
NOTICES = {
    "deleted": "Webhook deleted.",
    "saved": "Webhook saved.",
    "disabled": "Webhook disabled: nothing more is sent to it.",
    "enabled": "Webhook enabled.",
    "redelivered": "The event is queued for delivery again.",
}
Text = Annotated[str, Form(max_length=2000)]
Csrf = Annotated[str, Form(max_length=200)]
Events = Annotated[list[str], Form(max_length=50)]


async def endpoint_of(session: SessionDep, cx: ConsoleDep, id_: str) -> WebhookEndpoint:
    endpoint = await service.get_endpoint(session, cx.tenant.id, parse_id(id_))
    if endpoint is None:
        raise RecordNotFound
    return endpoint


async def audit(
    session: SessionDep, cx: ConsoleDep, user: User, action: Action, endpoint: WebhookEndpoint
) -> None:
    await record(
        session,
        tenant_id=cx.tenant.id,
        action=action,
        actor=Actor.of_user(user),
        target=Target("webhook", str(endpoint.id), endpoint.name),
        origin=Origin.of(cx.request),
        details={"url": endpoint.url, "events": endpoint.events, "enabled": endpoint.enabled},
    )


def _form(cx: ConsoleDep, status: int = 200, **context: object) -> Response:
    cx.require_admin()
    context.setdefault("values", {"events": list(EVENT_TYPES), "enabled": True})
    context.setdefault("errors", {})
    context.setdefault("endpoint", None)
    return cx.render("webhooks/form.html", status_code=status, groups=grouped(), **context)


@router.get("")
async def list_page(cx: ConsoleDep, session: SessionDep, notice: str | None = None) -> Response:
    cx.require_admin()
    rows = await service.list_endpoints(session, cx.tenant.id)
    return cx.render("webhooks/list.html", endpoints=rows, notice=NOTICES.get(notice or ""))


@router.get("/new")
async def new_page(cx: ConsoleDep) -> Response:
    return _form(cx)


def _values(name: str, url: str, events: list[str], enabled: str) -> EndpointInput:
    return EndpointInput(name, url, [e for e in events if e], enabled == "on")


@router.post("/new")
async def create(
    cx: ConsoleDep,
    session: SessionDep,
    platform: PlatformDep,
    csrf_token: Csrf = "",
    name: Text = "",
    url: Text = "",
    events: Events = [],  # noqa: B006
    enabled: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    user = cx.require_admin()
    cx.check_csrf(csrf_token)
    data = _values(name, url, events, enabled)
    try:
        endpoint, secret = await service.create_endpoint(
            session, platform.settings, cx.tenant.id, data
        )
    except EndpointFormError as exc:
        return _form(cx, 422, values=asdict(data), errors=exc.errors)
    await audit(session, cx, user, Action.WEBHOOK_CREATED, endpoint)
    return await show_secret(cx, session, endpoint, secret, created=True)


SHOWN_KIND = "webhook_secret"
Shown = Annotated[str | None, Query(alias="shown", max_length=64)]


async def show_secret(
    cx: ConsoleDep, session: SessionDep, endpoint: WebhookEndpoint, secret: str, created: bool
) -> Response:
    """Commit with the secret kept for this session, then redirect to where it shows."""
    handle = await shown.remember(
        cx, session, kind=SHOWN_KIND, subject=str(endpoint.id), value=secret
    )
    await session.commit()
    page = "created" if created else "rotated"
    return cx.redirect(f"{LIST_URL}/{endpoint.id}/{page}?shown={handle}")


async def _secret_page(
    cx: ConsoleDep, session: SessionDep, id_: str, handle: str | None, created: bool
) -> Response:
    cx.require_admin()
    endpoint = await endpoint_of(session, cx, id_)
    reveal = await shown.reveal(cx, session, handle, kind=SHOWN_KIND, subject=str(endpoint.id))
    response = cx.render(
        "webhooks/secret.html",
        endpoint=endpoint,
        reveal=reveal or shown.Reveal(None),
        created=created,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/{id_}/created")
async def created_page(
    cx: ConsoleDep, session: SessionDep, id_: str, shown_value: Shown = None
) -> Response:
    return await _secret_page(cx, session, id_, shown_value, created=True)


@router.get("/{id_}/rotated")
async def rotated_page(
    cx: ConsoleDep, session: SessionDep, id_: str, shown_value: Shown = None
) -> Response:
    return await _secret_page(cx, session, id_, shown_value, created=False)


# The Edit form's fields, for its version check (``console.versions``).
LABELS = {"name": "Name", "url": "URL", "events": "Events", "enabled": "Enabled"}


def _flat(name: str, url: str, events: list[str], enabled: bool) -> dict[str, str]:
    return {
        "name": name,
        "url": url,
        "events": " ".join(sorted(events)),
        "enabled": "on" if enabled else "",
    }


def snapshot(endpoint: WebhookEndpoint) -> versions.Snapshot:
    flat = _flat(endpoint.name, endpoint.url, endpoint.events, endpoint.enabled)
    return versions.snapshot(WebhookPublic.of(endpoint), flat)


@router.get("/{id_}/edit")
async def edit_page(cx: ConsoleDep, session: SessionDep, id_: str) -> Response:
    cx.require_admin()
    endpoint = await endpoint_of(session, cx, id_)
    values = {
        "name": endpoint.name,
        "url": endpoint.url,
        "events": endpoint.events,
        "enabled": endpoint.enabled,
    }
    return _form(cx, endpoint=endpoint, values=values, snap=snapshot(endpoint))


@router.post("/{id_}/edit")
async def update(
    cx: ConsoleDep,
    session: SessionDep,
    platform: PlatformDep,
    id_: str,
    csrf_token: Csrf = "",
    name: Text = "",
    url: Text = "",
    events: Events = [],  # noqa: B006
    enabled: Annotated[str, Form(max_length=3)] = "",
    version: Annotated[str, Form(max_length=200)] = "",
    original: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    user = cx.require_admin()
    cx.check_csrf(csrf_token)
    endpoint = await endpoint_of(session, cx, id_)
    data = _values(name, url, events, enabled)
    current = snapshot(endpoint)
    try:
        yours = _flat(data.name, data.url, data.events, data.enabled)
        versions.check(version, original, current, yours, LABELS)
        service.update_endpoint(platform.settings, endpoint, data)
    except versions.EditConflict as conflict:
        merged = conflict.merged
        offered = {
            "name": merged["name"],
            "url": merged["url"],
            "events": merged["events"].split(),
            "enabled": merged["enabled"] == "on",
        }
        return _form(
            cx, 409, endpoint=endpoint, values=offered, conflict=conflict, snap=conflict.current
        )
    except EndpointFormError as exc:
        values = asdict(data)
        return _form(cx, 422, endpoint=endpoint, values=values, errors=exc.errors, snap=current)
    await audit(session, cx, user, Action.WEBHOOK_UPDATED, endpoint)
    await session.commit()
    return cx.redirect(f"{LIST_URL}?notice=saved")


@router.post("/{id_}/enabled")
async def set_enabled(
    cx: ConsoleDep,
    session: SessionDep,
    id_: str,
    csrf_token: Csrf = "",
    enabled: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Disable (or enable again, which resumes a paused webhook)."""
    user = cx.require_admin()
    cx.check_csrf(csrf_token)
    endpoint = await endpoint_of(session, cx, id_)
    service.set_enabled(endpoint, enabled == "on")
    await audit(session, cx, user, Action.WEBHOOK_UPDATED, endpoint)
    await session.commit()
    return cx.redirect(f"{LIST_URL}?notice={'enabled' if endpoint.enabled else 'disabled'}")


@router.get("/{id_}/delete")
async def delete_page(cx: ConsoleDep, session: SessionDep, id_: str) -> Response:
    cx.require_admin()
    return cx.render("webhooks/delete.html", endpoint=await endpoint_of(session, cx, id_))


@router.post("/{id_}/delete")
async def delete(cx: ConsoleDep, session: SessionDep, id_: str, csrf_token: Csrf = "") -> Response:
    user = cx.require_admin()
    cx.check_csrf(csrf_token)
    endpoint = await endpoint_of(session, cx, id_)
    await audit(session, cx, user, Action.WEBHOOK_DELETED, endpoint)
    await session.delete(endpoint)
    await session.commit()
    return cx.redirect(f"{LIST_URL}?notice=deleted")
