"""``POST /oauth/par``: the pushed authorization request endpoint (RFC 9126 §2).

The client authenticates as at the token endpoint and sends the parameters of
an authorization request, which are checked as the authorization endpoint
checks them, without a user; it gets back a ``request_uri`` to send the user
to ``/oauth/authorize`` with. Requests are counted per client and address
(``CLOUDCX_PAR_RATE_LIMIT``, in Redis when configured) as ``/oauth/revoke``'s
are: 429 with ``Retry-After`` past the limit (§2.3).

https://datatracker.ietf.org/doc/html/rfc9126
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cloudcx.api.ratelimit import RateLimiter, Verdict
from cloudcx.core.responses import OrjsonResponse
from cloudcx.deps import PlatformDep, SessionDep, TenantDep
from cloudcx.oauth import clients, dpop_binding, par
from cloudcx.oauth.authorization import UntrustedRedirect, read_params, trusted_client, validate
from cloudcx.oauth.clients import ClientInfo
from cloudcx.oauth.errors import NO_STORE, InvalidRequestError, SlowDownError
from cloudcx.oauth.forms import OAuthForm, client_credentials, read_form
from cloudcx.security.throttle import network_of
from cloudcx.tenancy.service import TenantInfo

router = APIRouter(tags=["OAuth 2.0"])

# §2.1: client authentication parameters are "relied upon only for client
# authentication and are not germane to the authorization request itself".
CLIENT_AUTH_PARAMS = frozenset({"client_secret", "client_assertion", "client_assertion_type"})


@router.post(
    "/oauth/par",
    summary="Pushed authorization request (RFC 9126)",
    description=(
        "Send the authorization request's parameters (`response_type=code`, `client_id`, "
        "`redirect_uri`, `scope`, `state`, `code_challenge`, `code_challenge_method`) as "
        "`application/x-www-form-urlencoded`, with the client's credentials as at the token "
        "endpoint. The answer's `request_uri` is then sent to `/oauth/authorize` with "
        "`client_id` alone; it can be used once, within `expires_in` seconds. A `DPoP` "
        "proof sent here binds the authorization code to its key (RFC 9449 §10.1)."
    ),
    status_code=201,
    response_model=None,
)
async def par_endpoint(
    request: Request, platform: PlatformDep, session: SessionDep, tenant: TenantDep
) -> Response:
    form = await read_form(request)
    creds = client_credentials(request, form)
    verdict = await _count(request, tenant, creds.client_id)
    info = await clients.authenticate(platform.clients, tenant.id, creds)
    params, malformed = _authorization_params(form, info)
    jkt = await dpop_binding.pushed_request_key(
        platform.dpop, request, tenant.id, params.get("dpop_jkt")
    )
    if jkt is not None:
        params["dpop_jkt"] = jkt
    try:
        client, redirect_uri = await trusted_client(session, tenant.id, params, malformed)
    except UntrustedRedirect as exc:
        # §2.3: where §4.1.2.1 of RFC 6749 has no code, invalid_request is the default.
        if "client_id" in malformed:
            raise InvalidRequestError("The 'client_id' parameter is too long.") from exc
        raise InvalidRequestError(
            "redirect_uri is missing or not registered for this client."
        ) from exc
    validate(client, redirect_uri, params, malformed)
    ttl = platform.settings.par_request_ttl
    # A client's busy write path: on SQLite it waits its turn at the write gate.
    async with platform.writes():
        try:
            request_uri = await par.push(session, client, params, ttl)
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
    return OrjsonResponse(
        {"request_uri": request_uri, "expires_in": ttl},
        status_code=201,
        headers={**NO_STORE, **verdict.headers()},
    )


def _authorization_params(form: OAuthForm, client: ClientInfo) -> tuple[dict[str, str], set[str]]:
    """The authorization request's parameters, read as the authorization endpoint reads them.

    §2.1: "The request_uri authorization request parameter is one exception, and
    it MUST NOT be provided." ``client_id`` is required in the request, but a
    client authenticating with HTTP Basic has already named itself, so it may
    leave it out.
    """
    if form.get("request_uri") is not None:
        raise InvalidRequestError("request_uri must not be sent to the PAR endpoint.")
    pairs = [(k, v) for k, v in form.params.items() if k not in CLIENT_AUTH_PARAMS]
    params, malformed = read_params(pairs)
    params.setdefault("client_id", client.client_id)
    return params, malformed


async def _count(request: Request, tenant: TenantInfo, client_id: str | None) -> Verdict:
    """Counted before the client is authenticated, under the client it claims
    (as ``oauth.revocation_endpoint`` counts)."""
    limiter: RateLimiter = request.app.state.par_limiter
    address = network_of(request.state.client_ip)
    verdict = await limiter.hit(f"par:{tenant.id}:{(client_id or '')[:64]}:{address}")
    if not verdict.allowed:
        refused = SlowDownError(verdict.reset_in, "Too many pushed requests; retry later.")
        refused.headers.update(verdict.headers())
        raise refused
    return verdict
