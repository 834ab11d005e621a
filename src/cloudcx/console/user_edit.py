"""Control Panel > Users > a user: rename and reset the password (Deactivate and
Reactivate ask first on ``console.users``' confirmation pages).

Every change is audited (``accounts.admin``); a user of another tenant is not found.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response

from cloudcx.accounts import admin
from cloudcx.accounts import service as accounts
from cloudcx.accounts.models import User
from cloudcx.accounts.schemas import UserPublic
from cloudcx.accounts.service import AccountError
from cloudcx.api.problems import Problem
from cloudcx.audit.service import Origin
from cloudcx.console import versions
from cloudcx.console.records import RecordNotFound, parse_id
from cloudcx.console.web import Console, ConsoleDep
from cloudcx.deps import PlatformDep, SessionDep
from cloudcx.security import password_policy

router = APIRouter(prefix="/users/{id_}", include_in_schema=False)

Csrf = Annotated[str, Form(max_length=200)]
Text = Annotated[str, Form(max_length=2000)]
Secret = Annotated[str, Form(max_length=2000)]
NAME_MAX = 200
NOTICES = {
    "renamed": "Name saved.",
    "password_reset": (
        "Password reset. Give them the one-time password: they choose their own at their "
        "next sign-in. Their sessions and access tokens have ended."
    ),
}


async def _user(cx: Console, session: SessionDep, id_: str) -> User:
    user = await accounts.get_user(session, cx.tenant.id, parse_id(id_))
    if user is None:
        raise RecordNotFound
    return user


def snapshot(user: User) -> versions.Snapshot:
    return versions.snapshot(UserPublic.model_validate(user), {"name": user.name})


def _edit(
    cx: Console, target: User, status: int = 200, name: str | None = None, **extra: object
) -> Response:
    values = {"name": target.name if name is None else name}
    extra.setdefault("snap", snapshot(target))
    return cx.render(
        "users/edit.html",
        status_code=status,
        target=target,
        values=values,
        errors=extra.pop("errors", {}),
        **extra,
    )


@router.get("/edit")
async def edit_page(
    cx: ConsoleDep, session: SessionDep, id_: str, notice: str | None = None
) -> Response:
    cx.require_admin()
    return _edit(cx, await _user(cx, session, id_), notice=NOTICES.get(notice or ""))


@router.post("/edit")
async def rename(
    cx: ConsoleDep,
    session: SessionDep,
    id_: str,
    csrf_token: Csrf = "",
    name: Text = "",
    version: Annotated[str, Form(max_length=200)] = "",
    original: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    actor = cx.require_admin()
    cx.check_csrf(csrf_token)
    target = await _user(cx, session, id_)
    wanted = name.strip()
    error = _name_error(wanted)
    if error:
        return _edit(cx, target, 422, name=name, errors={"name": error})
    try:
        versions.check(version, original, snapshot(target), {"name": wanted}, {"name": "Name"})
    except versions.EditConflict as conflict:
        return _edit(
            cx, target, 409, name=conflict.merged["name"], conflict=conflict, snap=conflict.current
        )
    await admin.apply_changes(session, actor, target, name=wanted, origin=Origin.of(cx.request))
    await session.commit()
    return cx.redirect(f"/users/{target.id}/edit?notice=renamed")


def _name_error(name: str) -> str | None:
    if not name:
        return "Enter the name to show for this user."
    if len(name) > NAME_MAX:
        return f"The name can have at most {NAME_MAX} characters."
    return None


def _reset_form(
    cx: Console, target: User, status: int = 200, errors: dict[str, str] | None = None
) -> Response:
    return cx.render(
        "users/reset_password.html", status_code=status, target=target, errors=errors or {}
    )


@router.get("/password")
async def reset_password_page(cx: ConsoleDep, session: SessionDep, id_: str) -> Response:
    actor = cx.require_admin()
    target = await _user(cx, session, id_)
    if target.id == actor.id:
        return _reset_form(cx, target, 409, {"form": admin.OwnPassword().detail})
    return _reset_form(cx, target)


@router.post("/password")
async def reset_password(
    cx: ConsoleDep,
    session: SessionDep,
    platform: PlatformDep,
    id_: str,
    csrf_token: Csrf = "",
    password: Secret = "",
    confirm_password: Secret = "",
) -> Response:
    """The administrator chooses a one-time password; the user replaces it at sign-in."""
    actor = cx.require_admin()
    cx.check_csrf(csrf_token)
    target = await _user(cx, session, id_)
    problem = password_policy.problem(password, target.email)
    if problem:
        return _reset_form(cx, target, 422, {"password": problem})
    if password != confirm_password:
        return _reset_form(cx, target, 422, {"confirm_password": "The two passwords differ."})
    try:
        await admin.reset_password(
            session, platform.passwords, actor, target, password, Origin.of(cx.request)
        )
    except Problem as exc:
        return _reset_form(cx, target, exc.status, {"form": exc.detail})
    except AccountError as exc:  # the service checks the policy too, for every caller
        return _reset_form(cx, target, 422, {"password": str(exc)})
    await session.commit()
    return cx.redirect(f"/users/{target.id}/edit?notice=password_reset")
