"""Global Settings > Security > API Key (administrators only).

The secret is shown once, on the page the creation redirects to (a
POST-redirect-GET through ``console.shown``: a reload says it was already
shown and never makes another key), with ``Cache-Control: no-store`` so the
browser does not keep it either. A new key starts with the profile and the read
scopes ticked; the rest are ticked on purpose.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response

from cloudcx.accounts.models import User
from cloudcx.apikeys import service
from cloudcx.apikeys.models import ApiKey
from cloudcx.apikeys.service import ApiKeyFormError
from cloudcx.audit.service import Action, Actor, Origin, Target, record
from cloudcx.console import confirm, shown
from cloudcx.console.records import RecordNotFound, parse_id
from cloudcx.console.web import ConsoleDep
from cloudcx.db import utcnow
from cloudcx.deps import SessionDep
from cloudcx.oauth import scopes as catalogue

router = APIRouter(prefix="/settings/security/api-keys", include_in_schema=False)

LIST_URL = router.prefix
EXPIRY_CHOICES = {"": "Never", "30": "30 days", "90": "90 days", "365": "1 year"}
NOTICES = {
    "revoked": "API key revoked.",
    "deactivated": "API key deactivated: requests with it are refused until it is reactivated.",
    "reactivated": "API key reactivated.",
}
SHOWN_KIND = "api_key"
Shown = Annotated[str | None, Query(alias="shown", max_length=64)]


async def _key(session: SessionDep, cx: ConsoleDep, id_: str) -> ApiKey:
    key = await service.get_key(session, cx.tenant.id, parse_id(id_))
    if key is None:
        raise RecordNotFound
    return key


def _form(cx: ConsoleDep, status: int = 200, **context: object) -> Response:
    user = cx.require_admin()
    choices = [s for s in catalogue.SCOPES.values() if user.role in s.roles]
    starting = [s.name for s in choices if s.name in catalogue.STARTING_SCOPES]
    context.setdefault("values", {"scopes": starting, "expires": "90"})
    context.setdefault("errors", {})
    return cx.render(
        "api_keys/form.html", status_code=status, scopes=choices, expiry=EXPIRY_CHOICES, **context
    )


@router.get("")
async def list_page(cx: ConsoleDep, session: SessionDep, notice: str | None = None) -> Response:
    cx.require_admin()
    rows = await service.list_keys(session, cx.tenant.id)
    return cx.render(
        "api_keys/list.html", keys=rows, now=utcnow(), notice=NOTICES.get(notice or "")
    )


@router.get("/new")
async def new_page(cx: ConsoleDep) -> Response:
    return _form(cx)


@router.post("/new")
async def create(
    cx: ConsoleDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=1000)] = "",
    scopes: Annotated[list[str], Form(max_length=50)] = [],  # noqa: B006
    expires: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    user = cx.require_admin()
    cx.check_csrf(csrf_token)
    values = {"name": name, "scopes": scopes, "expires": expires}
    if expires not in EXPIRY_CHOICES:
        return _form(cx, 422, values=values, errors={"expires": "Choose an expiry."})
    try:
        created = await service.create_key(
            session, user, name=name, scopes=scopes, expires_in_days=int(expires or 0) or None
        )
    except ApiKeyFormError as exc:
        return _form(cx, 422, values=values, errors=exc.errors)
    await _audit(session, cx, user, Action.API_KEY_CREATED, created.key)
    handle = await shown.remember(
        cx, session, kind=SHOWN_KIND, subject=str(created.key.id), value=created.secret
    )
    await session.commit()
    return cx.redirect(f"{LIST_URL}/{created.key.id}/created?shown={handle}")


@router.get("/{id_}/created")
async def created_page(
    cx: ConsoleDep, session: SessionDep, id_: str, shown_value: Shown = None
) -> Response:
    cx.require_admin()
    key = await _key(session, cx, id_)
    reveal = await shown.reveal(cx, session, shown_value, kind=SHOWN_KIND, subject=str(key.id))
    response = cx.render("api_keys/created.html", key=key, reveal=reveal or shown.Reveal(None))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/{id_}/revoke")
async def revoke_page(cx: ConsoleDep, session: SessionDep, id_: str) -> Response:
    cx.require_admin()
    key = await _key(session, cx, id_)
    return confirm.ask(
        cx,
        confirm.Confirmation(
            title=f"Revoke “{key.name}”?",
            lines=[
                f"Requests with the key {key.prefix}… will be refused at once. "
                "This cannot be undone."
            ],
            action=f"{LIST_URL}/{key.id}/revoke",
            button="Revoke",
            cancel=LIST_URL,
        ),
    )


@router.post("/{id_}/revoke")
async def revoke(
    cx: ConsoleDep,
    session: SessionDep,
    id_: str,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    user = cx.require_admin()
    cx.check_csrf(csrf_token)
    key = await _key(session, cx, id_)
    service.revoke(key)
    await _audit(session, cx, user, Action.API_KEY_REVOKED, key)
    await session.commit()
    return cx.redirect(f"{LIST_URL}?notice=revoked")


@router.get("/{id_}/deactivate")
async def deactivate_page(cx: ConsoleDep, session: SessionDep, id_: str) -> Response:
    return await _ask_active(cx, session, id_, active=False)


@router.get("/{id_}/reactivate")
async def reactivate_page(cx: ConsoleDep, session: SessionDep, id_: str) -> Response:
    return await _ask_active(cx, session, id_, active=True)


async def _ask_active(cx: ConsoleDep, session: SessionDep, id_: str, *, active: bool) -> Response:
    cx.require_admin()
    key = await _key(session, cx, id_)
    if key.revoked_at is not None:
        raise RecordNotFound  # a revoked key stays revoked
    change = "reactivate" if active else "deactivate"
    lines = (
        [f"Requests with the key {key.prefix}… are accepted again, within its scopes."]
        if active
        else [f"Requests with the key {key.prefix}… are refused at once, until it is reactivated."]
    )
    return confirm.ask(
        cx,
        confirm.Confirmation(
            title=f"{change.capitalize()} “{key.name}”?",
            lines=lines,
            action=f"{LIST_URL}/{key.id}/{change}",
            button=change.capitalize(),
            cancel=LIST_URL,
            danger=not active,
        ),
    )


@router.post("/{id_}/deactivate")
async def deactivate(
    cx: ConsoleDep,
    session: SessionDep,
    id_: str,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    return await _set_active(cx, session, id_, csrf_token, active=False)


@router.post("/{id_}/reactivate")
async def reactivate(
    cx: ConsoleDep,
    session: SessionDep,
    id_: str,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    return await _set_active(cx, session, id_, csrf_token, active=True)


async def _set_active(
    cx: ConsoleDep, session: SessionDep, id_: str, csrf_token: str, *, active: bool
) -> Response:
    user = cx.require_admin()
    cx.check_csrf(csrf_token)
    key = await _key(session, cx, id_)
    if key.revoked_at is not None:
        raise RecordNotFound
    if (key.disabled_at is None) != active:
        service.set_active(key, active)
        action = Action.API_KEY_REACTIVATED if active else Action.API_KEY_DEACTIVATED
        await _audit(session, cx, user, action, key)
        await session.commit()
    return cx.redirect(f"{LIST_URL}?notice={'reactivated' if active else 'deactivated'}")


async def _audit(
    session: SessionDep, cx: ConsoleDep, user: User, action: Action, key: ApiKey
) -> None:
    await record(
        session,
        tenant_id=cx.tenant.id,
        action=action,
        actor=Actor.of_user(user),
        target=Target("api_key", str(key.id), key.name),
        origin=Origin.of(cx.request),
        details={"prefix": key.prefix},
    )
