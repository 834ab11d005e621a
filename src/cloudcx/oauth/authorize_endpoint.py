"""``/oauth/authorize``: the authorization endpoint and its consent page.

https://datatracker.ietf.org/doc/html/rfc6749#section-4.1.1 with PKCE
(RFC 7636). The consent page cannot be framed (global ``frame-ancestors
'none'`` and ``X-Frame-Options: DENY``), is never cached, and its form carries
a CSRF token; the POST re-validates every parameter instead of trusting it.
A pushed request (RFC 9126, ``oauth.par``) is shown to one user by the GET and
used once by the POST.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.accounts.models import User
from cloudcx.console.errors import error_page
from cloudcx.console.web import Console, ConsoleDep
from cloudcx.core.headers import csp_allowing_form_target
from cloudcx.deps import IssuerDep, PlatformDep, SessionDep
from cloudcx.oauth import consents, oidc, par
from cloudcx.oauth import scopes as scope_catalog
from cloudcx.oauth.authorization import (
    PARAMS,
    AuthorizationRequest,
    UntrustedRedirect,
    create_code,
    error_redirect,
    read_params,
    redirect_to,
    trusted_client,
    validate,
)
from cloudcx.oauth.errors import NO_STORE, AccessDeniedError, OAuthError
from cloudcx.oauth.grants.base import user_rights
from cloudcx.platform import Platform

router = APIRouter(include_in_schema=False)


def _untrusted(request: Request) -> Response:
    response = error_page(
        request,
        400,
        "This sign-in request is not valid",
        "The application sent an unknown Client ID or a redirect address that is not "
        "registered for it. Contact the application's developer.",
    )
    response.headers.update(NO_STORE)
    return response


def _redirect(url: str, status: int) -> Response:
    return RedirectResponse(url, status_code=status, headers=NO_STORE)


@router.get("/oauth/authorize")
async def authorize(
    request: Request, cx: ConsoleDep, session: SessionDep, platform: PlatformDep, issuer: IssuerDep
) -> Response:
    """RFC 6749 §4.1.1: show the consent page (or skip it when allowed).

    OpenID Connect Core §3.1.2.1's ``prompt`` and ``max_age`` are honoured here
    (``oauth.oidc``); the consent form's POST answers the page this GET showed.
    """
    pairs = parse_qsl(request.url.query, keep_blank_values=True)
    params, malformed = read_params(pairs)
    try:
        pushed = await par.resolve(session, cx.tenant.id, params, malformed, answering=False)
        if pushed is not None:  # RFC 9126 §4: the pushed parameters, and only they
            params, malformed = pushed.params, set()
        client, redirect_uri = await trusted_client(session, cx.tenant.id, params, malformed)
    except UntrustedRedirect:
        return _untrusted(request)
    except par.UnusableRequestUri:
        return par.unusable_page(request)
    state = params.get("state")
    try:
        req = validate(client, redirect_uri, params, malformed)
        par.require_pushed(client, pushed)
        asked = oidc.read(params)
        requested_at = pushed.created_at if pushed is not None else None
        if oidc.needs_sign_in(asked, cx.user, cx.web_session, requested_at):
            # A pushed request waits while the user signs in (again).
            await par.hold_for_sign_in(session, pushed, None)
            return cx.redirect(oidc.sign_in_url(pairs, asked, signed_in=cx.user is not None))
        await par.hold_for_sign_in(session, pushed, cx.user)
        user = cx.require_user()
        scope = user_rights(req.scopes, user)
        granted = await consents.find(session, cx.tenant.id, user.id, client)
        await par.show(session, pushed, user.id)
        skip = client.skip_consent and consents.covers(granted, scope.split())
        if skip and "consent" not in asked.prompt:
            await par.use(session, pushed, user.id)
            return await _approve(cx, session, platform, issuer, req, user, scope, 302)
        if asked.silent:
            raise oidc.ConsentRequiredError("The user must approve this application.")
    except OAuthError as exc:
        return _redirect(error_redirect(redirect_uri, exc, state, issuer), 302)
    except par.UnusableRequestUri:
        return par.unusable_page(request)
    return _consent_page(cx, req, pushed.form_fields() if pushed else params, scope)


def _consent_page(
    cx: Console, req: AuthorizationRequest, params: dict[str, str], scope: str
) -> Response:
    response = cx.render(
        "oauth/consent.html",
        client=req.client,
        scopes=[scope_catalog.SCOPES[s] for s in scope.split()],
        hidden=req.hidden_fields(params),
        redirect_host=urlsplit(req.redirect_uri).netloc,
    )
    response.headers.update(NO_STORE)
    target = urlsplit(req.redirect_uri)
    response.headers["Content-Security-Policy"] = csp_allowing_form_target(
        f"{target.scheme}://{target.netloc}"
    )
    return response


@router.post("/oauth/authorize")
async def decide(
    request: Request, cx: ConsoleDep, session: SessionDep, platform: PlatformDep, issuer: IssuerDep
) -> Response:
    """The consent form: Allow issues a code (§4.1.2), Deny sends access_denied."""
    form = await request.form()
    cx.check_csrf(form.get("csrf_token"))
    pairs = [(k, v) for k, v in form.multi_items() if k in PARAMS and isinstance(v, str)]
    params, malformed = read_params(pairs)
    try:
        pushed = await par.resolve(session, cx.tenant.id, params, malformed, answering=True)
        if pushed is not None:
            params, malformed = pushed.params, set()
        client, redirect_uri = await trusted_client(session, cx.tenant.id, params, malformed)
    except UntrustedRedirect:
        return _untrusted(request)
    except par.UnusableRequestUri:
        return par.unusable_page(request)
    state = params.get("state")
    try:
        req = validate(client, redirect_uri, params, malformed)
        par.require_pushed(client, pushed)
        user = cx.require_user()
        scope = user_rights(req.scopes, user)
        await par.use(session, pushed, user.id)
        if form.get("decision") != "allow":
            raise AccessDeniedError("The user denied access.")
        return await _approve(cx, session, platform, issuer, req, user, scope, 303)
    except OAuthError as exc:
        return _redirect(error_redirect(redirect_uri, exc, state, issuer), 303)
    except par.UnusableRequestUri:
        return par.unusable_page(request)


async def _approve(
    cx: Console,
    session: AsyncSession,
    platform: Platform,
    issuer: str,
    req: AuthorizationRequest,
    user: User,
    scope: str,
    status: int,
) -> Response:
    await consents.record(session, cx.tenant.id, user.id, req.client, scope.split())
    ttl = platform.settings.authorization_code_ttl
    code = await create_code(session, req, user.id, scope, ttl, oidc.sign_in_of(cx.web_session))
    await session.commit()
    url = redirect_to(req.redirect_uri, {"code": code, "state": req.state, "iss": issuer})
    response = _redirect(url, status)
    cx.finish(response)
    return response
