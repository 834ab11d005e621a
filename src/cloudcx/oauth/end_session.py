"""RP-initiated logout: the ``end_session_endpoint`` of OpenID Connect
RP-Initiated Logout 1.0.

An application sends the browser here (GET or a form POST) with
``id_token_hint``, ``client_id``, ``post_logout_redirect_uri`` and ``state``.
The hint must be an ID token this issuer signed (it may have expired, §2); a
``post_logout_redirect_uri`` must be registered for the client exactly (§3.1),
or there is no redirect at all. Unless the hint names this very browser
session (its ``sid`` and ``sub``), the user confirms first, on a CSRF-protected
form, so that no other site can sign them out (§6).
https://openid.net/specs/openid-connect-rpinitiated-1_0.html
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts import sessions
from cloudcx.audit import events as audit_events
from cloudcx.console import confirm
from cloudcx.console.errors import error_page
from cloudcx.console.web import SESSION_COOKIE, Console, ConsoleDep, delete_cookie
from cloudcx.core.headers import csp_allowing_form_target
from cloudcx.deps import IssuerDep, PlatformDep, SessionDep
from cloudcx.oauth import clients, id_tokens
from cloudcx.oauth.authorization import read_params, redirect_to
from cloudcx.oauth.discovery import END_SESSION_PATH
from cloudcx.oauth.errors import NO_STORE
from cloudcx.oauth.keys import KeyRing
from cloudcx.oauth.models import OAuthClient

router = APIRouter(include_in_schema=False)

PARAMS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "logout_hint")
SIGNED_OUT = "/login?notice=signed_out"


class InvalidLogout(Exception):
    """The request cannot be trusted: an error page, never a redirect (§3.1, §4)."""


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    client: OAuthClient | None
    redirect_uri: str | None
    state: str | None
    hint: dict[str, Any] | None

    def names_session(self, sid: str | None, user_id: uuid.UUID) -> bool:
        """Does the ID token hint speak of this browser's session and user?"""
        if self.hint is None or not sid or not isinstance(self.hint.get("sid"), str):
            return False
        same_sid = hmac.compare_digest(str(self.hint["sid"]).encode(), sid.encode())
        return same_sid and self.hint.get("sub") == str(user_id)


async def read_request(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    keys: KeyRing,
    issuer: str,
    params: dict[str, str],
) -> LogoutRequest:
    """§2's parameters checked, or InvalidLogout."""
    hint = None
    if "id_token_hint" in params:
        try:
            hint = id_tokens.verify_hint(keys, params["id_token_hint"], issuer)
        except id_tokens.InvalidIdToken:
            raise InvalidLogout("The id_token_hint was not issued here.") from None
    client_id = params.get("client_id")
    if hint is not None and client_id is not None and client_id != hint["aud"]:
        raise InvalidLogout("The client_id is not the audience of the id_token_hint.")
    client_id = client_id or (hint["aud"] if hint else None)
    client = await clients.find_by_client_id(session, tenant_id, client_id) if client_id else None
    if client_id is not None and (client is None or not client.is_enabled):
        raise InvalidLogout("The client_id is unknown.")
    uri = params.get("post_logout_redirect_uri")
    if uri is not None and (client is None or uri not in client.post_logout_redirect_uris):
        raise InvalidLogout("The post_logout_redirect_uri is not registered for this application.")
    return LogoutRequest(client, uri, params.get("state"), hint)


def _invalid(request: Request, why: str) -> Response:
    response = error_page(
        request,
        400,
        "This sign-out request is not valid",
        f"{why} Contact the application's developer. You have not been signed out.",
    )
    response.headers.update(NO_STORE)
    return response


async def _submitted(request: Request, cx: Console) -> tuple[list[tuple[str, str]], bool]:
    """The request's parameters, and whether they come from our confirmation form."""
    if request.method != "POST":
        return parse_qsl(request.url.query, keep_blank_values=True), False
    form = await request.form()
    # Only our own confirmation form carries ``confirmed``: it must carry the CSRF token.
    confirmed = confirm.is_confirmed(form)
    if confirmed:
        cx.check_csrf(form.get("csrf_token"))
    pairs = [(k, v) for k, v in form.multi_items() if k in PARAMS and isinstance(v, str)]
    return pairs, confirmed


@router.api_route(END_SESSION_PATH, methods=["GET", "POST"])
async def end_session(
    request: Request, cx: ConsoleDep, session: SessionDep, platform: PlatformDep, issuer: IssuerDep
) -> Response:
    pairs, confirmed = await _submitted(request, cx)
    if request.method == "POST" and not confirmed and cx.user is None:
        # A form POST from the application's site carries no SameSite=Lax session
        # cookie; the same request as a top-level GET does.
        url = f"{END_SESSION_PATH}?{urlencode(pairs)}"
        return RedirectResponse(url, status_code=303, headers=NO_STORE)
    params, malformed = read_params(pairs)
    if malformed & set(PARAMS):
        return _invalid(request, "A parameter is repeated or too long.")
    try:
        ask = await read_request(session, cx.tenant.id, platform.keys, issuer, params)
    except InvalidLogout as exc:
        return _invalid(request, str(exc))
    if cx.user is not None and cx.session_cookie is not None:
        sid = cx.web_session.sid if cx.web_session is not None else None
        if not confirmed and not ask.names_session(sid, cx.user.id):
            return _ask(cx, ask, params)
        await sessions.end(session, cx.session_cookie)
        await audit_events.signed_out(session, request, cx.user)
        await session.commit()
    return _finish(cx, ask)


def _ask(cx: Console, ask: LogoutRequest, params: dict[str, str]) -> Response:
    app = f" of {ask.client.client_name}" if ask.client is not None else ""
    response = confirm.ask(
        cx,
        confirm.Confirmation(
            title=f"Sign out of {cx.tenant.name}?",
            lines=[
                f"An application{app} asks to end your sign-in here as "
                f"{cx.user.email if cx.user else ''}.",
            ],
            action=END_SESSION_PATH,
            button="Sign out",
            cancel="/",
            danger=False,
            carried=[(k, v) for k, v in params.items() if k in PARAMS],
        ),
    )
    if ask.redirect_uri is not None:
        # The confirmed POST is answered by a redirect to the application.
        target = urlsplit(ask.redirect_uri)
        response.headers["Content-Security-Policy"] = csp_allowing_form_target(
            f"{target.scheme}://{target.netloc}"
        )
    return response


def _finish(cx: Console, ask: LogoutRequest) -> Response:
    """§3: back to the application, with its ``state``, or the signed-out page."""
    if ask.redirect_uri is not None:
        url = redirect_to(ask.redirect_uri, {"state": ask.state})
    else:
        url = SIGNED_OUT
    response = RedirectResponse(url, status_code=303, headers=NO_STORE)
    delete_cookie(cx.request, response, SESSION_COOKIE)
    cx.finish(response)
    return response
