"""HTTP endpoints of the authorization server and the one OAuth error handler."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cloudcx.audit import events as audit_events
from cloudcx.core.responses import OrjsonResponse
from cloudcx.core.routing import DirectRoute
from cloudcx.db import session_scope
from cloudcx.deps import issuer_of, platform_of, tenant_of
from cloudcx.oauth import clients, dpop_binding
from cloudcx.oauth.errors import NO_STORE, OAuthError
from cloudcx.oauth.forms import client_credentials, read_form
from cloudcx.oauth.grants import grant_for
from cloudcx.oauth.grants.base import TokenContext

log = logging.getLogger("cloudcx.oauth")

router = APIRouter(tags=["OAuth 2.0"], route_class=DirectRoute)


@router.post(
    "/oauth/token",
    summary="Token endpoint (RFC 6749 §3.2)",
    description=(
        "Send `application/x-www-form-urlencoded`. Password grant: `grant_type=password`, "
        "`username` (or `email`), `password`, `client_id`, optional `scope`. "
        "Authorization code: `grant_type=authorization_code`, `code`, `redirect_uri`, "
        "`code_verifier`. Refresh: `grant_type=refresh_token`, `refresh_token`, optional "
        "narrower `scope`. Client credentials (confidential clients): "
        "`grant_type=client_credentials`, optional `scope`. With a `DPoP` proof header "
        "(RFC 9449) the access token is bound to the proof's key (`token_type` `DPoP`)."
    ),
    response_model=None,
)
async def token_endpoint(request: Request) -> Response:
    platform, tenant = platform_of(request), tenant_of(request)
    form = request.state.oauth_form = await read_form(request)
    grant_cls = grant_for(form.require("grant_type"))
    client = await clients.authenticate(
        platform.clients, tenant.id, client_credentials(request, form)
    )
    request.state.oauth_client = client
    # Before the grant: a refused proof must not have used up a code (RFC 9449 §5).
    jkt = await dpop_binding.token_request_key(platform.dpop, request, tenant.id, client)
    # A session takes a pooled connection only at its first statement, which
    # the client-credentials grant never makes.
    async with session_scope(platform.sessionmaker) as session:
        grant = grant_cls(
            TokenContext(
                platform=platform,
                session=session,
                tenant=tenant,
                issuer=issuer_of(request),
                client=client,
                form=form,
                client_ip=request.state.client_ip,
                user_agent=request.headers.get("user-agent", "")[:300],
                dpop_jkt=jkt,
            )
        )
        await grant.validate()
        if grant.writes:
            # Only the writing waits at the gate: argon2 ran in validate, and the
            # signing runs after the commit.
            async with platform.writes():
                try:
                    await grant.store()
                    await session.commit()
                except BaseException:
                    # A refusal undoes its writes before the next writer's turn:
                    # on SQLite an open write transaction would hold it up.
                    await session.rollback()
                    raise
    body = grant.issue()
    audit_events.token_issued(platform, request, grant)
    headers = {**NO_STORE, **platform.dpop.response_headers(tenant.id)} if jkt else NO_STORE
    return OrjsonResponse(body, headers=headers)


@router.get(
    "/.well-known/jwks.json",
    summary="JSON Web Key Set (RFC 7517)",
    response_class=Response,
    responses={200: {"content": {"application/jwk-set+json": {"schema": {"type": "object"}}}}},
)
async def jwks(request: Request) -> Response:
    return Response(
        platform_of(request).keys.jwks_json,
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=300"},
    )


async def oauth_error_handler(request: Request, exc: Exception) -> Response:
    """RFC 6749 §5.2 error response; ``no-store`` like every token response."""
    assert isinstance(exc, OAuthError)
    if exc.debug:
        log.info("oauth error %s: %s", exc.error, exc.debug)
    return OrjsonResponse(
        exc.body(), status_code=exc.status_code, headers={**NO_STORE, **exc.headers}
    )
