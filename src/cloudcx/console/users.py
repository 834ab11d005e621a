"""Control Panel > Users (administrators): add agents, change roles, deactivate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData

from cloudcx.accounts import admin
from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import Role, User
from cloudcx.accounts.schemas import UserCreate, UserPublic
from cloudcx.accounts.service import AccountError
from cloudcx.api.problems import Problem
from cloudcx.audit.service import Action, Origin
from cloudcx.console import confirm, versions
from cloudcx.console.errors import error_page
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
    "unchanged": "Nothing to change: the user already has that role.",
}


async def _user(session: SessionDep, cx: ConsoleDep, id_: str) -> User:
    user = await accounts.get_user(session, cx.tenant.id, parse_id(id_))
    if user is None:
        raise RecordNotFound
    return user


LABELS = {"email": "Email", "name": "Name", "password": "Initial password", "role": "Role"}
HINTS = {"email": "Enter an email address like name@example.com."}
ROLE_WORDS = {r.value: r.value.capitalize() for r in Role}


def snapshot(user: User) -> versions.Snapshot:
    return versions.snapshot(UserPublic.model_validate(user), {"role": user.role.value})


async def _list(
    cx: ConsoleDep, session: SessionDep, status_code: int = 200, **extra: object
) -> Response:
    users = list(
        await session.scalars(
            select(User).where(User.tenant_id == cx.tenant.id).order_by(User.created_at)
        )
    )
    extra.setdefault("roles_shown", {})
    return cx.render(
        "users/list.html",
        status_code=status_code,
        users=users,
        roles=list(Role),
        snaps={u.id: snapshot(u) for u in users},
        **extra,
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
        errors = form_errors(exc, LABELS, HINTS)
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
async def change_role(request: Request, cx: ConsoleDep, session: SessionDep, id_: str) -> Response:
    """A new role changes what the user may do: checked against the version, then confirmed."""
    form = await request.form()
    cx.check_csrf(form.get("csrf_token"))
    cx.require_admin()
    role = form.get("role")
    if role not in ROLE_WORDS:
        return await _list(cx, session, 422, error="Choose a role from the list.")
    user = await _user(session, cx, id_)
    try:
        versions.check(
            str(form.get(versions.VERSION_FIELD) or ""),
            str(form.get(versions.ORIGINAL_FIELD) or ""),
            snapshot(user),
            {"role": str(role)},
            {"role": "Role"},
            {"role": ROLE_WORDS},
        )
    except versions.EditConflict as conflict:
        shown = {user.id: conflict.merged["role"]}
        return await _list(cx, session, 409, conflict=conflict, roles_shown=shown)
    if role == user.role.value:
        return cx.redirect(f"{router.prefix}?notice=unchanged")
    if not confirm.is_confirmed(form):
        return confirm.ask(cx, _role_confirmation(user, Role(role), form))
    return await _change(cx, session, id_, "role", role=Role(role))


def _role_confirmation(user: User, role: Role, form: FormData) -> confirm.Confirmation:
    if role is Role.ADMIN:
        lines = [
            "Administrators manage users, OAuth clients, API keys and security settings, "
            "and read the audit log."
        ]
    else:
        lines = ["They lose access to Users and Global Settings."]
    lines.append("They sign in again to get the new rights; their tokens stop working.")
    return confirm.Confirmation(
        title=f"Make “{user.name}” {'an administrator' if role is Role.ADMIN else 'an agent'}?",
        lines=lines,
        action=f"{router.prefix}/{user.id}/role",
        button="Change role",
        cancel=router.prefix,
        danger=role is Role.ADMIN,
        carried=confirm.carried(form),
    )


@router.get("/{id_}/deactivate")
async def deactivate_page(cx: ConsoleDep, session: SessionDep, id_: str) -> Response:
    """Deactivate and Reactivate ask first: the buttons of the list are links here."""
    return await _confirm_active(cx, session, id_, "deactivate")


@router.get("/{id_}/activate")
async def activate_page(cx: ConsoleDep, session: SessionDep, id_: str) -> Response:
    return await _confirm_active(cx, session, id_, "activate")


async def _confirm_active(cx: ConsoleDep, session: SessionDep, id_: str, change: str) -> Response:
    actor = cx.require_admin()
    user = await _user(session, cx, id_)
    if change == "deactivate" and user.id == actor.id:
        return error_page(cx.request, 409, "Deactivate user", admin.SelfLockout().detail)
    if user.is_active == (change == "activate"):  # nothing to do: back to the list
        return cx.redirect(router.prefix)
    action = f"{router.prefix}/{user.id}/{change}"
    if change == "deactivate":
        confirmation = confirm.Confirmation(
            title=f"Deactivate “{user.name}”?",
            lines=[
                f"{user.email} is signed out everywhere, and their tokens and API keys "
                "stop working at once. Their tickets stay; you can reactivate them later.",
            ],
            action=action,
            button="Deactivate",
            cancel=router.prefix,
        )
    else:
        confirmation = confirm.Confirmation(
            title=f"Reactivate “{user.name}”?",
            lines=[f"{user.email} can sign in again with their password."],
            action=action,
            button="Reactivate",
            cancel=router.prefix,
            danger=False,
        )
    return confirm.ask(cx, confirmation)


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
