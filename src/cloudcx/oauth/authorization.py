"""The authorization request of the code flow (RFC 6749 §4.1.1, RFC 7636 §4.3).

Validation comes in two steps, because §4.1.2.1 treats their failures
differently: a bad ``client_id`` or ``redirect_uri`` must never redirect (the
server would become an open redirector), so it raises ``UntrustedRedirect``
and the user sees an error page. Any later error is an ``OAuthError`` sent
back to the now-trusted redirect URI.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from cloudcx.core import secrets
from cloudcx.db import utcnow
from cloudcx.oauth import clients, pkce
from cloudcx.oauth import scopes as scope_catalog
from cloudcx.oauth.errors import (
    InvalidRequestError,
    OAuthError,
    UnauthorizedClientError,
    UnsupportedResponseTypeError,
)
from cloudcx.oauth.id_tokens import SignIn
from cloudcx.oauth.models import AuthorizationCode, OAuthClient

# The parameters a consent form carries from the GET to the POST.
PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    # RFC 9126 §4: a pushed request's form carries only client_id and request_uri.
    "request_uri",
    "dpop_jkt",
    # OpenID Connect Core §3.1.2.1: echoed in the ID token.
    "nonce",
)
MAX_PARAM = 2000
# RFC 7638 thumbprint: base64url of a SHA-256 digest, 43 characters.
_JKT = re.compile(r"[A-Za-z0-9_-]{43}")


class UntrustedRedirect(Exception):
    """client_id or redirect_uri is missing, unknown or wrong (§4.1.2.1): no redirect."""


@dataclass(slots=True)
class AuthorizationRequest:
    client: OAuthClient
    redirect_uri: str
    redirect_uri_sent: bool
    state: str | None
    scopes: list[str]
    code_challenge: str | None
    # RFC 9449 §10: the DPoP key the code's token request must prove.
    dpop_jkt: str | None = None
    nonce: str | None = None

    def hidden_fields(self, raw: dict[str, str]) -> dict[str, str]:
        return {k: raw[k] for k in PARAMS if raw.get(k)}


def read_params(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], set[str]]:
    """Parameters by name (empty = omitted, §3.1) and the names that are malformed:
    sent more than once (§3.1), too long or holding a NUL. A long value is never truncated, since
    a truncated redirect_uri could match a registered one."""
    params: dict[str, str] = {}
    malformed: set[str] = set()
    seen: set[str] = set()
    for name, value in pairs:
        if name in seen or len(value) > MAX_PARAM or "\x00" in value:
            malformed.add(name)
        seen.add(name)
        if value:
            params[name] = value
    for name in malformed:
        params.pop(name, None)
    return params, malformed


async def trusted_client(
    session: AsyncSession, tenant_id: uuid.UUID, params: dict[str, str], malformed: set[str]
) -> tuple[OAuthClient, str]:
    """Step 1: the client and the redirect URI, or UntrustedRedirect (§3.1.2.4)."""
    if malformed & {"client_id", "redirect_uri"} or "client_id" not in params:
        raise UntrustedRedirect
    client = await clients.find_by_client_id(session, tenant_id, params["client_id"])
    if client is None or not client.is_enabled:
        raise UntrustedRedirect
    asked = params.get("redirect_uri")
    if asked is None:
        # §3.1.2.3: may be omitted only when exactly one URI is registered.
        if len(client.redirect_uris) != 1:
            raise UntrustedRedirect
        return client, client.redirect_uris[0]
    # RFC 9700 §2.1: exact string matching, nothing looser.
    if asked not in client.redirect_uris:
        raise UntrustedRedirect
    return client, asked


def validate(
    client: OAuthClient, redirect_uri: str, params: dict[str, str], malformed: set[str]
) -> AuthorizationRequest:
    """Step 2: everything else, raising the OAuthError to send to the client."""
    if malformed:
        name = sorted(malformed)[0][:40]
        raise InvalidRequestError(f"The '{name}' parameter is repeated or too long.")
    response_type = params.get("response_type")
    if response_type is None:
        raise InvalidRequestError("The 'response_type' parameter is required.")
    if response_type != "code":
        raise UnsupportedResponseTypeError("Only response_type=code is supported.")
    if "authorization_code" not in client.grant_types:
        raise UnauthorizedClientError("This client may not use the authorization code flow.")
    challenge = pkce.check_challenge(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
        required=not client.is_confidential,
    )
    dpop_jkt = params.get("dpop_jkt")
    if dpop_jkt is not None and not _JKT.fullmatch(dpop_jkt):
        raise InvalidRequestError("The 'dpop_jkt' parameter is not a JWK SHA-256 thumbprint.")
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        redirect_uri_sent="redirect_uri" in params,
        state=params.get("state"),
        scopes=scope_catalog.requested(client.scopes, params.get("scope")),
        code_challenge=challenge,
        dpop_jkt=dpop_jkt,
        nonce=params.get("nonce"),
    )


async def create_code(
    session: AsyncSession,
    req: AuthorizationRequest,
    user_id: uuid.UUID,
    scope: str,
    ttl: int,
    sign_in: SignIn | None = None,
) -> str:
    """A single-use code (≥ 256 bits) bound to client, redirect URI, user, scope, PKCE,
    and for OpenID Connect the nonce and the browser sign-in (``auth_time``, ``sid``)."""
    value = secrets.token(32)
    session.add(
        AuthorizationCode(
            code_digest=secrets.digest(value),
            tenant_id=req.client.tenant_id,
            client_pk=req.client.id,
            user_id=user_id,
            redirect_uri=req.redirect_uri,
            redirect_uri_sent=req.redirect_uri_sent,
            scope=scope,
            code_challenge=req.code_challenge,
            dpop_jkt=req.dpop_jkt,
            expires_at=utcnow() + timedelta(seconds=ttl),
            nonce=req.nonce,
            auth_time=sign_in.auth_time if sign_in else None,
            sid=sign_in.sid if sign_in else None,
        )
    )
    await session.flush()
    return value


def redirect_to(redirect_uri: str, params: dict[str, str | None]) -> str:
    """The redirect URI with response parameters added to its query (§4.1.2)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if urlsplit(redirect_uri).query else "?"
    if redirect_uri.endswith(("?", "&")):
        separator = ""
    return redirect_uri + separator + query


def error_redirect(req_uri: str, exc: OAuthError, state: str | None, issuer: str) -> str:
    """§4.1.2.1 error response; ``iss`` per RFC 9207 lets clients detect mix-up."""
    return redirect_to(
        req_uri,
        {
            "error": exc.error,
            "error_description": exc.description,
            "state": state,
            "iss": issuer,
        },
    )
