"""What every Control Panel page needs: the signed-in user, CSRF and rendering.

CSRF tokens are HMACs (keyed from ``CLOUDCX_SECRET_KEY``) of the session
cookie, or before sign-in of a random pre-session cookie — the signed
double-submit pattern, so no state is stored for anonymous visitors.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from cloudcx.accounts import sessions
from cloudcx.accounts.models import User, WebSession
from cloudcx.core import secrets
from cloudcx.core.encryption import derive_key
from cloudcx.deps import SessionDep, platform_of, tenant_of
from cloudcx.tenancy.service import TenantInfo

SESSION_COOKIE = "cx_session"
PRE_SESSION_COOKIE = "cx_pre"

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))


class LoginRequired(Exception):
    """Raised for anonymous visitors of a page that needs a user."""


class PasswordChangeRequired(Exception):
    """The signed-in user holds a one-time password: they choose their own first."""


class Forbidden(Exception):
    """Raised when the signed-in user lacks the role a page needs (403 page)."""


class CsrfFailed(Exception):
    """A POST without the right CSRF token (403 page with a way back)."""


@dataclass
class Console:
    request: Request
    tenant: TenantInfo
    user: User | None
    web_session: WebSession | None
    session_cookie: str | None
    pre_session: str
    new_pre_session: bool
    _csrf_key: bytes = field(repr=False, default=b"")

    @cached_property
    def csrf_token(self) -> str:
        """Computed once per request; pages read it in every form."""
        binding = self.session_cookie or self.pre_session
        return secrets.sign(self._csrf_key, "csrf", str(self.tenant.id), binding)

    def check_csrf(self, submitted: object) -> None:
        if not isinstance(submitted, str) or not hmac.compare_digest(
            submitted.encode(), self.csrf_token.encode()
        ):
            raise CsrfFailed

    def require_user(self) -> User:
        """The signed-in user, who may use the Control Panel.

        A user whose password an administrator set (``must_change_password``)
        is sent to choose a new one by every page, the consent page included,
        until they have: the one-time password opens nothing else.
        """
        if self.user is None:
            raise LoginRequired
        if self.user.must_change_password:
            raise PasswordChangeRequired
        return self.user

    def require_admin(self) -> User:
        user = self.require_user()
        if not user.is_admin:
            raise Forbidden
        return user

    def render(self, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        response = templates.TemplateResponse(
            self.request,
            name,
            {"cx": self, "user": self.user, "tenant": self.tenant, **context},
            status_code=status_code,
        )
        self.finish(response)
        return response

    def redirect(self, url: str) -> RedirectResponse:
        response = RedirectResponse(url, status_code=303)
        self.finish(response)
        return response

    def finish(self, response: Response) -> None:
        if self.new_pre_session:
            set_cookie(self.request, response, PRE_SESSION_COOKIE, self.pre_session, None)


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.state.scheme == "https",
        path="/",
    )


def delete_cookie(request: Request, response: Response, name: str) -> None:
    """Expires ``name`` with the attributes it was set with (Secure over HTTPS)."""
    response.delete_cookie(
        name, httponly=True, samesite="lax", secure=request.state.scheme == "https", path="/"
    )


async def get_console(request: Request, session: SessionDep) -> Console:
    platform = platform_of(request)
    tenant = tenant_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    loaded = await sessions.load(session, tenant.id, cookie) if cookie else None
    pre = request.cookies.get(PRE_SESSION_COOKIE, "")
    new_pre = len(pre) < 32 or len(pre) > 128
    if new_pre:
        pre = secrets.token(32)
    return Console(
        request=request,
        tenant=tenant,
        user=loaded[1] if loaded else None,
        web_session=loaded[0] if loaded else None,
        session_cookie=cookie if loaded else None,
        pre_session=pre,
        new_pre_session=new_pre,
        _csrf_key=derive_key(platform.settings.resolved_secret_key, "csrf"),
    )


ConsoleDep = Annotated[Console, Depends(get_console)]


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: no scheme, no host, no protocol-relative ``//``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(c in target for c in "\r\n\t\\") or len(target) > 2000:
        return default
    return target


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def login_url(request: Request) -> str:
    return "/login?next=" + quote(_here(request), safe="")


NEW_PASSWORD_PATH = "/login/new-password"


def new_password_url(request: Request) -> str:
    """The forced password change, then back to the page asked for (a form's
    target cannot be returned to: a POST goes home afterwards)."""
    if request.method != "GET" or request.url.path == NEW_PASSWORD_PATH:
        return NEW_PASSWORD_PATH
    return f"{NEW_PASSWORD_PATH}?next=" + quote(_here(request), safe="")
