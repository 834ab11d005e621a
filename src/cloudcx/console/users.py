"""Control Panel > Users (administrators): add agents, change roles, deactivate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select

from cloudcx.accounts import admin
from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import Role, User
from cloudcx.accounts.schemas import UserCreate
from cloudcx.accounts.service import AccountError
from cloudcx.api.problems import Problem
from cloudcx.audit.service import Action, Origin
from cloudcx.console.records import RecordNotFound, form_errors, parse_id
from cloudcx.console.web import ConsoleDep
from cloudcx.deps import PlatformDep, SessionDep

router = APIRouter(prefix="/users", include_in_schema=False)

Csrf = Annotated[str, Form(max_length=200)]
Text = Annotated[str, Form(max_length=2000)]
NOTICES = {
    "created": "User created. Give them their email and initial password.",
    "role": "Role changed. The user signs in again to get the new rights.",
    "deactivated": "User deactivated: their sessions and tokens no longer work.",
    "activated": "User reactivated.",
    "two_factor_reset": "Two-factor sign-in reset: they sign in with their password next time.",
    "two_factor_off": "That user has no two-factor sign-in to reset.",
}


async def _user(session: SessionDep, cx: ConsoleDep, id_: str) -> User:
    user = await accounts.get_user(session, cx.tenant.id, parse_id(id_))
    if user is None:
        raise RecordNotFound
    return user


async def _list(
    cx: ConsoleDep, session: SessionDep, status_code: int = 200, **extra: object
) -> Response:
    users = await session.scalars(
        select(User).where(User.tenant_id == cx.tenant.id).order_by(User.created_at)
    )
    return cx.render(
        "users/list.html", status_code=status_code, users=list(users), roles=list(Role), **extra
    )


@router.get("")
async def list_page(cx: ConsoleDep, session: SessionDep, notice: str | None = None) -> Response:
    cx.require_admin()
    return await _list(cx, session, notice=NOTICES.get(notice or ""))


@router.get("/new")
async def new_page(cx: ConsoleDep) -> Response:
    cx.require_admin()
    return cx.render("users/form.html", values={"role": "agent"}, errors={}, roles=list(Role))


@router.post("/new")
async def create(
    cx: ConsoleDep,
    session: SessionDep,
    platform: PlatformDep,
    csrf_token: Csrf = "",
    email: Text = "",
    name: Text = "",
    role: Text = "agent",
    password: Text = "",
) -> Response:
    actor = cx.require_admin()
    cx.check_csrf(csrf_token)
    values = {"email": email, "name": name, "role": role}
    try:
        data = UserCreate(email=email, name=name, role=role, password=password)
        user = await accounts.create_user(
            session,
            platform.passwords,
            tenant_id=cx.tenant.id,
            email=data.email,
            password=data.password,
            role=data.role,
            name=data.name,
        )
    except ValidationError as exc:
        errors = form_errors(exc)
        return cx.render("users/form.html", 422, values=values, errors=errors, roles=list(Role))
    except AccountError as exc:
        errors = {"email": str(exc)}
        return cx.render("users/form.html", 422, values=values, errors=errors, roles=list(Role))
    await admin.audit(
        session, actor, user, Action.USER_CREATED, Origin.of(cx.request), role=user.role
    )
    await session.commit()
    return cx.redirect(f"{router.prefix}?notice=created")


async def _change(
    cx: ConsoleDep, session: SessionDep, id_: str, notice: str, **change: object
) -> Response:
    actor = cx.require_admin()
    user = await _user(session, cx, id_)
    try:
        await admin.apply_changes(
            session,
            actor,
            user,
            origin=Origin.of(cx.request),
            **change,  # type: ignore[arg-type]
        )
    except Problem as exc:
        await session.rollback()
        return await _list(cx, session, 409, error=exc.detail)
    await session.commit()
    return cx.redirect(f"{router.prefix}?notice={notice}")


@router.post("/{id_}/role")
async def change_role(
    cx: ConsoleDep, session: SessionDep, id_: str, csrf_token: Csrf = "", role: Text = ""
) -> Response:
    cx.check_csrf(csrf_token)
    if role not in {r.value for r in Role}:
        cx.require_admin()
        return await _list(cx, session, 422, error="Choose a role.")
    return await _change(cx, session, id_, "role", role=Role(role))


@router.post("/{id_}/deactivate")
async def deactivate(
    cx: ConsoleDep, session: SessionDep, id_: str, csrf_token: Csrf = ""
) -> Response:
    cx.check_csrf(csrf_token)
    return await _change(cx, session, id_, "deactivated", is_active=False)


@router.post("/{id_}/activate")
async def activate(
    cx: ConsoleDep, session: SessionDep, id_: str, csrf_token: Csrf = ""
) -> Response:
    cx.check_csrf(csrf_token)
    return await _change(cx, session, id_, "activated", is_active=True)
